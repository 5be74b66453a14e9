/** Error codes of the trust module; each is documented in docs/trust.md. */
import { defineErrors } from '../errors.js';

export const trustErrors = defineErrors({
  CSR_MALFORMED: { status: 400, message: 'The certificate signing request cannot be parsed' },
  CSR_INVALID_SIGNATURE: { status: 400, message: 'The certificate signing request is not signed by its own key' },
  CSR_WRONG_SUBJECT: { status: 400, message: 'The certificate signing request subject does not match the station and organisation' },
  CSR_WEAK_KEY: { status: 400, message: 'The certificate signing request key type or size is not allowed' },
  CA_UNKNOWN: { status: 404, message: 'No such certificate authority' },
  CA_OFFLINE: { status: 409, message: 'The certificate authority key is not available on this node' },
  CA_NOT_READY: { status: 503, message: 'The certificate authorities are not set up yet' },
  CA_IMPORT_INVALID: { status: 400, message: 'The imported certificate or key is not acceptable for this certificate authority' },
  KEY_PASSPHRASE_WRONG: { status: 500, message: 'A stored private key cannot be decrypted with the configured key passphrase' },
  CERTIFICATE_UNKNOWN: { status: 404, message: 'No certificate with this serial number was issued here' },
  SERIAL_INVALID: { status: 400, message: 'The serial number must be hexadecimal' },
  REVOCATION_REASON_INVALID: { status: 400, message: 'The revocation reason is not an RFC 5280 reason code' },
  SERVER_CERTIFICATE_INVALID: { status: 400, message: 'The operator-supplied server certificate or key is unusable' },
  CONTRACT_REQUEST_INVALID: { status: 400, message: 'The ISO 15118 contract request is malformed' },
  CONTRACT_IDENTITY_INVALID: { status: 400, message: 'The PCID or EMAID is malformed' },
  STATION_NOT_CONNECTED: { status: 409, message: 'The station has no live OCPP session' },
  CERTIFICATE_TYPE_UNSUPPORTED: { status: 400, message: 'The certificate type is not supported for this station or OCPP version' },
  CERTIFICATE_INPUT_INVALID: { status: 400, message: 'The certificate is not an acceptable PEM root certificate' },
  CERTIFICATE_LAST_ROOT: { status: 409, message: 'Deleting this certificate would leave the station without a CSMS root' },
});

export type TrustErrorCode = keyof typeof trustErrors;
