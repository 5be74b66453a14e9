/**
 * TLS session ticket keys, kept in the store so that they outlive a restart
 * and are the same on every node of a cluster: a station that reconnects
 * after a node restart or to another node resumes its TLS session (an
 * abbreviated handshake, with a fresh ECDHE exchange in TLS 1.3) instead of a
 * full one, which is most of what a reconnect storm costs.
 *
 * Keys rotate on a fixed schedule: the key of epoch N is the one created for
 * `floor(now / rotateEveryS)`, and every node that finds the epoch's row
 * missing offers one (insert-if-absent) and then uses whichever was stored, so
 * the nodes agree without a leader. Node's TLS takes one ticket key at a time,
 * so tickets issued before a rotation are not resumed after it; tickets live
 * no longer than one epoch (`sessionTimeout`). At rest a key is sealed with
 * AES-256-GCM under a key derived (scrypt) from the node's key passphrase,
 * which the nodes of a cluster share.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import type { TrustStore } from './store.js';

/** Node's ticket key: 16 bytes name, 16 bytes HMAC secret, 16 bytes AES key. */
const TICKET_KEY_BYTES = 48;

export interface TicketKeys {
  /** The current epoch's key, created if no node has yet. */
  current(): Promise<Buffer>;
  /** Seconds a ticket may be resumed: one rotation period. */
  readonly lifetimeS: number;
}

export function createTicketKeys(store: TrustStore, passphrase: string, rotateEveryS = 12 * 3600, now = () => Date.now()): TicketKeys {
  const sealKey = scryptSync(passphrase, 'evguard tls session ticket keys', 32);
  const seal = (key: Buffer) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', sealKey, iv);
    const body = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  };
  const unseal = (sealed: string) => {
    const raw = Buffer.from(sealed, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', sealKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  };
  let cached: { epoch: number; key: Buffer } | undefined;

  return {
    lifetimeS: rotateEveryS,
    async current() {
      const epoch = Math.floor(now() / 1000 / rotateEveryS);
      if (cached?.epoch === epoch) return cached.key;
      await store.ticketKeys.offer(epoch, seal(randomBytes(TICKET_KEY_BYTES)), new Date(now()).toISOString());
      const key = unseal(await store.ticketKeys.get(epoch));
      // Older epochs are of no use to anyone: Node's TLS cannot take them.
      await store.ticketKeys.deleteBefore(epoch);
      cached = { epoch, key };
      return key;
    },
  };
}
