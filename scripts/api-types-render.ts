/**
 * The console's API types (web/src/api-types.ts), generated from the OpenAPI
 * document a node serves: the named shapes of src/api/schemas.ts, as
 * TypeScript, by json-schema-to-typescript. So the console reads the same
 * shapes the API declares and serialises, instead of copies kept by hand.
 * `npm run api:types` writes the file; a test fails when it is out of date.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compile, type JSONSchema } from 'json-schema-to-typescript';
import { pino } from 'pino';
import { loadConfig } from '../src/config.js';
import { startApp } from '../src/app.js';

export const API_TYPES_FILE = new URL('../web/src/api-types.ts', import.meta.url);

/** The OpenAPI document of a node started for the purpose in a temporary directory. */
export async function servedOpenApi(): Promise<{ components: { schemas: Record<string, JSONSchema> } }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'evguard-openapi-'));
  const app = await startApp(loadConfig({ host: '127.0.0.1', dataDir, tlsPort: 0, adminToken: 'api-types-admin-token-0123456789', logLevel: 'silent' }, {}), { ephemeralPorts: true, log: pino({ level: 'silent' }) });
  try {
    const res = await fetch(`http://127.0.0.1:${app.ports.http}/api/v1/openapi.json`);
    return (await res.json()) as { components: { schemas: Record<string, JSONSchema> } };
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function renderApiTypes(doc: { components: { schemas: Record<string, JSONSchema> } }): Promise<string> {
  const names = Object.keys(doc.components.schemas).sort();
  // One root that names every shape, so each is declared once and references between them are type names.
  const defs = JSON.parse(JSON.stringify(doc.components.schemas).replaceAll('#/components/schemas/', '#/$defs/')) as Record<string, JSONSchema>;
  // `Error` would shadow the global Error wherever the console imports it.
  for (const n of names) defs[n] = { ...defs[n], title: n === 'Error' ? 'ApiError' : n };
  const root: JSONSchema = { title: 'ApiShapes', type: 'object', additionalProperties: false, required: names, properties: Object.fromEntries(names.map((n) => [n, { $ref: `#/$defs/${n}` }])), $defs: defs };
  const body = await compile(root, 'ApiShapes', { bannerComment: '', format: true, additionalProperties: false, unreachableDefinitions: false, strictIndexSignatures: true });
  return [
    '/**',
    ' * The shapes the node\'s REST API answers with, generated from its OpenAPI',
    ' * document (src/api/schemas.ts) by `npm run api:types`. Do not edit: a test',
    ' * fails when this file differs from what the node declares.',
    ' */',
    body.trim(),
    '',
  ].join('\n');
}
