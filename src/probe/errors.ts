import { defineErrors } from '../errors.js';

/** Error codes of the security probe and the station assessment. */
export const probeErrors = defineErrors({
  PROBE_BAD_OPTIONS: { status: 400, message: 'The probe options are invalid' },
});
