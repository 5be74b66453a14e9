/**
 * The message ids a station used last on its connection, so a reused one is
 * refused (OCPP-J: a message id is unique per sender and connection).
 *
 * A station chooses its ids, and so their length: keeping the ids
 * themselves would let one station make the node hold its last 1,024 ids
 * at up to the frame limit each (256 MiB at the default limit), and costs
 * about 90 bytes per id with ordinary UUIDs. The window keeps a 64-bit
 * keyed digest of each id instead: 8 bytes, whatever the id. The key is
 * random per process, so a station cannot choose two ids with the same
 * digest; an honest one has a chance of about 1,024 in 2^64 per message
 * of a false "already used".
 *
 * The digest is SHA-256 of the key and the id in one call (`crypto.hash`):
 * an HMAC object per message cost about 3 µs, this about 0.4 µs. Keying by
 * prefix is sound here because no digest ever leaves the process.
 *
 * The ring grows with use, so a station that sends little holds little.
 */
import { hash, randomBytes } from 'node:crypto';

/**
 * The key, as a string to prefix to an id, with a tag for how the id is
 * encoded: UTF-8 when the id has no surrogates (UTF-8 is one-to-one on such
 * strings), else its UTF-16 code units, since UTF-8 turns every unpaired
 * surrogate into U+FFFD and different ids would share a digest.
 */
// Hex, so the key is the same bytes in UTF-8 and in latin1, and only the tag tells the two encodings apart.
const KEY = randomBytes(32).toString('hex');
const PLAIN = `${KEY}\u0000`;
const CODE_UNITS = Buffer.from(`${KEY}\u0001`, 'latin1');
const FIRST_CAPACITY = 16;
const SURROGATE = /[\ud800-\udfff]/;

/** 32 bytes of digest as a latin1 string (one char a byte). */
function digestOf(id: string): string {
  if (!SURROGATE.test(id)) return hash('sha256', PLAIN + id, 'latin1');
  return hash('sha256', Buffer.concat([CODE_UNITS, Buffer.from(id, 'utf16le')]), 'latin1');
}

/** Bytes `at`…`at + 3` of a latin1 digest, little-endian. */
const word = (d: string, at: number) => (d.charCodeAt(at) | (d.charCodeAt(at + 1) << 8) | (d.charCodeAt(at + 2) << 16) | (d.charCodeAt(at + 3) << 24)) >>> 0;

export class SeenIds {
  /** Two 32-bit halves per digest, oldest overwritten first once full. */
  private ring: Uint32Array;
  private count = 0;
  private next = 0;

  constructor(private readonly kept: number) {
    if (!Number.isInteger(kept) || kept < 1) throw new RangeError('kept must be a positive integer');
    this.ring = new Uint32Array(2 * Math.min(FIRST_CAPACITY, kept));
  }

  /** Records `id`; false if it is one of the last `kept` ids recorded (it is then not recorded again). */
  add(id: string): boolean {
    const digest = digestOf(id);
    const a = word(digest, 0);
    const b = word(digest, 4);
    const ring = this.ring;
    for (let i = 0; i < 2 * this.count; i += 2) if (ring[i] === a && ring[i + 1] === b) return false;
    if (this.count < this.kept && this.count === ring.length / 2) this.grow();
    this.ring[2 * this.next] = a;
    this.ring[2 * this.next + 1] = b;
    this.next = (this.next + 1) % (this.ring.length / 2);
    if (this.count < this.ring.length / 2) this.count++;
    return true;
  }

  /** Ids remembered now (at most `kept`). */
  get size(): number {
    return this.count;
  }

  /** Bytes the digests take. */
  get bytes(): number {
    return this.ring.byteLength;
  }

  /** Doubles the ring (up to `kept`); only while it has never wrapped, so its order is insertion order. */
  private grow(): void {
    const bigger = new Uint32Array(2 * Math.min(this.kept, 2 * (this.ring.length / 2)));
    bigger.set(this.ring);
    this.ring = bigger;
    this.next = this.count;
  }
}
