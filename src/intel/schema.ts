/**
 * Validation of STIX 2.1 objects against the official OASIS JSON schemas
 * (oasis-open/cti-stix2-json-schemas, vendored under ./schemas with their
 * BSD-3-Clause LICENSE). Compiled once per intel instance.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsImport from 'ajv-formats';
import { intelErrors } from './errors.js';

// ajv-formats is CommonJS with a default export.
const addFormats: (ajv: Ajv2020) => unknown = (addFormatsImport as any).default ?? addFormatsImport;

const SCHEMA_BASE = 'http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/';
const GROUPS = ['common', 'sdos', 'sros', 'observables'] as const;

export interface ValidationResult {
  readonly valid: boolean;
  /** Human-readable problems, each prefixed with the JSON path that failed. */
  readonly errors: string[];
}

export interface StixValidator {
  validate(value: unknown): ValidationResult;
}

/**
 * The schemas sit next to this file when run from source; the TypeScript build
 * copies only .ts output into dist/, so from dist/src/intel we walk up to the
 * package root and use its src/intel/schemas.
 */
export function schemaDirectory(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'schemas')];
  for (let dir = path.dirname(here); candidates.length < 8; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, 'src', 'intel', 'schemas'));
    if (path.dirname(dir) === dir) break;
  }
  const found = candidates.find((dir) => existsSync(path.join(dir, 'common', 'bundle.json')));
  if (!found) throw intelErrors.INTEL_SCHEMAS_MISSING(`STIX 2.1 schemas not found (looked in ${candidates.join(', ')})`);
  return found;
}

export function createStixValidator(dir: string = schemaDirectory()): StixValidator {
  // unicodeRegExp: false because the OASIS patterns use escapes that are
  // invalid under the `u` flag; strict: false because they use `definitions`
  // and annotation keywords that Ajv's strict mode rejects.
  const ajv = new Ajv2020({ allErrors: false, strict: false, unicodeRegExp: false, validateFormats: true });
  addFormats(ajv);
  ajv.addFormat('idn-hostname', true);
  const byType = new Map<string, string>();
  for (const group of GROUPS) {
    for (const file of readdirSync(path.join(dir, group)).filter((f) => f.endsWith('.json')).sort()) {
      const schema = JSON.parse(readFileSync(path.join(dir, group, file), 'utf8'));
      ajv.addSchema(schema);
      if (group !== 'common' || file === 'marking-definition.json' || file === 'language-content.json' || file === 'extension-definition.json' || file === 'bundle.json') {
        byType.set(file.replace(/\.json$/, ''), schema.$id);
      }
    }
  }
  const compiled = new Map<string, ValidateFunction>();
  const compile = (id: string): ValidateFunction => {
    let fn = compiled.get(id);
    if (!fn) {
      fn = ajv.getSchema(id);
      if (!fn) throw intelErrors.INTEL_SCHEMAS_MISSING(`schema ${id} did not compile`);
      compiled.set(id, fn);
    }
    return fn;
  };
  // Compiling the bundle schema resolves every $ref in the set; a missing or
  // broken file fails here, at start, not on the first shared alert.
  compile(`${SCHEMA_BASE}common/bundle.json`);

  const validateObject = (value: unknown, where: string): string[] => {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return [`${where}: not a JSON object`];
    const type = (value as { type?: unknown }).type;
    if (typeof type !== 'string') return [`${where}: missing "type"`];
    let id = byType.get(type);
    if (!id || type === 'bundle') {
      // Custom objects: STIX 2.1 §11 lets them through on the common core (SDO/SRO) or the observable core.
      const core = compile(`${SCHEMA_BASE}common/core.json`);
      id = core(value) ? `${SCHEMA_BASE}common/core.json` : `${SCHEMA_BASE}common/cyber-observable-core.json`;
    }
    const fn = compile(id);
    const problems = fn(value) ? [] : describe(fn.errors, where);
    return problems.concat(semanticProblems(value as Record<string, unknown>, where));
  };

  return {
    validate(value) {
      if (value && typeof value === 'object' && (value as { type?: unknown }).type === 'bundle') {
        const bundle = compile(`${SCHEMA_BASE}common/bundle.json`);
        const ok = bundle(value);
        const objects = (value as { objects?: unknown }).objects;
        const errors = Array.isArray(objects) ? objects.flatMap((o, i) => validateObject(o, `/objects/${i}`)) : [];
        if (!ok && errors.length === 0) errors.push(...describe(bundle.errors, ''));
        return { valid: ok && errors.length === 0, errors };
      }
      const errors = validateObject(value, '');
      return { valid: errors.length === 0, errors };
    },
  };
}

/** Rules the OASIS README lists as out of reach of JSON Schema, checked where cheap. */
function semanticProblems(object: Record<string, unknown>, where: string): string[] {
  const problems: string[] = [];
  const { created, modified, type, id } = object;
  if (typeof created === 'string' && typeof modified === 'string' && Date.parse(modified) < Date.parse(created)) {
    problems.push(`${where}/modified: earlier than created`);
  }
  if (typeof type === 'string' && typeof id === 'string' && !id.startsWith(`${type}--`)) {
    problems.push(`${where}/id: does not start with "${type}--"`);
  }
  return problems;
}

function describe(errors: ErrorObject[] | null | undefined, where: string): string[] {
  if (!errors || errors.length === 0) return [`${where || '/'}: invalid`];
  return errors.slice(0, 5).map((e) => `${where}${e.instancePath || ''}: ${e.message ?? e.keyword}`);
}
