/** Writes web/src/api-types.ts from the node's OpenAPI document (see api-types-render.ts). */
import { writeFileSync } from 'node:fs';
import { API_TYPES_FILE, renderApiTypes, servedOpenApi } from './api-types-render.js';

writeFileSync(API_TYPES_FILE, await renderApiTypes(await servedOpenApi()));
process.stdout.write('web/src/api-types.ts written\n');
process.exit(0);
