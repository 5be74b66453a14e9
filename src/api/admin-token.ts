import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TokenStore } from './auth.js';

/**
 * Without EVGUARD_ADMIN_TOKEN, the first start generates an admin token, keeps
 * it in <data-dir>/admin-token (mode 0600) and returns it so the CLI prints it once.
 */
export async function bootstrapAdminToken(config: { adminToken?: string; dataDir: string }, tokens: TokenStore): Promise<string | undefined> {
  if (config.adminToken) return undefined;
  const file = path.join(config.dataDir, 'admin-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    if (await tokens.authenticate(`Bearer ${token}`)) return undefined;
  }
  const { token } = await tokens.create('admin (generated on first start)', 'admin');
  writeFileSync(file, token + '\n', { mode: 0o600 });
  return token;
}
