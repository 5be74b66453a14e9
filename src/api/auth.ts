/**
 * Bearer tokens with roles. Tokens are 32 random bytes shown once; only their
 * SHA-256 is stored (a slow hash adds nothing for 256-bit random secrets, and
 * every API request checks one). Roles: auditor < operator < admin.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Database } from '../store/index.js';
import type { Bus } from '../bus/index.js';
import { BoundedCache, onChange, publishChange, STALE_BOUND_MS } from '../bus/changes.js';
import { commonErrors } from '../errors.js';
import { createApiStore } from './store.js';

export type Role = 'auditor' | 'operator' | 'admin';
export const ROLES: readonly Role[] = ['auditor', 'operator', 'admin'];
const RANK: Record<Role, number> = { auditor: 0, operator: 1, admin: 2 };

export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
}

export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Resolved tokens are cached for at most STALE_BOUND_MS; a revocation on any
 * node clears every node's cache at once through `api-token.changed`, and the
 * bound covers a node that missed that event.
 */
export function createTokenStore(database: Database, adminToken?: string, bus?: Bus) {
  const { tokens } = createApiStore(database);
  const cache = new BoundedCache<Principal | null>(STALE_BOUND_MS, 10_000);
  if (bus) onChange(bus, 'api-token.changed', () => cache.clear());
  const envAdminHash = adminToken ? Buffer.from(sha256(adminToken), 'hex') : undefined;

  return {
    /** Resolves an `Authorization: Bearer …` header to a principal, or undefined. */
    async authenticate(header: string | undefined): Promise<Principal | undefined> {
      const m = header && /^Bearer\s+([A-Za-z0-9._~+/=-]{16,256})\s*$/i.exec(header);
      if (!m) return undefined;
      const hash = sha256(m[1]!);
      if (envAdminHash && timingSafeEqual(Buffer.from(hash, 'hex'), envAdminHash)) return { tokenId: 'env-admin', name: 'admin (EVGUARD_ADMIN_TOKEN)', role: 'admin' };
      const hit = cache.get(hash);
      if (hit !== undefined) return hit ?? undefined;
      const row = await tokens.activeByHash(hash);
      const principal = row ? { tokenId: row.id, name: row.name, role: row.role as Role } : null;
      cache.set(hash, principal);
      return principal ?? undefined;
    },
    async create(name: string, role: Role): Promise<{ id: string; token: string; name: string; role: Role }> {
      if (!ROLES.includes(role)) throw commonErrors.VALIDATION_FAILED(`role must be one of ${ROLES.join(', ')}`);
      if (typeof name !== 'string' || !name.trim() || name.length > 100) throw commonErrors.VALIDATION_FAILED('name must be 1–100 characters');
      const token = `evg_${randomBytes(32).toString('base64url')}`;
      const id = randomUUID();
      await tokens.insert({ id, name, role, token_hash: sha256(token), created_at: new Date().toISOString() });
      return { id, token, name, role };
    },
    async list() {
      const rows = await tokens.list();
      return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at, revokedAt: r.revoked_at ?? undefined }));
    },
    async revoke(id: string): Promise<void> {
      if (!(await tokens.revoke(id, new Date().toISOString()))) throw commonErrors.NOT_FOUND(`No active token ${id}`);
      cache.clear();
      if (bus) publishChange(bus, 'api-token.changed', { tokenId: id, change: 'revoked' });
    },
    count: (): Promise<number> => tokens.count(),
  };
}

export type TokenStore = ReturnType<typeof createTokenStore>;
