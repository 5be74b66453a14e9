/**
 * Strict-mode validators for the simulator's RPC client: every CALL and
 * CALLRESULT the simulator sends or receives is checked against the official
 * OCA schemas shipped with ocpp-rpc, so the simulator never emits invalid OCPP.
 *
 * We pass our own validators because ocpp-rpc 2.2.1 looks schemas up as
 * `urn:<Action>.req` / `urn:<Action>.conf`, while its 2.1 set is published
 * under `urn:<Action>Request` / `urn:<Action>Response` (upstream PR #94), so
 * its stock 2.1 validator rejects every message. We also compile each schema
 * on first use, so a fleet of thousands of stations shares one cheap set.
 */
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsImport from 'ajv-formats';
import { createRPCError } from 'ocpp-rpc';
import type { OcppVersion } from './types.js';

const require = createRequire(import.meta.url);
// ajv-formats is CommonJS: under NodeNext its default import is module.exports, which also carries `.default`.
const addFormats = addFormatsImport.default;

export const SUBPROTOCOL: Record<OcppVersion, string> = { '1.6': 'ocpp1.6', '2.0.1': 'ocpp2.0.1', '2.1': 'ocpp2.1' };

const SCHEMA_FILE: Record<OcppVersion, string> = {
  '1.6': 'ocpp-rpc/lib/schemas/ocpp1_6.json',
  '2.0.1': 'ocpp-rpc/lib/schemas/ocpp2_0_1.json',
  '2.1': 'ocpp-rpc/lib/schemas/ocpp2_1.json',
};

/** Ajv keyword → OCPP-J error code (OCPP 2.0.1 Part 4 §4.3 spellings). */
const KEYWORD_CODE: Record<string, string> = {
  type: 'TypeConstraintViolation',
  required: 'OccurrenceConstraintViolation',
  minItems: 'OccurrenceConstraintViolation',
  maxItems: 'OccurrenceConstraintViolation',
  format: 'FormatViolation',
};

/** The shape ocpp-rpc expects in `strictModeValidators`. */
export interface SimValidator {
  readonly subprotocol: string;
  readonly version: OcppVersion;
  /** Throws an ocpp-rpc RPC error when `params` does not match `urn:<Action>.req|.conf`. */
  validate(schemaId: string, params: unknown): boolean;
  /** Whether the version defines this action. */
  has(action: string): boolean;
}

export function createSimValidator(version: OcppVersion): SimValidator {
  const schemas = require(SCHEMA_FILE[version]) as { $id?: string }[];
  const ajv = new Ajv({ strict: false, allErrors: false });
  addFormats(ajv);
  ajv.removeKeyword('multipleOf');
  // Decimal steps (0.1) fail on binary floats; compare with a tolerance, as ocpp-rpc does.
  ajv.addKeyword({
    keyword: 'multipleOf',
    type: 'number',
    errors: false,
    metaSchema: { type: 'number' },
    compile: (step: number) => (data: number) => Math.abs(Math.round(data / step) - data / step) < 1e-6,
  });
  const source = new Map<string, object>();
  for (const schema of schemas) {
    const id = canonicalId(schema.$id);
    // Refs are all local (#/definitions/…); dropping $id also spares Ajv's URI
    // parser, which rejects `urn:Action.req` as a URN without a namespace id.
    const { $id: _unused, ...body } = schema;
    if (id) source.set(id, body);
  }
  const compiled = new Map<string, ValidateFunction>();
  return {
    subprotocol: SUBPROTOCOL[version],
    version,
    has: (action) => source.has(`urn:${action}.req`),
    validate(schemaId, params) {
      let fn = compiled.get(schemaId);
      if (!fn) {
        const schema = source.get(schemaId);
        if (!schema) {
          const action = schemaId.replace(/^urn:|\.(req|conf)$/g, '');
          throw createRPCError('NotImplemented', `'${action}' is not an action of OCPP ${version}`);
        }
        fn = ajv.compile(schema);
        compiled.set(schemaId, fn);
      }
      if (fn(params)) return true;
      const first = fn.errors?.[0];
      const code = (first && KEYWORD_CODE[first.keyword]) ?? (first?.keyword === undefined ? 'FormatViolation' : 'PropertyConstraintViolation');
      const where = first?.instancePath || '(payload)';
      throw createRPCError(code, `${schemaId}: ${where} ${first?.message ?? 'is invalid'}`.slice(0, 300), {
        keyword: first?.keyword,
        path: first?.instancePath,
      });
    },
  };
}

/** One validator per version, for `strictModeValidators` of a client or a test server. */
export function createSimValidators(): SimValidator[] {
  return (['1.6', '2.0.1', '2.1'] as const).map(createSimValidator);
}

/** `urn:BootNotificationRequest` (2.1 set) and `urn:BootNotification.req` both become the latter. */
function canonicalId(id: string | undefined): string | undefined {
  if (!id) return undefined;
  const m = /^urn:(.+?)(Request|Response|\.req|\.conf)$/.exec(id);
  if (!m) return undefined;
  return `urn:${m[1]}.${m[2] === 'Request' || m[2] === '.req' ? 'req' : 'conf'}`;
}
