/**
 * The station certificate lifecycle over OCPP, CSMS side: who may send a CSR
 * (policy), CertificateSigned delivery, renewal before expiry (TriggerMessage
 * SignChargingStationCertificate / SignV2GCertificate in 2.x,
 * ExtendedTriggerMessage SignChargePointCertificate in 1.6), a station's
 * trust store (InstallCertificate, GetInstalledCertificateIds,
 * DeleteCertificate), the inventory of what each station holds, and expiry
 * alerts. Sending goes through the small `StationLink` the core provides and
 * the version adapters of the `commands` port (src/model/commands.ts).
 */
import { randomUUID, X509Certificate as NodeX509 } from 'node:crypto';
import type { Bus } from '../bus/index.js';
import { Topics, type CertificateIssued } from '../bus/events.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import { INSTALLABLE_TYPES, type CommandsFor, type InstallableType, type StationCertificateKind } from '../model/commands.js';
import { trustErrors } from './errors.js';
import { normalizeSerial } from './profiles.js';
import type { CertificateRecord, InstalledCertificate, Renewal, TrustStore } from './store.js';
import type { TrustCore } from './types.js';

type Version = OcppVersion;
export type { StationCertificateKind };

/** What the lifecycle needs from the core: live sessions, the commands port, the registry, security events. */
export interface StationLink {
  session(stationId: string): { version: Version; securityProfile: 1 | 2 | 3 } | undefined;
  /** Ids of the stations with a live session. */
  connectedStations(): string[];
  /** The version adapters, bound to the node's call path (cluster mode routes it). */
  commands: CommandsFor;
  /** The registered security profile; throws the registry's STATION_UNKNOWN for an unknown id. */
  registeredProfile(stationId: string): Promise<1 | 2 | 3>;
  securityEvent(e: { stationId: string; type: string; techInfo?: string; remoteAddress?: string }): void;
}

export interface LifecycleConfig {
  /** Ask a station for a new certificate this many days before its newest one expires. */
  renewBeforeDays: number;
  /** Record a CertificateExpiring security event this many days before a certificate a station holds expires. */
  alertBeforeDays: number;
  /** How often the schedule runs; 0 disables it (on-demand renewal still works). */
  checkIntervalMs: number;
  /** No new scheduled renewal for the same station and type within this time of the last one. */
  retryAfterMs: number;
  /** CSRs a station may have signed per hour; more are Rejected (each one is a stored certificate). */
  maxCsrsPerHour: number;
}

export const DEFAULT_LIFECYCLE: LifecycleConfig = { renewBeforeDays: 30, alertBeforeDays: 14, checkIntervalMs: 3_600_000, retryAfterMs: 6 * 3_600_000, maxCsrsPerHour: 10 };

/** OCPP InstallCertificate types, in 2.x spelling; which a station takes depends on its version (`installableTypes`). */
export { INSTALLABLE_TYPES, type InstallableType };

/**
 * Policy: may this station have a CSR signed? OCPP 2.0.1 A02/A03 and the 1.6
 * security whitepaper tie station certificates to profiles 2 and 3; a profile 1
 * station talks over plain ws:// and has no business holding one.
 */
export function csrRefusal(registeredProfile: number, session: { version: Version; securityProfile: number }, certificateType: string, features: { v2gCertificates: boolean }): string | undefined {
  if (registeredProfile !== 2 && registeredProfile !== 3) return `the station is registered for security profile ${registeredProfile}; certificates are signed for profiles 2 and 3 only`;
  if (session.securityProfile < 2) return 'the CSR did not arrive over TLS';
  if (certificateType !== 'ChargingStationCertificate' && certificateType !== 'V2GCertificate') return `unknown certificate type ${certificateType.slice(0, 40)}`;
  if (certificateType === 'V2GCertificate' && !features.v2gCertificates) return `V2G certificates are not requested over OCPP ${session.version}`;
  return undefined;
}

export interface InventoryEntry extends InstalledCertificate {
  /** Set when the certificate is one evguard issued or one of its CAs. */
  known?: { name: string; notAfter: string; revoked: boolean; expiresInDays: number };
}

export interface StationInventory {
  stationId: string;
  /** Station certificates evguard issued to this station, newest first, with their state. */
  issued: (CertificateRecord & { state: 'valid' | 'expired' | 'revoked' | 'superseded'; expiresInDays: number })[];
  /** What the station reported in its last GetInstalledCertificateIds answers. */
  installed: InventoryEntry[];
  renewals: Renewal[];
  /** Certificates in `issued` (current ones) or `installed` expiring within the alert window. */
  expiring: { serialHex: string; source: 'issued' | 'installed'; notAfter: string; expiresInDays: number }[];
}

export type CertificateLifecycle = ReturnType<typeof createCertificateLifecycle>;

export function createCertificateLifecycle(deps: { trust: TrustCore; store: TrustStore; bus: Bus; link: StationLink; now: () => Date; log?: { warn(...a: any[]): void } }, config: LifecycleConfig) {
  const { trust, store, link, now } = deps;
  const alerted = new Set<string>();
  const lastScheduled = new Map<string, number>();
  const csrTimes = new Map<string, number[]>();
  const DAY = 86_400_000;
  const daysLeft = (notAfter: string) => Math.floor((Date.parse(notAfter) - now().getTime()) / DAY);

  // A certificate issued to a station closes the renewal that asked for it.
  const unsubscribe = deps.bus.subscribe(Topics.certificateIssued, (event) => {
    const d: Partial<CertificateIssued> | undefined = event.data;
    if (!d?.stationId || !d.serialHex) return;
    void store.listRenewals(d.stationId, 10).then(async (list) => {
      const open = list.find((r) => r.state === 'requested' && r.certificateType === (d.certificateType ?? 'ChargingStationCertificate'));
      if (open) await store.completeRenewal(open.id, d.serialHex!, now().toISOString());
    }).catch((err) => deps.log?.warn({ err }, 'renewal not updated'));
  });

  async function signCertificate(ctx: { stationId: string; version: Version; securityProfile: 1 | 2 | 3; remoteAddress: string }, req: { csr: string; certificateType?: string }): Promise<'Accepted' | 'Rejected'> {
    const certificateType = req.certificateType ?? 'ChargingStationCertificate';
    const profile = await link.registeredProfile(ctx.stationId).catch(() => 0);
    const refusal = csrRefusal(profile, ctx, certificateType, link.commands(ctx.version).features) ?? csrFlood(ctx.stationId);
    if (refusal) {
      link.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'CsrRejected', techInfo: refusal });
      return 'Rejected';
    }
    // OCPP A02: Accepted means "will be processed"; the signed chain follows in CertificateSigned.
    setImmediate(() => void deliver(ctx, req.csr, certificateType as StationCertificateKind));
    return 'Accepted';
  }

  /** A station asking for certificate after certificate fills the store: a sliding hour per station. */
  function csrFlood(stationId: string): string | undefined {
    const t = now().getTime();
    const recent = (csrTimes.get(stationId) ?? []).filter((at) => t - at < 3_600_000);
    if (recent.length >= config.maxCsrsPerHour) return `more than ${config.maxCsrsPerHour} CSRs within an hour`;
    recent.push(t);
    if (csrTimes.size > 100_000) csrTimes.clear();
    csrTimes.set(stationId, recent);
    return undefined;
  }

  async function deliver(ctx: { stationId: string; version: Version; remoteAddress: string }, csr: string, certificateType: StationCertificateKind) {
    try {
      const signed = await trust.signStationCsr({ csrPem: csr, stationId: ctx.stationId, certificateType });
      const res = await link.commands(ctx.version).certificateSigned(ctx.stationId, signed.certificateChainPem, certificateType);
      if (res?.status !== 'Accepted') link.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'CertificateSignedRejected', techInfo: `the station answered ${String(res?.status).slice(0, 20)} for certificate ${signed.serialHex}` });
    } catch (err) {
      link.securityEvent({ stationId: ctx.stationId, remoteAddress: ctx.remoteAddress, type: 'CsrRejected', techInfo: (err as Error).message.slice(0, 200) });
    }
  }

  function liveSession(stationId: string) {
    const s = link.session(stationId);
    if (!s) throw trustErrors.STATION_NOT_CONNECTED(`station ${stationId} has no live OCPP session`);
    return s;
  }

  async function renew(stationId: string, opts: { certificateType?: unknown; reason?: 'scheduled' | 'operator'; expiringSerial?: string } = {}): Promise<Renewal> {
    const certificateType = opts.certificateType ?? 'ChargingStationCertificate';
    if (certificateType !== 'ChargingStationCertificate' && certificateType !== 'V2GCertificate') {
      throw trustErrors.CERTIFICATE_TYPE_UNSUPPORTED('certificateType must be ChargingStationCertificate or V2GCertificate');
    }
    const profile = await link.registeredProfile(stationId);
    if (profile < 2) throw trustErrors.CERTIFICATE_TYPE_UNSUPPORTED(`station ${stationId} is registered for security profile 1 and holds no station certificate`);
    const session = liveSession(stationId);
    const commands = link.commands(session.version);
    if (certificateType === 'V2GCertificate' && !commands.features.v2gCertificates) throw trustErrors.CERTIFICATE_TYPE_UNSUPPORTED(`V2G certificates are not renewed over OCPP ${session.version}`);
    const renewal: Renewal = {
      id: randomUUID(), stationId, certificateType, reason: opts.reason ?? 'operator', state: 'requested', requestedAt: now().toISOString(),
      expiringSerial: opts.expiringSerial ?? newestIssued(stationId, certificateType)?.serialHex,
    };
    // Saved before the call: the CSR (and the issued certificate) may come back before the answer is processed.
    await store.saveRenewal(renewal);
    try {
      const res = await commands.requestCsr(stationId, certificateType);
      renewal.stationStatus = String(res?.status ?? '').slice(0, 40);
      if (res?.status !== 'Accepted') renewal.state = 'refused';
    } catch (err) {
      renewal.state = 'failed';
      renewal.stationStatus = (err as { code?: string }).code ?? 'error';
    }
    await store.recordRenewalAnswer(renewal.id, renewal.stationStatus ?? '', renewal.state);
    return (await store.listRenewals(stationId, 50)).find((r) => r.id === renewal.id) ?? renewal;
  }

  function newestIssued(stationId: string, certificateType: StationCertificateKind): CertificateRecord | undefined {
    const kind = certificateType === 'V2GCertificate' ? 'secc' : 'station';
    return trust.listCertificates({ stationId }).filter((r) => r.kind === kind).at(-1);
  }

  /** Asks the station for its installed certificates and stores the answer. */
  async function queryInstalled(stationId: string): Promise<InventoryEntry[]> {
    await link.registeredProfile(stationId);
    const session = liveSession(stationId);
    const entries = await link.commands(session.version).installedCertificates(stationId);
    await trust.recordInstalledCertificates(stationId, entries);
    return (await inventory(stationId)).installed;
  }

  function parseCertificate(pem: unknown): NodeX509 {
    if (typeof pem !== 'string' || pem.length > 5500 || (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length !== 1) {
      throw trustErrors.CERTIFICATE_INPUT_INVALID('certificate must be one PEM certificate of at most 5500 characters');
    }
    try {
      return new NodeX509(pem);
    } catch (err) {
      throw trustErrors.CERTIFICATE_INPUT_INVALID('certificate cannot be parsed as X.509', { cause: err });
    }
  }

  /** InstallCertificate; without `certificate`, evguard's own root of that type is installed. */
  async function install(stationId: string, input: { certificateType?: unknown; certificate?: unknown }): Promise<{ status: string }> {
    const type = input.certificateType as InstallableType;
    if (!INSTALLABLE_TYPES.includes(type)) throw trustErrors.CERTIFICATE_TYPE_UNSUPPORTED(`certificateType must be one of ${INSTALLABLE_TYPES.join(', ')}`);
    await link.registeredProfile(stationId);
    const session = liveSession(stationId);
    let pem: string;
    if (input.certificate === undefined) {
      if (type === 'OEMRootCertificate') throw trustErrors.CERTIFICATE_INPUT_INVALID('give the OEM root as certificate');
      pem = trust.rootCertificatePem(type);
    } else {
      const cert = parseCertificate(input.certificate);
      // OCPP M05: InstallCertificate carries root certificates; a leaf or an expired certificate has no place in a trust store.
      if (!cert.ca || !cert.checkIssued(cert)) throw trustErrors.CERTIFICATE_INPUT_INVALID('only self-signed CA (root) certificates can be installed');
      if (Date.parse(cert.validTo) < now().getTime()) throw trustErrors.CERTIFICATE_INPUT_INVALID('the certificate has expired');
      pem = input.certificate as string;
    }
    const commands = link.commands(session.version);
    if (!commands.installableTypes.includes(type)) throw trustErrors.CERTIFICATE_TYPE_UNSUPPORTED(`OCPP ${session.version} has no ${type}`);
    const res = await commands.installCertificate(stationId, type, pem);
    const status = String(res?.status ?? '');
    if (status === 'Accepted') await queryInstalled(stationId).catch((err) => deps.log?.warn({ err }, 'inventory not refreshed'));
    return { status };
  }

  /** DeleteCertificate by serial, using the hash data the station itself reported. */
  async function remove(stationId: string, serial: unknown, opts: { force?: boolean } = {}): Promise<{ status: string }> {
    const serialHex = normalizeSerial(serial);
    if (!serialHex) throw trustErrors.SERIAL_INVALID();
    await link.registeredProfile(stationId);
    const session = liveSession(stationId);
    const installed = await store.listInstalled(stationId);
    const entry = installed.find((e) => e.serialHex === serialHex);
    if (!entry) throw trustErrors.CERTIFICATE_UNKNOWN(`station ${stationId} reported no installed certificate ${serialHex}; query it first`);
    // Deleting the last CSMS root leaves a TLS station unable to reach us again.
    if (entry.certificateType === 'CSMSRootCertificate' && !opts.force && installed.filter((e) => e.certificateType === 'CSMSRootCertificate').length === 1) {
      throw trustErrors.CERTIFICATE_LAST_ROOT('this is the station\'s only CSMS root certificate; install another first, or pass force');
    }
    const res = await link.commands(session.version).deleteCertificate(stationId, { hashAlgorithm: entry.hashAlgorithm, issuerNameHash: entry.issuerNameHash, issuerKeyHash: entry.issuerKeyHash, serialNumber: entry.serialHex });
    const status = String(res?.status ?? '');
    if (status === 'Accepted' || status === 'NotFound') await store.removeInstalled(stationId, serialHex);
    return { status };
  }

  /** What we know of a serial: one of our CA certificates, or a certificate issued here. */
  function knownCertificates(): (serialHex: string) => { name: string; notAfter: string; revoked: boolean } | undefined {
    const cas = new Map<string, { name: string; notAfter: string; revoked: boolean }>();
    for (const ca of trust.listCas()) {
      if (!ca.pem) continue;
      try {
        const serial = normalizeSerial(new NodeX509(ca.pem).serialNumber);
        if (serial) cas.set(serial, { name: ca.name, notAfter: ca.notAfter, revoked: trust.isRevoked(serial) });
      } catch {
        // an unparsable CA certificate is reported by `evguard pki list`, not here
      }
    }
    return (serialHex) => {
      const ca = cas.get(serialHex);
      if (ca) return ca;
      const r = trust.findCertificate(serialHex);
      return r && { name: `${r.kind}:${r.commonName}`, notAfter: r.notAfter, revoked: !!r.revokedAt };
    };
  }

  async function inventory(stationId: string): Promise<StationInventory> {
    await link.registeredProfile(stationId);
    const t = now().getTime();
    const alertLimit = t + config.alertBeforeDays * DAY;
    const records = trust.listCertificates({ stationId }).filter((r) => r.kind === 'station' || r.kind === 'secc');
    const newest = new Map<string, string>();
    for (const r of records) if (!r.revokedAt) newest.set(r.kind, r.serialHex);
    const issued = records.reverse().map((r) => ({
      ...r,
      state: r.revokedAt ? 'revoked' as const : Date.parse(r.notAfter) < t ? 'expired' as const : newest.get(r.kind) === r.serialHex ? 'valid' as const : 'superseded' as const,
      expiresInDays: daysLeft(r.notAfter),
    }));
    const known = knownCertificates();
    const installed: InventoryEntry[] = (await store.listInstalled(stationId)).map((e) => {
      const k = known(e.serialHex);
      return k ? { ...e, known: { ...k, expiresInDays: daysLeft(k.notAfter) } } : e;
    });
    const expiring: StationInventory['expiring'] = [];
    for (const r of issued) if (r.state === 'valid' && Date.parse(r.notAfter) <= alertLimit) expiring.push({ serialHex: r.serialHex, source: 'issued', notAfter: r.notAfter, expiresInDays: r.expiresInDays });
    for (const e of installed) if (e.known && Date.parse(e.known.notAfter) <= alertLimit) expiring.push({ serialHex: e.serialHex, source: 'installed', notAfter: e.known.notAfter, expiresInDays: e.known.expiresInDays });
    return { stationId, issued, installed, renewals: await store.listRenewals(stationId), expiring };
  }

  /**
   * One pass of the schedule: renew every connected station whose newest
   * certificate expires within renewBeforeDays, and raise an expiry alert
   * (once per certificate) for what expires within alertBeforeDays.
   */
  async function runSchedule(): Promise<{ renewals: Renewal[]; alerts: number }> {
    const renewals: Renewal[] = [];
    const t = now().getTime();
    for (const r of trust.expiringStationCertificates(config.renewBeforeDays)) {
      const stationId = r.stationId!;
      const certificateType: StationCertificateKind = r.kind === 'secc' ? 'V2GCertificate' : 'ChargingStationCertificate';
      const session = link.session(stationId);
      if (!session || (certificateType === 'V2GCertificate' && !link.commands(session.version).features.v2gCertificates)) continue;
      const key = `${stationId}\u0000${certificateType}`;
      if (t - (lastScheduled.get(key) ?? -Infinity) < config.retryAfterMs) continue;
      lastScheduled.set(key, t);
      try {
        renewals.push(await renew(stationId, { certificateType, reason: 'scheduled', expiringSerial: r.serialHex }));
      } catch (err) {
        deps.log?.warn({ err, stationId }, 'scheduled certificate renewal failed');
      }
    }
    let alerts = 0;
    const alert = (stationId: string, serialHex: string, what: string, notAfter: string) => {
      const key = `${stationId}\u0000${serialHex}`;
      if (alerted.has(key)) return;
      if (alerted.size > 100_000) alerted.clear();
      alerted.add(key);
      alerts++;
      link.securityEvent({ stationId, type: 'CertificateExpiring', techInfo: `${what} ${serialHex} expires ${notAfter} (${daysLeft(notAfter)} days)` });
    };
    for (const r of trust.publishExpiryAlerts(config.alertBeforeDays)) alert(r.stationId!, r.serialHex, r.kind === 'secc' ? 'V2G certificate' : 'station certificate', r.notAfter);
    const known = knownCertificates();
    const limit = t + config.alertBeforeDays * DAY;
    for (const stationId of link.connectedStations()) {
      for (const e of await store.listInstalled(stationId)) {
        const k = known(e.serialHex);
        if (k && Date.parse(k.notAfter) <= limit) alert(stationId, e.serialHex, `installed ${e.certificateType} (${k.name})`, k.notAfter);
      }
    }
    return { renewals, alerts };
  }

  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;
  const tick = () => {
    if (running) return;
    running = runSchedule().catch((err) => deps.log?.warn({ err }, 'certificate schedule failed')).finally(() => (running = undefined));
  };
  if (config.checkIntervalMs > 0) timer = setInterval(tick, config.checkIntervalMs).unref();

  return {
    signCertificate,
    renew,
    queryInstalled,
    install,
    remove,
    inventory,
    runSchedule,
    async close() {
      clearInterval(timer);
      unsubscribe();
      await running;
    },
  };
}
