/** The database layer's error codes (docs/errors.md). */
import { defineErrors } from '../errors.js';

export const storeErrors = defineErrors({
  DATABASE_URL_INVALID: { status: 400, message: 'The database URL is not a postgres:// URL' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The database is unreachable or cannot be written; try again shortly' },
  MIGRATION_FAILED: { status: 500, message: 'A database migration failed' },
});
