/**
 * Before a campaign starts, evguard verifies the release the way a station
 * will: a tuf-js client, trusting the image repository's first root, walks
 * root → timestamp → snapshot → targets, and the stored image must match the
 * target's length and SHA-256 and name the expected version.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { firmwareErrors } from './errors.js';
import type { FirmwareImage } from './images.js';
import type { TufRepositories } from './tuf.js';

/** Reads metadata straight from the store: the same bytes the HTTPS routes serve. */
class StoreFetcher extends BaseFetcher {
  constructor(private readonly tuf: TufRepositories, private readonly repo: string) {
    super();
  }
  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const json = await this.tuf.file(this.repo, url.slice(url.lastIndexOf('/') + 1));
    if (json === undefined) throw new DownloadHTTPError('not found', 404);
    return Readable.toWeb(Readable.from([Buffer.from(json)])) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

export async function verifyRelease(tuf: TufRepositories, repo: string, img: FirmwareImage, image: Buffer): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'evguard-tuf-'));
  try {
    const root1 = await tuf.root(repo, 1);
    if (!root1) throw firmwareErrors.FIRMWARE_RELEASE_INVALID(`no image repository for ${img.vendor}`);
    writeFileSync(path.join(dir, 'root.json'), root1);
    const updater = new Updater({ metadataDir: dir, metadataBaseUrl: 'store://metadata', fetcher: new StoreFetcher(tuf, repo) });
    let target;
    try {
      await updater.refresh();
      target = await updater.getTargetInfo(img.targetPath);
    } catch (err) {
      throw firmwareErrors.FIRMWARE_RELEASE_INVALID(`image repository metadata does not verify: ${(err as Error).message}`, { cause: err });
    }
    if (!target) throw firmwareErrors.FIRMWARE_RELEASE_INVALID(`${img.targetPath} is not in the ${img.vendor} image repository`);
    try {
      await target.verify(Readable.from([image]));
    } catch (err) {
      throw firmwareErrors.FIRMWARE_RELEASE_INVALID(`the stored image does not match its release metadata: ${(err as Error).message}`, { cause: err });
    }
    if (target.custom.version !== img.version) throw firmwareErrors.FIRMWARE_RELEASE_INVALID('the release metadata names another version');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
