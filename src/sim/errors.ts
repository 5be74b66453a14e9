import { defineErrors } from '../errors.js';

/** Error codes of the station and fleet simulators. */
export const simErrors = defineErrors({
  SIM_BAD_OPTIONS: { status: 400, message: 'The simulator options are invalid' },
  SIM_CLOSED: { status: 409, message: 'The simulated station is closed' },
  SIM_OFFLINE: { status: 409, message: 'The simulated station is offline' },
  SIM_CONNECT_FAILED: { status: 502, message: 'The simulated station could not connect' },
  SIM_INVALID_MESSAGE: { status: 400, message: 'The message would violate the OCPP schema' },
  SIM_CALL_FAILED: { status: 502, message: 'The CSMS answered a call with an error' },
  SIM_UNKNOWN_CONNECTOR: { status: 404, message: 'No such connector on the simulated station' },
  SIM_CONNECTOR_BUSY: { status: 409, message: 'The connector already has a transaction' },
  SIM_NO_TRANSACTION: { status: 404, message: 'The connector has no transaction' },
  SIM_NO_CLIENT_CERTIFICATE: { status: 400, message: 'Security profile 3 needs a client certificate and key' },
  SIM_CSR_REJECTED: { status: 502, message: 'The CSMS rejected the certificate signing request' },
});

export type SimErrorCode = keyof typeof simErrors;
