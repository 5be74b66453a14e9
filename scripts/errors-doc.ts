/**
 * Writes docs/errors.md from the error registry: every code any module
 * declares, with its HTTP status and default message. `npm test` fails when
 * the file is out of date.
 */
import { writeFileSync } from 'node:fs';
import { renderErrorsDoc } from './errors-doc-render.js';

writeFileSync(new URL('../docs/errors.md', import.meta.url), await renderErrorsDoc());
process.stdout.write('docs/errors.md written\n');
