/**
 * One error type for the whole node. Every failure carries a stable `code`,
 * a message that is safe to show to the caller, and an optional `cause`.
 * Each module declares its codes once with `defineErrors`; the HTTP edge
 * (src/api) and the OCPP edge (src/ocpp) translate codes in one table each.
 */

export interface ErrorSpec {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Default message, safe to show; never contains secrets. */
  readonly message: string;
}

const registry = new Map<string, ErrorSpec>();

export class EvguardError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message?: string, opts: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    const spec = registry.get(code);
    super(message ?? spec?.message ?? code, { cause: opts.cause });
    this.name = 'EvguardError';
    this.code = code;
    this.status = spec?.status ?? 500;
    this.details = opts.details;
  }
}

/**
 * Declares a module's error codes. Returns a typed factory so call sites read
 * `errors.STATION_UNKNOWN('…')` and a misspelt code fails to compile.
 */
export function defineErrors<const T extends Record<string, ErrorSpec>>(specs: T) {
  for (const [code, spec] of Object.entries(specs)) {
    const known = registry.get(code);
    if (known && (known.status !== spec.status || known.message !== spec.message)) {
      throw new Error(`error code ${code} declared twice with different meanings`);
    }
    registry.set(code, spec);
  }
  const factories = {} as {
    [K in keyof T]: (message?: string, opts?: { cause?: unknown; details?: Record<string, unknown> }) => EvguardError;
  };
  for (const code of Object.keys(specs) as (keyof T & string)[]) {
    factories[code] = (message, opts) => new EvguardError(code, message, opts);
  }
  return factories;
}

/** Every declared code, for documentation checks. */
export function declaredErrorCodes(): ReadonlyMap<string, ErrorSpec> {
  return registry;
}

export const commonErrors = defineErrors({
  BAD_REQUEST: { status: 400, message: 'The request is malformed' },
  VALIDATION_FAILED: { status: 400, message: 'The request body or parameters are invalid' },
  UNAUTHENTICATED: { status: 401, message: 'A valid bearer token is required' },
  FORBIDDEN: { status: 403, message: 'Your role does not allow this action' },
  HTTPS_REQUIRED: { status: 403, message: 'This is served over HTTPS (or to loopback clients) only' },
  NOT_FOUND: { status: 404, message: 'No such resource' },
  CONFLICT: { status: 409, message: 'The resource already exists or is in a conflicting state' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body has an unsupported content type' },
  NOT_ACCEPTABLE: { status: 406, message: 'No acceptable representation for the Accept header' },
  RATE_LIMITED: { status: 429, message: 'Too many requests' },
  INTERNAL: { status: 500, message: 'Internal error' },
});
