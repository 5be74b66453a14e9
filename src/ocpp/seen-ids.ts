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
 * The ring grows with use, so a station that sends little holds little.
 */
import { createHmac, randomBytes } from 'node:crypto';

const KEY = randomBytes(32);
const FIRST_CAPACITY = 16;

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
    // UTF-16 code units, not UTF-8: UTF-8 turns every unpaired surrogate into U+FFFD, so different ids would share a digest.
    const digest = createHmac('sha256', KEY).update(id, 'utf16le').digest();
    const a = digest.readUInt32LE(0);
    const b = digest.readUInt32LE(4);
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
