/** The meter-key module's error codes (docs/errors.md). */
import { defineErrors } from '../errors.js';

export const meterErrors = defineErrors({
  METER_KEY_INVALID: { status: 400, message: 'The meter public key is not a usable public key' },
  METER_KEY_NOT_FOUND: { status: 404, message: 'No such meter key' },
});
