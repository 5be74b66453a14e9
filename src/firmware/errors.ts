import { defineErrors } from '../errors.js';

export const firmwareErrors = defineErrors({
  FIRMWARE_INVALID: { status: 400, message: 'The firmware upload is invalid' },
  FIRMWARE_TOO_LARGE: { status: 413, message: 'The firmware image is larger than the upload limit' },
  FIRMWARE_UPLOADS_BUSY: { status: 429, message: 'Too many firmware uploads in progress; try again when one has finished' },
  FIRMWARE_UNKNOWN: { status: 404, message: 'No firmware image with that id' },
  FIRMWARE_DUPLICATE: { status: 409, message: 'That vendor already has an image with this version' },
  FIRMWARE_NOT_SIGNED: { status: 409, message: 'The firmware image has no signature yet' },
  FIRMWARE_SIGNATURE_INVALID: { status: 400, message: 'The imported signature or signing certificate does not verify' },
  FIRMWARE_BLOCKED: { status: 409, message: 'The firmware hash is blocked by threat intelligence' },
  FIRMWARE_RELEASE_INVALID: { status: 409, message: 'The release does not verify against its image repository metadata' },
  FIRMWARE_REPOSITORY_UNKNOWN: { status: 404, message: 'No TUF repository by that name' },
  FIRMWARE_KEY_MISSING: { status: 409, message: 'A TUF key this needs is not on this node' },
  FIRMWARE_HTTPS_REQUIRED: { status: 409, message: 'Firmware is only served over HTTPS; enable the TLS listener' },
  CAMPAIGN_INVALID: { status: 400, message: 'The campaign request is invalid' },
  CAMPAIGN_UNKNOWN: { status: 404, message: 'No campaign with that id' },
  CAMPAIGN_STATE: { status: 409, message: 'The campaign cannot do that in its current state' },
  CAMPAIGN_FORCE_FORBIDDEN: { status: 403, message: 'Forcing a downgrade needs the admin role and a reason' },
  DOWNLOAD_NOT_FOUND: { status: 404, message: 'No such download, or it has expired' },
});
