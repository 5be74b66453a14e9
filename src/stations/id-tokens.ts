/**
 * The id-token registry behind Authorize: RFID cards, app tokens, contract ids.
 * An unknown token is "Unknown" (1.6 adapters turn that into "Invalid").
 */
import type { AuthorizationResult } from '../model/station.js';
import { stationErrors } from './errors.js';
import type { IdTokenRow, StationsStore } from './store.js';

export type IdTokenStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid';

export interface IdToken {
  idToken: string;
  type: string;
  status: IdTokenStatus;
  expiresAt?: string;
  createdAt: string;
}

const STATUSES: IdTokenStatus[] = ['Accepted', 'Blocked', 'Expired', 'Invalid'];

export function createIdTokens(store: StationsStore) {
  const row = (r: IdTokenRow): IdToken => ({ idToken: r.id_token, type: r.type, status: r.status as IdTokenStatus, expiresAt: r.expires_at ?? undefined, createdAt: r.created_at });
  return {
    async put(input: { idToken: string; type?: string; status?: IdTokenStatus; expiresAt?: string }): Promise<IdToken> {
      if (typeof input.idToken !== 'string' || !/^[\x21-\x7e]{1,36}$/.test(input.idToken)) {
        throw stationErrors.ID_TOKEN_INVALID('idToken must be 1–36 printable ASCII characters (OCPP IdToken.idToken)');
      }
      const status = input.status ?? 'Accepted';
      if (!STATUSES.includes(status)) throw stationErrors.ID_TOKEN_INVALID(`status must be one of ${STATUSES.join(', ')}`);
      if (input.expiresAt !== undefined && Number.isNaN(Date.parse(input.expiresAt))) throw stationErrors.ID_TOKEN_INVALID('expiresAt must be an ISO 8601 date-time');
      const values = { id_token: input.idToken, type: input.type ?? 'ISO14443', status, expires_at: input.expiresAt ?? null, created_at: new Date().toISOString() };
      await store.idTokens.put(values);
      return row(values);
    },
    async list(): Promise<IdToken[]> {
      return (await store.idTokens.list(10_000)).map(row);
    },
    async remove(idToken: string): Promise<void> {
      await store.idTokens.remove(idToken);
    },
    async authorize(idToken: string, now = new Date()): Promise<AuthorizationResult> {
      const r = await store.idTokens.get(idToken);
      if (!r) return { status: 'Unknown' };
      if (r.status === 'Accepted' && r.expires_at && Date.parse(r.expires_at) <= now.getTime()) return { status: 'Expired', expiresAt: r.expires_at };
      const status = r.status as IdTokenStatus;
      return r.expires_at ? { status, expiresAt: r.expires_at } : { status };
    },
  };
}

export type IdTokens = ReturnType<typeof createIdTokens>;
