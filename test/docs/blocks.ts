/**
 * Shell blocks of the documentation and the conventions that make them
 * runnable:
 *
 * - A fenced block tagged `sh`, `bash` or `shell` is run, in a fresh
 *   temporary directory per page, against a real node the test starts there
 *   (`evguard serve --data-dir .evguard`), with `evguard` and `npx evguard`
 *   running this checkout's CLI. `localhost:8080` and `localhost:8443` are the
 *   node's ports (EVGUARD_API points the CLI's default there); `$TOKEN`
 *   holds its admin token.
 * - `<name>` in a run block stands for what a reader copies from the output
 *   before it: the newest object of that kind on the node, looked up when the
 *   line runs (./placeholder.mjs lists them).
 * - An HTML comment right above the fence steers it:
 *   `<!-- doc-test: skip: why -->` shows the block without running it;
 *   `<!-- doc-test: background until "text" -->` runs it like a second
 *   terminal until its output shows the text (it gets SIGTERM after the
 *   page's last block and must then exit 0);
 *   `<!-- doc-test: expect "text" "more text" -->` requires each text in its
 *   output (`\"` for a quote inside).
 * - A block without a tag whose first line is a command (evguard, npm, npx,
 *   curl, node) is an error: tag it `sh` to run it or `text` for a synopsis.
 */
import { readFileSync } from 'node:fs';

export interface DocBlock {
  file: string;
  line: number;
  lang: string;
  code: string;
  skip?: string;
  background?: string;
  expect: string[];
}

const SHELL = new Set(['sh', 'bash', 'shell']);
const COMMAND = /^\s*(\$ )?(npx |npm |evguard |curl |node |TOKEN=|export )/;

export function extractBlocks(file: string, text = readFileSync(file, 'utf8')): { blocks: DocBlock[]; problems: string[] } {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  const problems: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const lang = open[1]!;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    const directives: string[] = [];
    for (let j = start - 1; j >= 0; j--) {
      const l = lines[j]!.trim();
      if (l === '') continue;
      const d = /^<!--\s*doc-test:\s*(.*?)\s*-->$/.exec(l);
      if (!d) break;
      directives.unshift(d[1]!);
    }
    if (!lang && body.find((l) => l.trim())?.match(COMMAND)) {
      problems.push(`${file}:${start + 1}: an untagged block starts with a command; tag it sh (run by the doc test) or text (a synopsis)`);
      continue;
    }
    if (!SHELL.has(lang)) {
      if (directives.length) problems.push(`${file}:${start + 1}: doc-test directive on a block that is not sh`);
      continue;
    }
    const block: DocBlock = { file, line: start + 2, lang, code: body.join('\n'), expect: [] };
    for (const d of directives) {
      const quoted = [...d.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
      if (/^skip\b/.test(d)) block.skip = d.replace(/^skip:?\s*/, '') || 'not run';
      else if (/^background until\b/.test(d) && quoted.length === 1) block.background = quoted[0];
      else if (/^expect\b/.test(d) && quoted.length > 0) block.expect.push(...quoted);
      else problems.push(`${file}:${start + 1}: unknown doc-test directive "${d}"`);
    }
    blocks.push(block);
  }
  return { blocks, problems };
}
