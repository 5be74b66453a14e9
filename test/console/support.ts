/**
 * Browser-test plumbing: a fresh console build when the sources changed,
 * Debian's chromium through playwright-core, and screenshots into a folder
 * (docs/screenshots when EVGUARD_SCREENSHOTS names it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.EVGUARD_CHROMIUM ?? '/usr/bin/chromium';
export const WEB_BUILD = path.join(root, 'dist/web');

function newest(dir: string): number {
  let t = 0;
  for (const f of readdirSync(dir)) {
    const p = path.join(dir, f);
    const s = statSync(p);
    t = Math.max(t, s.isDirectory() ? newest(p) : s.mtimeMs);
  }
  return t;
}

/** Builds web/ into dist/web unless the build is newer than every source file. */
export function ensureConsoleBuilt(): void {
  const marker = path.join(root, 'dist/web/.evguard-console');
  const sources = Math.max(newest(path.join(root, 'web/src')), statSync(path.join(root, 'web/index.html')).mtimeMs, statSync(path.join(root, 'web/vite.config.ts')).mtimeMs);
  if (existsSync(marker) && statSync(marker).mtimeMs >= sources) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', 'web'], { cwd: root, stdio: 'inherit' });
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

export const screenshotDir = (() => {
  const dir = process.env.EVGUARD_SCREENSHOTS ? path.resolve(root, process.env.EVGUARD_SCREENSHOTS) : path.join(tmpdir(), 'evguard-console-screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
})();

export async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage });
}

/**
 * Collects what the page complains about: script errors and console errors
 * (CSP violations land there), except failed requests the test provokes.
 */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = msg.text();
    if (/Failed to load resource: the server responded with a status of (401|403|404|409)/.test(text)) return;
    problems.push(`console: ${text}`);
  });
  return problems;
}

/** Every visible form control and button in the page has an accessible name (a label, text or aria-label). */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    // Runs in the page; the test's own compiler settings know no DOM types.
    const doc = (globalThis as any).document;
    const out: string[] = [];
    for (const el of doc.querySelectorAll('input, select, textarea, button, [role="grid"], [role="meter"], [role="img"]')) {
      if (el.closest('dialog:not([open])') || el.type === 'hidden') continue;
      const labelledBy = (el.getAttribute('aria-labelledby') ?? '').split(/\s+/).filter(Boolean).map((id: string) => doc.getElementById(id)?.textContent ?? '').join(' ');
      const name = [el.getAttribute('aria-label'), labelledBy, ...[...(el.labels ?? [])].map((l: any) => l.textContent), el.tagName === 'BUTTON' ? el.textContent : ''].join(' ').trim();
      if (!name) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
}
