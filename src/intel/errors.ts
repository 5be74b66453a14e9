import { defineErrors } from '../errors.js';

/** Error codes of the intel module; documented in docs/intel.md. */
export const intelErrors = defineErrors({
  INTEL_INVALID_STIX: { status: 422, message: 'The object is not valid STIX 2.1' },
  INTEL_INVALID_INPUT: { status: 400, message: 'The intel request is invalid' },
  INTEL_SCHEMAS_MISSING: { status: 500, message: 'The STIX 2.1 schemas could not be loaded' },
  TAXII_NOT_ACCEPTABLE: { status: 406, message: 'Accept must be application/taxii+json;version=2.1' },
  TAXII_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Content-Type must be application/taxii+json;version=2.1' },
  TAXII_UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  TAXII_FORBIDDEN: { status: 403, message: 'You may not access this collection this way' },
  TAXII_NOT_FOUND: { status: 404, message: 'No such TAXII resource' },
  TAXII_TOO_LARGE: { status: 413, message: 'The request is larger than max_content_length' },
  TAXII_BAD_REQUEST: { status: 400, message: 'The TAXII request is malformed' },
  TAXII_REMOTE_FAILED: { status: 502, message: 'The remote TAXII server answered with an error' },
});

export type IntelErrorCode = keyof typeof intelErrors;
