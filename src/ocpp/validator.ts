/**
 * Strict JSON-schema validation of every OCPP message against the official
 * OCA schemas (the copies shipped with ocpp-rpc). Each schema is compiled on
 * its first use and kept: compiling all ~400 at start cost seconds of every
 * node start, and most actions are rare. The station simulator uses the same
 * validators, so both ends of a test judge messages by one set of rules.
 *
 * We supply our own validators to ocpp-rpc instead of its defaults because:
 * - its 2.1 schema set uses `$id`s `urn:XRequest`/`urn:XResponse` while it looks
 *   up `urn:X.req`/`urn:X.conf`, so every 2.1 message would fail;
 * - it answers a schema failure in 2.0.1 with the 1.6 spelling
 *   "OccurenceConstraintViolation", and maps range violations to FormatViolation
 *   where OCPP-J (2.0.1 Part 4 §4.3) calls an out-of-range value a
 *   PropertyConstraintViolation.
 */
import { createRequire } from 'node:module';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { ocppError, type OcppVersion, type RpcErrorCode } from './errors.js';

const require = createRequire(import.meta.url);
// ajv-formats is CommonJS with a default export.
const addFormats: (ajv: Ajv) => unknown = (addFormatsImport as any).default ?? addFormatsImport;

export const SUBPROTOCOLS: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };
export const VERSION_OF_SUBPROTOCOL: Record<string, OcppVersion> = { 'ocpp1.6': '1.6', 'ocpp2.0.1': '2.0.1', 'ocpp2.1': '2.1' };

const SCHEMA_FILES: Record<OcppVersion, string> = {
  '1.6': 'ocpp-rpc/lib/schemas/ocpp1_6.json',
  '2.0.1': 'ocpp-rpc/lib/schemas/ocpp2_0_1.json',
  '2.1': 'ocpp-rpc/lib/schemas/ocpp2_1.json',
};

/** Which Ajv keyword failure becomes which OCPP-J error code. */
const KEYWORD_CODE: Record<string, RpcErrorCode> = {
  type: 'TypeConstraintViolation',
  required: 'OccurrenceConstraintViolation',
  minItems: 'OccurrenceConstraintViolation',
  maxItems: 'OccurrenceConstraintViolation',
  minProperties: 'OccurrenceConstraintViolation',
  maxProperties: 'OccurrenceConstraintViolation',
  additionalProperties: 'PropertyConstraintViolation',
  propertyNames: 'PropertyConstraintViolation',
  enum: 'PropertyConstraintViolation',
  const: 'PropertyConstraintViolation',
  pattern: 'PropertyConstraintViolation',
  maxLength: 'PropertyConstraintViolation',
  minLength: 'PropertyConstraintViolation',
  maximum: 'PropertyConstraintViolation',
  minimum: 'PropertyConstraintViolation',
  exclusiveMaximum: 'PropertyConstraintViolation',
  exclusiveMinimum: 'PropertyConstraintViolation',
  multipleOf: 'PropertyConstraintViolation',
  format: 'FormatViolation',
};

export interface OcppValidator {
  readonly subprotocol: string;
  readonly version: OcppVersion;
  /** Actions with a request schema in this version. */
  readonly actions: ReadonlySet<string>;
  /** Whether the version defines this action. */
  has(action: string): boolean;
  /** ocpp-rpc calls this with `urn:<Action>.req` / `urn:<Action>.conf`. Throws an RPC error on failure. */
  validate(schemaId: string, params: unknown): true;
}

export function createValidator(version: OcppVersion): OcppValidator {
  const schemas = require(SCHEMA_FILES[version]) as { $id: string }[];
  const ajv = new Ajv({ strict: false, allErrors: false });
  addFormats(ajv);
  ajv.removeKeyword('multipleOf');
  // Decimal multipleOf (0.1) fails on binary floats; compare with a tolerance.
  ajv.addKeyword({
    keyword: 'multipleOf',
    type: 'number',
    errors: false,
    metaSchema: { type: 'number' },
    compile: (step: number) => (data: number) => Math.abs(Math.round(data / step) - data / step) < 1e-6,
  });
  const source = new Map<string, object>();
  const actions = new Set<string>();
  for (const schema of schemas) {
    const key = canonicalId(schema.$id);
    if (!key) continue;
    // The OCA ids (`urn:X.req`) are not valid URNs for Ajv's URI library; refs are all local, so compile without them.
    const { $id: _ignored, ...body } = schema;
    source.set(key, body);
    if (key.endsWith('.req')) actions.add(key.slice(4, -4));
  }
  const compiled = new Map<string, ValidateFunction>();
  return {
    subprotocol: SUBPROTOCOLS[version],
    version,
    actions,
    has: (action) => actions.has(action),
    validate(schemaId, params) {
      let fn = compiled.get(schemaId);
      if (!fn) {
        const body = source.get(schemaId);
        if (!body) throw ocppError('NotImplemented', `'${schemaId.replace(/^urn:|\.(req|conf)$/g, '')}' is not an action of OCPP ${version}`);
        fn = ajv.compile(body);
        compiled.set(schemaId, fn);
      }
      if (!fn(params)) throw schemaError(fn.errors ?? []);
      return true;
    },
  };
}

/** `urn:BootNotificationRequest` (2.1 set) and `urn:BootNotification.req` both become the latter. */
function canonicalId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const m = /^urn:(.+?)(?:Request|Response|\.req|\.conf)$/.exec(id);
  if (!m) return undefined;
  return `urn:${m[1]}.${/(Request|\.req)$/.test(id) ? 'req' : 'conf'}`;
}

function schemaError(errors: ErrorObject[]) {
  const first = errors[0];
  const code = (first && KEYWORD_CODE[first.keyword]) ?? 'FormatViolation';
  const where = first?.instancePath || '(payload)';
  const what = first ? `${where} ${first.message ?? 'is invalid'}` : 'payload is invalid';
  // Keep details short: echoing the whole payload back would amplify hostile input.
  return ocppError(code, what.slice(0, 200), { keyword: first?.keyword, path: first?.instancePath });
}
