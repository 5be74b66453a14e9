/**
 * The simulated station's firmware updater, as a Linux-class station runs it:
 * download over HTTPS, check the signing certificate (issued directly by a
 * trusted manufacturer root, valid, not on the root's CRL), check the OCPP
 * signature over the image, verify the Uptane-style release metadata with
 * tuf-js (director and image repository agree, hardware id, no downgrade),
 * then install at the requested time and reboot into the new version.
 * Every step is reported with the version's FirmwareStatusNotification.
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { BaseFetcher, Updater } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { X509Certificate as PeculiarCertificate, X509Crl } from '../trust/x509.js';
import { compareVersions } from '../model/firmware-version.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { IncomingHandler, SimFirmwareOptions } from './types.js';


/** What the updater needs from the station. */
export interface FirmwareHost {
  readonly id: string;
  readonly ocppVersion: OcppVersion;
  readonly model: string;
  readonly firmwareVersion: string;
  readonly firmwareOptions?: SimFirmwareOptions;
  afterReply(task: () => Promise<unknown>): void;
  call(action: string, payload: unknown): Promise<unknown>;
  securityEvent(type: string, techInfo?: string): Promise<void>;
  installedCertificates(): { certificateType: string; pem: string }[];
  /** Reboots with BootNotification reason FirmwareUpdate, reporting `version`. */
  rebootInto(version: string): Promise<void>;
  /** The station's 'failure' event carries why a step failed (OCPP's status has no room for it). */
  emit(event: 'failure', detail: { action: string; error: unknown }): boolean;
}

export class FirmwareRefused extends Error {
  constructor(readonly status: string, message: string) {
    super(message);
  }
}

/** Fetches over HTTPS only, trusting the given CAs; a non-2xx answer is a tuf-js DownloadHTTPError. */
export class HttpsFetcher extends BaseFetcher {
  constructor(private readonly ca?: string | string[]) {
    super();
  }
  fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    return new Promise((resolve, reject) => {
      if (!url.startsWith('https://')) return reject(new DownloadHTTPError('only https:// is allowed', 403));
      const req = request(url, { ca: this.ca, timeout: 30_000 }, (res) => {
        if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
          res.resume();
          return reject(new DownloadHTTPError(`HTTP ${res.statusCode}`, res.statusCode ?? 500));
        }
        resolve(Readable.toWeb(res) as ReadableStream<Uint8Array<ArrayBuffer>>);
      });
      req.on('timeout', () => req.destroy(new Error('download timed out')));
      req.on('error', reject);
      req.end();
    });
  }
}

export interface ReleaseCheck {
  /** The location the image came from: <base>/image/<targetPath>; metadata lives at <base>/director and <base>/repo. */
  location: string;
  image: Buffer;
  stationId: string;
  hardwareId: string;
  runningVersion: string;
  /** Highest release counter installed so far. */
  releaseCounter: number;
  /** The UpdateFirmware request being served: the director target must name it. */
  requestId?: number;
  fetcher: BaseFetcher;
  /** Persistent metadata cache: tuf-js refuses metadata older than what it saw before (replay). */
  cacheDir: string;
  roots: { imageRoot: object; directorRoot: object };
}

/** Uptane-style check with tuf-js; throws FirmwareRefused('InstallVerificationFailed', why). */
export async function verifyRelease(c: ReleaseCheck): Promise<{ version: string; releaseCounter: number }> {
  const at = c.location.lastIndexOf('/image/');
  if (at < 0) throw new FirmwareRefused('InstallVerificationFailed', 'location has no release metadata next to it');
  const base = c.location.slice(0, at);
  const targetPath = decodeURIComponent(c.location.slice(at + 7));
  const open = async (name: 'director' | 'repo', root: object) => {
    const dir = path.join(c.cacheDir, name);
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(path.join(dir, 'root.json'), JSON.stringify(root), { flag: 'wx' });
    } catch {
      // Already initialised: keep the newest trusted metadata.
    }
    const updater = new Updater({ metadataDir: dir, metadataBaseUrl: `${base}/${name}`, fetcher: c.fetcher });
    await updater.refresh();
    return updater.getTargetInfo(targetPath);
  };
  const refuse = (why: string): never => {
    throw new FirmwareRefused('InstallVerificationFailed', why);
  };
  let director, image;
  try {
    director = await open('director', c.roots.directorRoot);
    image = await open('repo', c.roots.imageRoot);
  } catch (err) {
    refuse(`release metadata refused: ${(err as Error).name}: ${(err as Error).message}`);
  }
  if (!director) return refuse('the director does not name this image for this station');
  if (!image) return refuse('the image repository does not list this image');
  if (director.hashes.sha256 !== image.hashes.sha256 || director.length !== image.length) refuse('director and image repository disagree on the image');
  try {
    await image.verify(Readable.from([c.image]));
  } catch (err) {
    refuse(`downloaded image does not match its release metadata: ${(err as Error).message}`);
  }
  const d = director.custom as Record<string, unknown>;
  const i = image.custom as Record<string, unknown>;
  if (d.stationId !== c.stationId) refuse('director metadata is for another station');
  if (c.requestId !== undefined && d.requestId !== undefined && d.requestId !== c.requestId) refuse('director metadata is for another update request');
  const hardwareIds = Array.isArray(i.hardwareIds) ? (i.hardwareIds as unknown[]) : [];
  if (d.hardwareId !== c.hardwareId || !hardwareIds.includes(c.hardwareId)) refuse(`image is for hardware ${String(hardwareIds)}, this station is ${c.hardwareId}`);
  const version = String(i.version);
  const counter = Number(i.releaseCounter);
  if (!d.allowDowngrade && (compareVersions(version, c.runningVersion) < 0 || counter < c.releaseCounter)) refuse(`rollback refused: running ${c.runningVersion}, offered ${version}`);
  return { version, releaseCounter: counter };
}

function download(url: string, ca: string | string[] | undefined, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (!url.startsWith('https://')) return reject(new Error('refusing a firmware location that is not https://'));
    const req = request(url, { ca, timeout: 30_000 }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        return reject(new Error(`HTTP ${res.statusCode}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size > maxBytes) req.destroy(new Error('image too large'));
        else chunks.push(b);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('download timed out')));
    req.on('error', reject);
    req.end();
  });
}

async function revoked(cert: X509Certificate, root: X509Certificate, crlUrl: string, ca: string | string[] | undefined): Promise<boolean> {
  const der = await download(crlUrl, ca, 10 * 1024 * 1024);
  const crl = new X509Crl(der);
  if (!(await crl.verify({ publicKey: new PeculiarCertificate(root.raw) }))) throw new Error('the CRL signature does not verify');
  const serial = cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
  return crl.entries.some((e) => e.serialNumber.toLowerCase().replace(/^0+(?=.)/, '') === serial);
}

/** Registers UpdateFirmware / SignedUpdateFirmware handlers that run the updater. */
export function installFirmwareHandlers(host: FirmwareHost, table: Map<string, IncomingHandler>): void {
  const opts = (): SimFirmwareOptions => host.firmwareOptions ?? {};
  let cacheDir: string | undefined;
  let releaseCounter = 0;
  const v16 = host.ocppVersion === '1.6';

  const report = (signed: boolean, requestId: number | undefined, status: string) =>
    signed ? host.call(v16 ? 'SignedFirmwareStatusNotification' : 'FirmwareStatusNotification', { status, requestId }) : host.call('FirmwareStatusNotification', { status });

  /** Checks the signing certificate before answering: the answer carries InvalidCertificate / RevokedCertificate. */
  async function checkCertificate(pem: unknown): Promise<{ cert?: X509Certificate; refusal?: string }> {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(String(pem));
    } catch {
      return { refusal: 'InvalidCertificate' };
    }
    const roots = [...(opts().manufacturerRoots ?? []), ...host.installedCertificates().filter((c) => c.certificateType === 'ManufacturerRootCertificate').map((c) => c.pem)];
    const root = roots.map((p) => new X509Certificate(p)).find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
    const now = Date.now();
    if (!root || Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) return { refusal: 'InvalidCertificate' };
    if (opts().crlUrl) {
      try {
        if (await revoked(cert, root, opts().crlUrl!, opts().ca)) return { refusal: 'RevokedCertificate' };
      } catch {
        // Revocation status unknown: refuse rather than install on hope.
        return { refusal: 'InvalidCertificate' };
      }
    }
    return { cert };
  }

  async function run(p: { location: string; signed: boolean; requestId?: number; cert?: X509Certificate; signature?: string; installAt?: string }) {
    const status = (s: string) => report(p.signed, p.requestId, s);
    await status('Downloading');
    let image: Buffer;
    try {
      image = await download(p.location, opts().ca, opts().maxBytes ?? 64 * 1024 * 1024);
    } catch (err) {
      // The status says only DownloadFailed; the cause (a CA the station lacks, HTTP 403, …) goes to whoever runs the station.
      const cause = err as Error & { code?: string };
      host.emit('failure', { action: 'FirmwareDownload', error: Object.assign(new Error(`firmware download failed: ${cause.message}`), { code: `FIRMWARE_DOWNLOAD_FAILED${cause.code ? ` (${cause.code})` : ''}`, cause }) });
      return status('DownloadFailed');
    }
    await status('Downloaded');
    if (p.signed) {
      const sig = Buffer.from(p.signature ?? '', 'base64');
      let ok = false;
      try {
        ok = sig.length > 0 && verifySignature('sha256', image, p.cert!.publicKey, sig);
      } catch {
        ok = false;
      }
      if (!ok) {
        await status('InvalidSignature');
        return host.securityEvent('InvalidFirmwareSignature', 'firmware signature does not verify over the downloaded image');
      }
      await status('SignatureVerified');
    }
    // Without release metadata the new version can only be read from the file name (<hash>-<version>.bin).
    let version = /-([0-9A-Za-z._+-]+)\.bin$/.exec(decodeURIComponent(new URL(p.location).pathname))?.[1] ?? `${host.firmwareVersion}+1`;
    const roots = opts().tuf;
    if (roots) {
      cacheDir ??= mkdtempSync(path.join(tmpdir(), `evguard-sim-tuf-${host.id.replace(/[^A-Za-z0-9_-]/g, '_')}-`));
      try {
        const r = await verifyRelease({ location: p.location, image, stationId: host.id, hardwareId: host.model, runningVersion: host.firmwareVersion, releaseCounter, requestId: p.requestId, fetcher: new HttpsFetcher(opts().ca), cacheDir, roots });
        version = r.version;
        releaseCounter = Math.max(releaseCounter, r.releaseCounter);
      } catch (err) {
        const why = err instanceof FirmwareRefused ? err.message : String(err);
        await status('InstallVerificationFailed');
        return host.securityEvent('InvalidFirmwareSignature', why.slice(0, 255));
      }
    }
    const wait = p.installAt ? Date.parse(p.installAt) - Date.now() : 0;
    if (wait > 0) {
      if (p.signed) await status('InstallScheduled');
      await new Promise((r) => setTimeout(r, wait));
    }
    await status('Installing');
    if (opts().failInstall) return status('InstallationFailed');
    if (p.signed) await status('InstallRebooting');
    await host.rebootInto(version);
    await status('Installed');
  }

  const signedHandler: IncomingHandler = async ({ requestId, firmware }) => {
    if (!firmware?.signingCertificate || !firmware?.signature) return { status: 'Rejected' };
    const { cert, refusal } = await checkCertificate(firmware.signingCertificate);
    if (refusal) {
      host.afterReply(() => host.securityEvent('InvalidFirmwareSigningCertificate', `signing certificate refused: ${refusal}`));
      return { status: refusal };
    }
    host.afterReply(() => run({ location: firmware.location, signed: true, requestId, cert, signature: firmware.signature, installAt: firmware.installDateTime }));
    return { status: 'Accepted' };
  };

  if (!v16) {
    table.set('UpdateFirmware', signedHandler);
    return;
  }
  if (opts().securityExtension !== false) table.set('SignedUpdateFirmware', signedHandler);
  // Plain 1.6 UpdateFirmware: no signature to check; retrieveDate is when to fetch and install.
  table.set('UpdateFirmware', ({ location, retrieveDate }) => {
    host.afterReply(() => run({ location, signed: false, installAt: retrieveDate }));
    return {};
  });
}
