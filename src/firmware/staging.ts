/**
 * Firmware images arrive as a stream and are written to a staging file while
 * they are hashed, so an upload costs the node a file, not its size in memory.
 * Signing and signature checks read the staged file in chunks too.
 */
import { createHash, createSign, createVerify, randomUUID, type KeyObject } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { firmwareErrors } from './errors.js';

export interface StagedImage {
  readonly path: string;
  readonly sha256: string;
  readonly length: number;
}

export type ImageSource = Buffer | StagedImage;

export function isStaged(source: ImageSource): source is StagedImage {
  return !Buffer.isBuffer(source);
}

/** Streams `source` into a new file under `dir` (mode 0600), refusing more than `maxBytes`. */
export async function stageStream(source: Readable, dir: string, maxBytes: number): Promise<StagedImage> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, `${randomUUID()}.upload`);
  const hash = createHash('sha256');
  let length = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      length += chunk.length;
      if (length > maxBytes) return done(firmwareErrors.FIRMWARE_TOO_LARGE(`the image is larger than the limit of ${maxBytes} bytes`));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, meter, createWriteStream(file, { mode: 0o600 }));
  } catch (err) {
    rmSync(file, { force: true });
    throw err;
  }
  return { path: file, sha256: hash.digest('hex'), length };
}

async function feed(source: ImageSource, update: (chunk: Buffer) => void): Promise<void> {
  if (!isStaged(source)) return update(source);
  for await (const chunk of createReadStream(source.path)) update(chunk as Buffer);
}

/** The same signature as `crypto.sign('sha256', image, key)` (RSA PKCS#1 v1.5 or DER ECDSA), over a file read in chunks. */
export async function signSource(source: ImageSource, key: KeyObject): Promise<string> {
  const signer = createSign('sha256');
  await feed(source, (c) => signer.update(c));
  return signer.sign(key).toString('base64');
}

export async function verifySource(source: ImageSource, publicKey: KeyObject, signature: Buffer): Promise<boolean> {
  const verifier = createVerify('sha256');
  await feed(source, (c) => verifier.update(c));
  return verifier.verify(publicKey, signature);
}

export function sha256Of(source: ImageSource): string {
  return isStaged(source) ? source.sha256 : createHash('sha256').update(source).digest('hex');
}
