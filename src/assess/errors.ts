/** The assessment module's error codes (docs/errors.md). */
import { defineErrors } from '../errors.js';

export const assessErrors = defineErrors({
  ASSESS_ADVISORIES_INVALID: { status: 400, message: 'The firmware advisory list is invalid' },
});
