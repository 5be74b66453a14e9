/**
 * The firmware repository: images with vendor, models and version, their
 * SHA-256, a signature (made here or imported and checked), and the vendor's
 * TUF image repository that lists every signed release.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FirmwareStore, ImageRow } from './store.js';
import { firmwareErrors } from './errors.js';
import { checkSignature, signImage, signerFor, type SignerDeps } from './signing.js';
import { isStaged, sha256Of, type ImageSource, type StagedImage } from './staging.js';
import type { TargetEntry, TufRepositories } from './tuf.js';

export interface FirmwareImage {
  id: string;
  vendor: string;
  models: string[];
  version: string;
  sha256: string;
  length: number;
  releaseCounter: number;
  signed: boolean;
  signer?: 'evguard' | 'imported';
  signature?: string;
  signingCertificate?: string;
  createdAt: string;
  /** Path of the image in its vendor's TUF repository. */
  targetPath: string;
}

export interface UploadInput {
  vendor: string;
  models: string[];
  version: string;
  /** The image bytes, or the file an upload was streamed into (moved into the repository on success). */
  image: ImageSource;
  /** Sign with evguard's code-signing certificate for the vendor (default true unless a signature is imported). */
  sign?: boolean;
  signature?: string;
  signingCertificate?: string;
}

const NAME = /^[\p{L}\p{N} ._+-]{1,50}$/u;

export const imageRepo = (vendor: string) => `image/${vendor.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
export const targetPathOf = (img: { models: string[]; version: string; sha256: string }) => `${img.sha256.slice(0, 16)}-${img.version.replace(/[^a-zA-Z0-9_.-]/g, '_')}.bin`;

export function createImages(deps: { store: FirmwareStore; dataDir: string; tuf: TufRepositories; signer: SignerDeps; roots: () => string[] }) {
  const { store } = deps;
  const dir = path.join(deps.dataDir, 'firmware', 'images');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Uploads stream here first; what a killed process left behind is removed at start.
  const stagingDir = path.join(deps.dataDir, 'firmware', 'uploads');
  rmSync(stagingDir, { recursive: true, force: true });
  const blobPath = (sha256: string) => path.join(dir, `${sha256}.bin`);
  /** A stored image as a source that signing reads in chunks. */
  const blobOf = (img: FirmwareImage): StagedImage => ({ path: blobPath(img.sha256), sha256: img.sha256, length: img.length });

  const fromRow = (r: ImageRow): FirmwareImage => {
    const img = {
      id: r.id, vendor: r.vendor, models: JSON.parse(r.models), version: r.version, sha256: r.sha256, length: Number(r.length),
      releaseCounter: Number(r.release_counter), signed: !!r.signature, signer: (r.signer ?? undefined) as FirmwareImage['signer'],
      signature: r.signature ?? undefined, signingCertificate: r.signing_certificate ?? undefined, createdAt: r.created_at,
    };
    return { ...img, targetPath: targetPathOf(img) };
  };

  async function publishRelease(vendor: string) {
    const rows = await store.images.signedOf(vendor);
    const entries: TargetEntry[] = rows.map(fromRow).map((img) => ({
      path: img.targetPath, length: img.length, sha256: img.sha256,
      custom: { vendor: img.vendor, version: img.version, hardwareIds: img.models, releaseCounter: img.releaseCounter },
    }));
    await deps.tuf.publish(imageRepo(vendor), imageRepo(vendor), entries);
  }

  const images = {
    blobPath,
    stagingDir,
    readBlob(img: FirmwareImage): Buffer {
      return readFileSync(blobPath(img.sha256));
    },
    async upload(input: UploadInput): Promise<FirmwareImage> {
      if (typeof input.vendor !== 'string' || !NAME.test(input.vendor)) throw firmwareErrors.FIRMWARE_INVALID('vendor must be 1–50 letters, digits, spaces or ._+-');
      if (typeof input.version !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z._+-]{0,49}$/.test(input.version)) throw firmwareErrors.FIRMWARE_INVALID('version must be 1–50 characters of letters, digits and ._+-');
      if (!Array.isArray(input.models) || input.models.length === 0 || input.models.length > 20 || !input.models.every((m) => typeof m === 'string' && NAME.test(m))) {
        throw firmwareErrors.FIRMWARE_INVALID('model must list 1–20 models (comma-separated), each 1–50 letters, digits, spaces or ._+-');
      }
      if (!input.image || input.image.length === 0) throw firmwareErrors.FIRMWARE_INVALID('send the image as the raw request body (application/octet-stream)');
      const importing = input.signature !== undefined || input.signingCertificate !== undefined;
      if (importing && (typeof input.signature !== 'string' || typeof input.signingCertificate !== 'string')) throw firmwareErrors.FIRMWARE_INVALID('an imported signature needs both signature (base64) and signingCertificate (PEM)');
      const dup = await store.images.idOf(input.vendor, input.version);
      if (dup !== undefined) throw firmwareErrors.FIRMWARE_DUPLICATE(`${input.vendor} ${input.version} already exists as ${dup}`);

      const sha256 = sha256Of(input.image);
      let signature: string | undefined;
      let signingCertificate: string | undefined;
      let signer: 'evguard' | 'imported' | undefined;
      if (importing) {
        await checkSignature(input.image, input.signature!, input.signingCertificate!, deps.roots(), deps.signer.isRevoked);
        [signature, signingCertificate, signer] = [input.signature!.replace(/\s+/g, ''), input.signingCertificate!, 'imported'];
      } else if (input.sign !== false) {
        const cred = await signerFor(deps.signer, input.vendor);
        [signature, signingCertificate, signer] = [await signImage(input.image, cred.key), cred.certificatePem, 'evguard'];
      }
      if (existsSync(blobPath(sha256))) {
        if (isStaged(input.image)) rmSync(input.image.path, { force: true });
      } else if (isStaged(input.image)) {
        renameSync(input.image.path, blobPath(sha256));
      } else {
        const tmp = `${blobPath(sha256)}.${randomUUID()}.tmp`;
        writeFileSync(tmp, input.image, { mode: 0o600 });
        renameSync(tmp, blobPath(sha256));
      }
      const counter = await store.images.lastReleaseCounter(input.vendor);
      const id = randomUUID();
      await store.images.insert({
        id, vendor: input.vendor, models: JSON.stringify(input.models), version: input.version, sha256, length: input.image.length,
        release_counter: counter + 1, signature: signature ?? null, signing_certificate: signingCertificate ?? null,
        signer: signer ?? null, created_at: new Date().toISOString(),
      });
      if (signature) await publishRelease(input.vendor);
      return images.get(id);
    },
    /** Signs an unsigned image with evguard's code-signing certificate, or re-signs after a revocation. */
    async sign(id: string): Promise<FirmwareImage> {
      const img = await images.get(id);
      const cred = await signerFor(deps.signer, img.vendor);
      const signature = await signImage(blobOf(img), cred.key);
      await store.images.setSignature(id, { signature, signing_certificate: cred.certificatePem, signer: 'evguard' });
      await publishRelease(img.vendor);
      return images.get(id);
    },
    async importSignature(id: string, signature: string, signingCertificate: string): Promise<FirmwareImage> {
      const img = await images.get(id);
      if (typeof signature !== 'string' || typeof signingCertificate !== 'string') throw firmwareErrors.FIRMWARE_INVALID('send signature (base64) and signingCertificate (PEM)');
      await checkSignature(blobOf(img), signature, signingCertificate, deps.roots(), deps.signer.isRevoked);
      await store.images.setSignature(id, { signature: signature.replace(/\s+/g, ''), signing_certificate: signingCertificate, signer: 'imported' });
      await publishRelease(img.vendor);
      return images.get(id);
    },
    async get(id: string): Promise<FirmwareImage> {
      if (typeof id !== 'string' || id.length > 64) throw firmwareErrors.FIRMWARE_UNKNOWN();
      const row = await store.images.get(id);
      if (!row) throw firmwareErrors.FIRMWARE_UNKNOWN(`No firmware image ${id}`);
      return fromRow(row);
    },
    async list(filter: { vendor?: string } = {}): Promise<FirmwareImage[]> {
      return (await store.images.list(filter.vendor)).map(fromRow);
    },
  };
  return images;
}

export type Images = ReturnType<typeof createImages>;
