/**
 * `evguard probe-station`: the other direction. Plays a CSMS toward a real
 * station under test and checks whether it validates the CSMS certificate,
 * refuses a security-profile downgrade, refuses unsigned and wrongly signed
 * firmware, and survives malformed CALLs. The station must be pointed at this
 * listener (its CSMS URL); the probe answers its CALLs like a minimal CSMS.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createPrivateKey, createSign, randomBytes, webcrypto } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import * as x509 from '../trust/x509.js';
import { probeErrors } from './errors.js';
import { PROBE_VERSION } from './run.js';
import { SEVERITIES, type CheckResult, type CheckSpec, type OcppVersion, type Outcome, type ProbeReport, type ProgressEvent, type Severity } from './types.js';

export interface StationProbeOptions {
  host: string;
  port: number;
  /** PEM server certificate and key the station trusts; without them the listener is plain ws://. */
  tls?: { cert: string; key: string };
  /** Present a self-signed certificate for another host and only check that the station refuses it. */
  checkCsmsCertificate: boolean;
  /** Host name or address the station uses to reach this listener (firmware URLs). */
  advertise: string;
  /** How long to wait for the station to connect. */
  waitSeconds: number;
  /** How long to watch firmware status after each UpdateFirmware. */
  firmwareWaitSeconds: number;
  timeoutMs: number;
  only?: string[];
  skip?: string[];
  /** Called once the listener is up, with its URL (tests and the CLI print it). */
  onListening?(url: string): void;
}

const BASIS_DOWNGRADE = 'OCPP 2.0.1 Part 2 A05 (upgrade the security profile; a lower profile must not be accepted); OCPP 1.6 Security Whitepaper §2 (no revert to a lower security profile)';
const BASIS_FIRMWARE = 'OCPP 2.0.1 Part 2 L01 (the station verifies the signing certificate against its ManufacturerRootCertificate and the signature before installing); OCPP 1.6 Security Whitepaper §4; ETSI EN 303 645 provision 5.3-9; UK Smart Charge Points Regulations 2021 Sch. 1 (software updates)';

export const STATION_CHECKS: readonly CheckSpec[] = [
  {
    id: 'PST-001',
    title: 'Station accepts an untrusted CSMS certificate',
    severity: 'critical',
    basis: 'OCPP 2.0.1 Part 2 A00 (profiles 2 and 3: the station verifies the CSMS certificate against its CSMSRootCertificate and the host name); OCPP 1.6 Security Whitepaper §2.2',
    description: 'With --check-csms-certificate the listener presents a self-signed certificate for another host; a station that completes the TLS handshake and upgrade does not verify the CSMS.',
    remedy: 'Verify the CSMS certificate chain against the installed CSMS root and the host name; never fall back to an unverified connection.',
  },
  {
    id: 'PST-002',
    title: 'Station accepts a security-profile downgrade',
    severity: 'high',
    basis: BASIS_DOWNGRADE,
    description: '1.6: ChangeConfiguration SecurityProfile one below the current value (restored afterwards). 2.x: SetVariables SecurityCtrlr.SecurityProfile and SetNetworkProfile (in an unused slot) one below the current profile.',
    remedy: 'Refuse any change to a lower security profile (answer Rejected); only upgrades are allowed.',
  },
  {
    id: 'PST-003',
    title: 'Station installs unsigned firmware',
    severity: 'critical',
    basis: BASIS_FIRMWARE,
    description: 'Offers a firmware image without signature or signing certificate (2.x UpdateFirmware; 1.6 plain UpdateFirmware) and watches FirmwareStatusNotification.',
    remedy: 'Install only images whose signature verifies under a signing certificate issued by the manufacturer root; reject the rest and report InvalidSignature.',
  },
  {
    id: 'PST-004',
    title: 'Station accepts firmware signed by an untrusted certificate',
    severity: 'critical',
    basis: BASIS_FIRMWARE,
    description: 'Offers an image correctly signed with a self-signed signing certificate (2.x UpdateFirmware; 1.6 SignedUpdateFirmware) and watches the answer and FirmwareStatusNotification.',
    remedy: 'Check the signing certificate against the ManufacturerRootCertificate before downloading; answer InvalidCertificate and raise InvalidFirmwareSigningCertificate.',
  },
  {
    id: 'PST-005',
    title: 'Station mishandles or dies on malformed CALLs',
    severity: 'high',
    basis: 'OCPP-J RPC framework (OCPP 2.0.1 Part 4 §4.2–4.3; OCPP 1.6J §4.2.3); ETSI EN 303 645 provision 5.13-1 (validate input)',
    description: 'Sends broken JSON, a GetConfiguration / GetVariables with wrong field types and an unknown action, then a valid GetConfiguration / GetVariables.',
    remedy: 'Answer each malformed CALL with a CALLERROR and keep the session working.',
  },
];

interface Session {
  ws: WebSocket;
  stationId: string;
  version: OcppVersion;
  booted: Promise<void>;
  firmware: string[];
  events: string[];
  downloads: string[];
  call(action: string, payload: unknown): Promise<{ result?: any; error?: string; closed?: boolean; timeout?: boolean }>;
  raw(text: string, id?: string): Promise<{ result?: any; error?: string; closed?: boolean; timeout?: boolean }>;
  closed: boolean;
}

async function selfSigned(cn: string, withSan: boolean) {
  x509.cryptoProvider.set(webcrypto as any);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: `CN=${cn}, O=evguard probe`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: alg,
    extensions: withSan ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: cn }])] : [],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  return { cert: cert.toString('pem'), key: createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }).toString() };
}

const VERSION_OF: Record<string, OcppVersion> = { 'ocpp1.6': '1.6', 'ocpp2.0.1': '2.0.1', 'ocpp2.1': '2.1' };

function answerStation(action: string, version: string): unknown {
  const now = new Date().toISOString();
  switch (action) {
    case 'BootNotification':
      return { status: 'Accepted', currentTime: now, interval: 300 };
    case 'Heartbeat':
      return { currentTime: now };
    case 'Authorize':
      return version === '1.6' ? { idTagInfo: { status: 'Invalid' } } : { idTokenInfo: { status: 'Invalid' } };
    case 'StartTransaction':
      return { transactionId: 1, idTagInfo: { status: 'Invalid' } };
    case 'StopTransaction':
      return {};
    case 'SignCertificate':
      return { status: 'Rejected' };
    case 'DataTransfer':
      return { status: 'UnknownVendorId' };
    default:
      return {};
  }
}

export async function runStationProbe(o: StationProbeOptions, onProgress: (e: ProgressEvent) => void = () => undefined): Promise<ProbeReport> {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw probeErrors.PROBE_BAD_OPTIONS('--listen must be a port 0..65535');
  if (o.checkCsmsCertificate && o.tls) throw probeErrors.PROBE_BAD_OPTIONS('--check-csms-certificate brings its own untrusted certificate; drop --tls-cert/--tls-key');
  const known = new Set(STATION_CHECKS.map((c) => c.id));
  for (const id of [...(o.only ?? []), ...(o.skip ?? [])]) if (!known.has(id)) throw probeErrors.PROBE_BAD_OPTIONS(`unknown check ${id}; known: ${[...known].join(', ')}`);
  const tls = o.checkCsmsCertificate ? await selfSigned('untrusted.invalid', true) : o.tls;
  const image = randomBytes(64 * 1024);
  const startedAt = new Date().toISOString();
  const notes: string[] = [];
  let session: Session | undefined;
  let tlsRefusal: string | undefined;
  let arrived!: () => void;
  const arrival = new Promise<void>((r) => (arrived = r));

  const downloads: string[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const m = /^\/fw\/([A-Za-z0-9._-]+\.bin)$/.exec(req.url ?? '');
    if (req.method !== 'GET' || !m) {
      res.writeHead(404).end();
      return;
    }
    downloads.push(m[1]!);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': image.length }).end(image);
  };
  const server: Server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' }, onRequest) : createServer(onRequest);
  server.on('tlsClientError', (err: Error) => {
    tlsRefusal ??= err.message.split('\n')[0]!.slice(0, 200);
    if (o.checkCsmsCertificate) arrived();
  });
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => [...offered].find((p) => VERSION_OF[p]) ?? false, maxPayload: 4 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const id = decodeURIComponent((req.url ?? '/').split('?')[0]!.split('/').pop() ?? '');
    // One station per run; the same station may come back (e.g. after a firmware reboot).
    if (session && (!session.closed || session.stationId !== id)) {
      socket.end('HTTP/1.1 409 Conflict\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const previous = session;
      session = openSession(ws, id, o.timeoutMs, downloads);
      if (previous) {
        session.firmware.push(...previous.firmware);
        session.events.push(...previous.events);
      }
      arrived();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(probeErrors.PROBE_BAD_OPTIONS(`cannot listen on ${o.host}:${o.port}: ${err.message}`)));
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const base = `${tls ? 'https' : 'http'}://${o.advertise}:${port}`;
  o.onListening?.(`${tls ? 'wss' : 'ws'}://${o.advertise}:${port}/ocpp/<stationId>`);

  const results: CheckResult[] = [];
  const selected = STATION_CHECKS.filter((c) => (o.checkCsmsCertificate ? c.id === 'PST-001' : c.id !== 'PST-001') && (!o.only || o.only.includes(c.id)) && !o.skip?.includes(c.id));
  onProgress({ kind: 'start', total: selected.length });
  try {
    const waited = await Promise.race([arrival.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), o.waitSeconds * 1000).unref())]);
    for (const [index, spec] of selected.entries()) {
      onProgress({ kind: 'check', index, total: selected.length, spec });
      const t0 = Date.now();
      let verdict: { outcome: Outcome; evidence: string[] };
      if (!waited) verdict = { outcome: 'error', evidence: [`no station connected within ${o.waitSeconds} s${tlsRefusal ? ` (TLS: ${tlsRefusal})` : ''}`] };
      else if (spec.id === 'PST-001') verdict = session ? { outcome: 'fail', evidence: [`station ${session.stationId} completed the TLS handshake and upgrade against a self-signed certificate for untrusted.invalid`] } : { outcome: 'pass', evidence: [`the station refused the handshake: ${tlsRefusal}`] };
      else {
        try {
          verdict = await runCheck(spec.id, session!, base, image, o);
        } catch (err) {
          verdict = { outcome: 'error', evidence: [`the check failed to run: ${(err as Error).message}`] };
        }
      }
      const result: CheckResult = { id: spec.id, title: spec.title, severity: spec.severity, basis: spec.basis, remedy: spec.remedy, ...verdict, durationMs: Date.now() - t0 };
      results.push(result);
      onProgress({ kind: 'result', index, total: selected.length, result });
    }
  } finally {
    for (const c of wss.clients) c.terminate();
    wss.close();
    server.closeAllConnections?.();
    await new Promise((r) => server.close(r));
  }
  if (!tls) notes.push(session ? 'The listener was plain ws://: the station connected without TLS (security profile 1).' : 'The listener was plain ws:// (no --tls-cert), and no station connected to it.');
  const summary = { pass: 0, fail: 0, skip: 0, error: 0, findingsBySeverity: Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number> };
  for (const r of results) {
    summary[r.outcome]++;
    if (r.outcome === 'fail') summary.findingsBySeverity[r.severity]++;
  }
  return {
    tool: { name: 'evguard-probe-station', version: PROBE_VERSION },
    target: session ? `station ${session.stationId} (OCPP ${session.version})` : `station at ${base}`,
    startedAt,
    finishedAt: new Date().toISOString(),
    serverCertificateVerified: false,
    negotiatedVersion: session ? `ocpp${session.version}` : undefined,
    notes,
    summary,
    results,
  };
}

function openSession(ws: WebSocket, stationId: string, timeoutMs: number, downloads: string[]): Session {
  const version = VERSION_OF[ws.protocol] ?? '2.0.1';
  const pending = new Map<string, (r: { result?: any; error?: string; closed?: boolean }) => void>();
  let bootSeen!: () => void;
  let lastRaw: ((r: { result?: any; error?: string }) => void) | undefined;
  const s: Session = {
    ws,
    stationId,
    version,
    booted: new Promise<void>((r) => (bootSeen = r)),
    firmware: [],
    events: [],
    downloads,
    closed: false,
    call(action, payload) {
      const id = `pst-${randomBytes(6).toString('hex')}`;
      return s.raw(JSON.stringify([2, id, action, payload]), id);
    },
    raw(text: string, id?: string) {
      return new Promise((resolve) => {
        if (s.closed) return resolve({ closed: true });
        const t = setTimeout(() => {
          if (id) pending.delete(id);
          if (lastRaw === done) lastRaw = undefined;
          resolve({ timeout: true });
        }, timeoutMs);
        const done = (r: { result?: any; error?: string; closed?: boolean }) => {
          clearTimeout(t);
          resolve(r);
        };
        if (id) pending.set(id, done);
        else lastRaw = done;
        ws.send(text);
      });
    },
  } as Session;
  ws.on('message', (data) => {
    let frame: any;
    try {
      frame = JSON.parse(String(data));
    } catch {
      return;
    }
    if (!Array.isArray(frame)) return;
    if (frame[0] === 2) {
      const action = String(frame[2]);
      if (action === 'BootNotification') bootSeen();
      if (/FirmwareStatusNotification$/.test(action)) s.firmware.push(String(frame[3]?.status));
      if (action === 'SecurityEventNotification') s.events.push(String(frame[3]?.type));
      ws.send(JSON.stringify([3, frame[1], answerStation(action, version)]));
      return;
    }
    const waiter = pending.get(frame[1]);
    const r = frame[0] === 3 ? { result: frame[2] } : { error: String(frame[2]) };
    if (waiter) {
      pending.delete(frame[1]);
      waiter(r);
    } else if (lastRaw) {
      const w = lastRaw;
      lastRaw = undefined;
      w(r);
    }
  });
  ws.on('error', () => undefined);
  ws.once('close', () => {
    s.closed = true;
    for (const w of pending.values()) w({ closed: true });
    pending.clear();
    lastRaw?.({ closed: true } as any);
  });
  return s;
}

const show = (r: { result?: any; error?: string; closed?: boolean; timeout?: boolean }) =>
  r.closed ? 'connection closed' : r.timeout ? 'no answer' : r.error ? `CALLERROR ${r.error}` : `CALLRESULT ${JSON.stringify(r.result).slice(0, 120)}`;

/** Watches FirmwareStatusNotification after an update request, until a verdict status or the time bound. */
async function watchFirmware(s: Session, from: number, seconds: number): Promise<string[]> {
  const end = Date.now() + seconds * 1000;
  const terminal = /Install(ed|ing|Rebooting|ationFailed|VerificationFailed)|InvalidSignature|InvalidCertificate|RevokedCertificate|DownloadFailed|SignatureVerified/;
  while (Date.now() < end && !s.closed) {
    if (s.firmware.slice(from).some((x) => terminal.test(x))) {
      // Give a verdict status a moment to be followed by Installing/Installed.
      if (s.firmware.slice(from).some((x) => /Installing|Installed|InstallRebooting/.test(x)) || s.firmware.slice(from).some((x) => /Invalid|Revoked|Failed/.test(x))) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return s.firmware.slice(from);
}

function firmwareVerdict(answer: ReturnType<typeof show>, statuses: string[], downloaded: boolean): { outcome: Outcome; evidence: string[] } {
  const evidence = [`answer: ${answer}`, `firmware status: ${statuses.join(' → ') || 'none'}`, `image downloaded: ${downloaded ? 'yes' : 'no'}`];
  if (statuses.some((x) => /Installing|Installed|InstallRebooting|InstallScheduled|SignatureVerified/.test(x))) return { outcome: 'fail', evidence };
  if (/CALLERROR|Rejected|InvalidCertificate|RevokedCertificate/.test(answer) || statuses.some((x) => /Invalid|Revoked|VerificationFailed/.test(x))) return { outcome: 'pass', evidence };
  return { outcome: 'error', evidence: [...evidence, 'no verdict within the firmware wait'] };
}

async function runCheck(id: string, s: Session, base: string, image: Buffer, o: StationProbeOptions): Promise<{ outcome: Outcome; evidence: string[] }> {
  await Promise.race([s.booted, new Promise((r) => setTimeout(r, o.timeoutMs))]);
  if (s.closed) return { outcome: 'error', evidence: ['the station is no longer connected'] };
  const v16 = s.version === '1.6';
  switch (id) {
    case 'PST-002': {
      const evidence: string[] = [];
      let accepted = false;
      if (v16) {
        const got = await s.call('GetConfiguration', { key: ['SecurityProfile'] });
        const current = Number(got.result?.configurationKey?.find((k: any) => k.key === 'SecurityProfile')?.value);
        if (!Number.isInteger(current)) return { outcome: 'skip', evidence: [`the station does not report SecurityProfile (${show(got)}); no 1.6 security extension`] };
        if (current === 0) return { outcome: 'skip', evidence: ['the station is already at profile 0'] };
        const r = await s.call('ChangeConfiguration', { key: 'SecurityProfile', value: String(current - 1) });
        evidence.push(`SecurityProfile ${current} → ${current - 1}: ${show(r)}`);
        accepted = r.result?.status === 'Accepted' || r.result?.status === 'RebootRequired';
        if (accepted) {
          const back = await s.call('ChangeConfiguration', { key: 'SecurityProfile', value: String(current) });
          evidence.push(`restored to ${current}: ${show(back)}`);
        }
      } else {
        const got = await s.call('GetVariables', { getVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' } }] });
        const current = Number(got.result?.getVariableResult?.[0]?.attributeValue);
        const lower = Number.isInteger(current) && current > 0 ? current - 1 : 1;
        evidence.push(`current profile: ${Number.isInteger(current) ? current : `unknown (${show(got)})`}`);
        const setVar = await s.call('SetVariables', { setVariableData: [{ component: { name: 'SecurityCtrlr' }, variable: { name: 'SecurityProfile' }, attributeValue: String(lower) }] });
        const setStatus = setVar.result?.setVariableResult?.[0]?.attributeStatus;
        evidence.push(`SetVariables SecurityCtrlr.SecurityProfile = ${lower}: ${show(setVar)}`);
        accepted ||= setStatus === 'Accepted' || setStatus === 'RebootRequired';
        const profile = await s.call('SetNetworkProfile', {
          configurationSlot: 9,
          connectionData: { ocppVersion: 'OCPP20', ocppTransport: 'JSON', ocppCsmsUrl: 'ws://downgrade.invalid/ocpp', messageTimeout: 30, securityProfile: lower, ocppInterface: 'Wired0' },
        });
        evidence.push(`SetNetworkProfile slot 9 with profile ${lower}: ${show(profile)}`);
        accepted ||= profile.result?.status === 'Accepted';
      }
      return { outcome: accepted ? 'fail' : 'pass', evidence };
    }
    case 'PST-003': {
      const from = s.firmware.length;
      const name = `unsigned-${randomBytes(3).toString('hex')}-9.9.9.bin`;
      const location = `${base}/fw/${name}`;
      const now = new Date().toISOString();
      const r = v16 ? await s.call('UpdateFirmware', { location, retrieveDate: now }) : await s.call('UpdateFirmware', { requestId: 7001, firmware: { location, retrieveDateTime: now } });
      const statuses = r.error || /Rejected/.test(JSON.stringify(r.result ?? '')) ? s.firmware.slice(from) : await watchFirmware(s, from, o.firmwareWaitSeconds);
      return firmwareVerdict(show(r), statuses, s.downloads.includes(name));
    }
    case 'PST-004': {
      const from = s.firmware.length;
      const signer = await selfSigned('Untrusted Firmware Signer', false);
      const signature = createSign('sha256').update(image).sign(signer.key).toString('base64');
      const name = `forged-${randomBytes(3).toString('hex')}-9.9.9.bin`;
      const firmware = { location: `${base}/fw/${name}`, retrieveDateTime: new Date().toISOString(), signingCertificate: signer.cert, signature };
      const r = await s.call(v16 ? 'SignedUpdateFirmware' : 'UpdateFirmware', { requestId: 7002, firmware });
      if (v16 && r.error === 'NotImplemented') return { outcome: 'skip', evidence: ['SignedUpdateFirmware not implemented: no 1.6 security extension (see PST-003)'] };
      const refused = r.error || /Rejected|InvalidCertificate|RevokedCertificate/.test(JSON.stringify(r.result ?? ''));
      const statuses = refused ? s.firmware.slice(from) : await watchFirmware(s, from, o.firmwareWaitSeconds);
      return firmwareVerdict(show(r), statuses, s.downloads.includes(name));
    }
    case 'PST-005': {
      const evidence: string[] = [];
      let bad = false;
      const broken = await s.raw(`[2,"pst-broken","GetConfiguration",{`);
      evidence.push(`broken JSON: ${show(broken)}`);
      // Harmless actions with wrong types, so a lenient station does nothing drastic.
      const wrong = v16 ? await s.call('GetConfiguration', { key: 5 }) : await s.call('GetVariables', { getVariableData: 5 });
      evidence.push(`${v16 ? 'GetConfiguration' : 'GetVariables'} with a number where an array belongs: ${show(wrong)}`);
      bad ||= !wrong.error;
      const unknown = await s.call('ProbeUnknownAction', {});
      evidence.push(`unknown action: ${show(unknown)}`);
      bad ||= !unknown.error;
      const alive = v16 ? await s.call('GetConfiguration', { key: ['HeartbeatInterval'] }) : await s.call('GetVariables', { getVariableData: [{ component: { name: 'OCPPCommCtrlr' }, variable: { name: 'HeartbeatInterval' } }] });
      evidence.push(`valid call afterwards: ${show(alive)}`);
      if (alive.closed || alive.timeout) return { outcome: 'fail', evidence: [...evidence, 'the station no longer answers'] };
      return { outcome: bad ? 'fail' : 'pass', evidence };
    }
  }
  return { outcome: 'skip', evidence: ['unknown check'] };
}
