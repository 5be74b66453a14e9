/**
 * The trust module: evguard's certificate authorities (CSMS, ISO 15118 V2G,
 * OEM and MO hierarchies, firmware code signing), station certificate
 * issuance and checking, revocation (CRL and OCSP) and Plug & Charge
 * contract certificates. See docs/trust.md.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { Certificate as AsnCertificate } from '@peculiar/asn1-x509';
import * as x509 from './x509.js';
import type { JsonName } from './x509.js';
import type { Bus } from '../bus/index.js';
import { Topics } from '../bus/events.js';
import { onChange, publishChange, type CertificateRevoked } from '../bus/changes.js';
import type { Database } from '../store/index.js';
import { createAuthority } from './authority.js';
import { createContracts } from './contracts.js';
import { trustErrors } from './errors.js';
import { createKeyVault, resolvePassphrase } from './keys.js';
import { CA_PROFILES, isValidPcid, LEAF_PROFILES, normalizeEmaid, normalizeSerial, type CurveName } from './profiles.js';
import { createRevocation, REVOCATION_REASONS, type RevocationReason } from './revocation.js';
import { createCertificateLifecycle, DEFAULT_LIFECYCLE, type CertificateLifecycle, type LifecycleConfig, type StationLink } from './lifecycle.js';
import { ensureServiceCredential, readOperatorServerCredential, serverSan, type ServiceCredential } from './service.js';
import { checkStationClientCertificate, signStationCsr, type ClientCertificateCheck, type StationCertificateType } from './station.js';
import { createTrustStore, type CertificateRecord, type InstalledCertificate } from './store.js';
import { createTicketKeys, type TicketKeys } from './tickets.js';

export { trustErrors } from './errors.js';
export { trustMigrations } from './store.js';
export { encryptContractKey } from './contracts.js';
export { csrRefusal, DEFAULT_LIFECYCLE, INSTALLABLE_TYPES } from './lifecycle.js';
export type { CertificateLifecycle, LifecycleConfig, StationLink, StationInventory, InventoryEntry } from './lifecycle.js';
export type { Renewal } from './store.js';
export { CA_PROFILES, LEAF_PROFILES, REVOCATION_REASONS };
export type { CertificateRecord, InstalledCertificate, ClientCertificateCheck, StationCertificateType, RevocationReason };
import type { CaSummary, TrustCore } from './types.js';
export type { CaSummary, TrustCore };
export type { AuthorizeCertificateStatus, ContractAuthorization, Get15118EVCertificateResult, GetCertificateStatusResult, OcspRequestData } from './contracts.js';

export interface TrustConfig {
  dataDir: string;
  /** O= that station certificates must carry. */
  organization: string;
  /** Extra server certificate SANs beside localhost, 127.0.0.1 and ::1. */
  hostnames: string[];
  /** From EVGUARD_KEY_PASSPHRASE; without it a master key is generated into <dataDir>/keys/master.key. */
  keyPassphrase?: string;
  serverCertFile?: string;
  serverKeyFile?: string;
  /** Base URL relying parties reach this node at; when set, issued certificates carry CRL and OCSP locations. */
  publicUrl?: string;
  /** Curve of the ISO 15118 hierarchies: P-256 (ISO 15118-2, default) or P-521 (ISO 15118-20). */
  iso15118Curve?: CurveName;
  /** Assign an EMAID to an unknown PCID on Get15118EVCertificate instead of refusing it (demo and test networks). */
  autoProvisionContracts?: boolean;
  /** First five characters of generated EMAIDs: country and provider id. */
  emaidPrefix?: string;
  now?: () => Date;
}

/** The trust module's API: its core (types.ts) and the certificate lifecycle over a station link. */
export interface Trust extends TrustCore {
  /** The OCPP certificate lifecycle (CSR policy, renewal, trust store, inventory, expiry alerts) over the core's station link. */
  certificateLifecycle(link: StationLink, config?: Partial<LifecycleConfig>): CertificateLifecycle;
}


export async function createTrust(deps: { db: Database; bus: Bus; log?: { info(...a: any[]): void; warn(...a: any[]): void } }, config: TrustConfig): Promise<Trust> {
  const now = config.now ?? (() => new Date());
  const warn = (msg: string) => deps.log?.warn({ module: 'trust' }, msg);
  const passphrase = resolvePassphrase(config.dataDir, config.keyPassphrase, warn);
  const vault = createKeyVault(config.dataDir, passphrase);
  const store = createTrustStore(deps.db);
  /** Stapled OCSP responses for the node's own certificates, by serial; cleared on every revocation. */
  const staples = new Map<string, { der: Buffer; until: number }>();
  const iso15118Curve = config.iso15118Curve ?? 'P-256';
  const authority = createAuthority({ store, vault, organization: config.organization, iso15118Curve, publicUrl: config.publicUrl, now, warn });
  const revocation = createRevocation({ authority, store, now });
  let server: ServiceCredential[] = [];
  let cps: ServiceCredential | undefined;
  const contracts = createContracts({
    authority, revocation, store, organization: config.organization, now, autoProvision: config.autoProvisionContracts ?? false,
    emaidPrefix: (config.emaidPrefix ?? 'ZZEVG').toUpperCase(),
    cps: () => cps ?? (() => { throw trustErrors.CA_NOT_READY('the CPS signing certificate is not issued yet'); })(),
  });
  await authority.load();

  const revocationListeners = new Set<(c: CertificateRevoked) => void>();
  /** Marks a certificate revoked in this node's view; true when that is news here. */
  function learnRevocation(serialHex: string | undefined, revokedAt: string | undefined, reason: string | undefined): boolean {
    const rec = typeof serialHex === 'string' ? authority.records.get(serialHex) : undefined;
    if (!rec || rec.revokedAt) return false;
    rec.revokedAt = typeof revokedAt === 'string' ? revokedAt : now().toISOString();
    rec.revocationReason = typeof reason === 'string' ? reason : undefined;
    revocation.invalidate();
        staples.clear();
    const c: CertificateRevoked = { serialHex: rec.serialHex, stationId: rec.stationId, kind: rec.kind, reason: rec.revocationReason, revokedAt: rec.revokedAt };
    for (const l of revocationListeners) l(c);
    return true;
  }
  // Another node revoked: keep this node's view current (the bus is NATS in cluster mode); refreshRevocations() covers a lost event.
  onChange(deps.bus, 'certificate.revoked', (c) => void learnRevocation(c.serialHex, c.revokedAt, c.reason));
  // Overlaps the previous read by a minute: revocation times are the revoking node's clock.
  let revocationsSince = now().getTime() - 60_000;

  const summary = (name: string): CaSummary => {
    const s = authority.ca(name);
    return { name, purpose: s.profile.purpose, pem: s.pem ?? '', subject: s.cert?.subject ?? '', notAfter: s.cert?.notAfter.toISOString() ?? '', offline: !s.key };
  };
  const chainResult = (issued: { chainPem: string; record: CertificateRecord }) => ({ certificateChainPem: issued.chainPem, serialHex: issued.record.serialHex });
  const stationKinds = new Set(['station', 'secc']);

  function expiring(days: number): CertificateRecord[] {
    const limit = now().getTime() + Math.max(0, days) * 86_400_000;
    const latest = new Map<string, CertificateRecord>();
    for (const r of authority.records.values()) {
      if (!stationKinds.has(r.kind) || !r.stationId || r.revokedAt) continue;
      const key = `${r.stationId}\u0000${r.kind}`;
      const seen = latest.get(key);
      if (!seen || seen.notAfter <= r.notAfter) latest.set(key, r);
    }
    // Only a station's newest certificate of each kind counts: an older one is already superseded.
    return [...latest.values()].filter((r) => Date.parse(r.notAfter) <= limit).sort((a, b) => a.notAfter.localeCompare(b.notAfter));
  }

  const trust: Trust = {
    ticketKeys: createTicketKeys(store, passphrase),
    async ensureHierarchies() {
      await authority.ensure();
      const svc = { authority, store, vault, now };
      if (config.serverCertFile || config.serverKeyFile) {
        if (!config.serverCertFile || !config.serverKeyFile) throw trustErrors.SERVER_CERTIFICATE_INVALID('set both the server certificate and the server key file');
        server = [readOperatorServerCredential(config.serverCertFile, config.serverKeyFile, passphrase)];
      } else if (authority.ca('server-ca').key) {
        const san = serverSan(config.hostnames);
        const subject: JsonName = [{ CN: [config.hostnames[0] ?? 'localhost'] }, { O: [config.organization] }];
        server = [
          await ensureServiceCredential(svc, { name: 'server-ecdsa', kind: 'server', keySpec: 'P-256', subject, san }),
          await ensureServiceCredential(svc, { name: 'server-rsa', kind: 'server', keySpec: 'RSA-2048', subject, san }),
        ];
      }
      if (authority.ca('cps-sub-ca-2').key) {
        cps = await ensureServiceCredential(svc, { name: 'cps', kind: 'cps', keySpec: iso15118Curve, subject: [{ CN: [`${config.organization} CPS`] }, { O: [config.organization] }, { DC: ['CPS'] }] });
      }
    },
    serverCredentials() {
      if (!server.length) throw trustErrors.CA_NOT_READY('no server certificate yet: call ensureHierarchies() first, or bring server-ca online');
      return { key: server.map((s) => s.keyPem), cert: server.map((s) => s.chainPem) };
    },
    stationTrustAnchors: () => authority.chain('station-ca', true),
    checkStationClientCertificate: (chainDer, stationId) => checkStationClientCertificate(authority, config.organization, now(), chainDer, stationId),
    async signStationCsr(input) {
      const result = await signStationCsr(authority, { organization: config.organization, iso15118Curve }, input);
      deps.bus.publish(Topics.certificateIssued, { serialHex: result.serialHex, stationId: input.stationId, notAfter: result.notAfter, certificateType: input.certificateType ?? 'ChargingStationCertificate' }, input.stationId);
      return result;
    },
    async revoke(serialHex, reason = 'unspecified') {
      const serial = normalizeSerial(serialHex);
      if (!serial) throw trustErrors.SERIAL_INVALID();
      if (!REVOCATION_REASONS.includes(reason as RevocationReason)) throw trustErrors.REVOCATION_REASON_INVALID(`reason must be one of ${REVOCATION_REASONS.join(', ')}`);
      const rec = authority.records.get(serial) ?? (await store.getCertificate(serial));
      if (!rec) throw trustErrors.CERTIFICATE_UNKNOWN();
      if (!rec.revokedAt) {
        const at = now().toISOString();
        await store.markRevoked(serial, at, reason);
        authority.records.set(serial, rec);
        learnRevocation(serial, at, reason);
        publishChange(deps.bus, 'certificate.revoked', { serialHex: serial, stationId: rec.stationId, kind: rec.kind, reason, revokedAt: at }, rec.stationId);
      }
      return { stationId: rec.stationId };
    },
    onRevocation(handler) {
      revocationListeners.add(handler);
      return () => revocationListeners.delete(handler);
    },
    async refreshRevocations() {
      const started = now().getTime();
      for (const r of await store.revokedSince(new Date(revocationsSince).toISOString())) learnRevocation(r.serialHex, r.revokedAt, r.reason);
      revocationsSince = started - 60_000;
    },
    isRevoked: (serialHex) => {
      const serial = normalizeSerial(serialHex);
      return !!serial && !!authority.records.get(serial)?.revokedAt;
    },
    listCas: () => CA_PROFILES.map((p) => summary(p.name)),
    rootCertificatePem(type) {
      const name = ({ CSMSRootCertificate: 'csms-root', V2GRootCertificate: 'v2g-root', MORootCertificate: 'mo-root', ManufacturerRootCertificate: 'firmware-ca' } as const)[type];
      if (!name) throw trustErrors.CA_UNKNOWN(`no root for certificate type ${String(type)}`);
      const pem = authority.ca(name).pem;
      if (!pem) throw trustErrors.CA_NOT_READY(`${name} has no certificate yet`);
      return pem;
    },
    listCertificates: (filter) => [...authority.records.values()]
      .filter((r) => !filter?.stationId || r.stationId === filter.stationId)
      .map((r) => ({ ...r }))
      .sort((a, b) => a.notBefore.localeCompare(b.notBefore)),
    findCertificate(serialHex) {
      const serial = normalizeSerial(serialHex);
      const r = serial ? authority.records.get(serial) : undefined;
      return r ? { ...r } : undefined;
    },
    expiringStationCertificates: expiring,
    publishExpiryAlerts(days) {
      const list = expiring(days);
      for (const r of list) deps.bus.publish(Topics.certificateExpiring, { serialHex: r.serialHex, stationId: r.stationId, kind: r.kind, notAfter: r.notAfter }, r.stationId);
      return list;
    },
    async recordInstalledCertificates(stationId, entries) {
      const at = now().toISOString();
      const rows: InstalledCertificate[] = [];
      for (const e of Array.isArray(entries) ? entries.slice(0, 100) : []) {
        const serial = normalizeSerial(e?.serialNumber);
        if (!serial || typeof e.certificateType !== 'string' || typeof e.hashAlgorithm !== 'string') continue;
        rows.push({ stationId, certificateType: e.certificateType, hashAlgorithm: e.hashAlgorithm, issuerNameHash: String(e.issuerNameHash).toLowerCase(), issuerKeyHash: String(e.issuerKeyHash).toLowerCase(), serialHex: serial, reportedAt: at });
      }
      await store.replaceInstalled(stationId, rows);
    },
    installedCertificates: (stationId) => store.listInstalled(stationId),
    crlDer: (name) => revocation.crlDer(name),
    ocspRespond: (der) => revocation.ocspRespond(der),
    async stapledOcsp(certDer, issuerDer) {
      const cert = new x509.X509Certificate(certDer);
      const serial = normalizeSerial(cert.serialNumber);
      if (!serial || !authority.records.has(serial)) return undefined; // an operator's own certificate: its CA staples, not us
      const cached = staples.get(serial);
      if (cached && cached.until > now().getTime()) return cached.der;
      // Node asks with one certificate whichever of the ECDSA and RSA pair the handshake picks, so the
      // response covers every server certificate from this issuer; a client finds its own CertID in it.
      const issuer = AsnConvert.parse(issuerDer, AsnCertificate).tbsCertificate;
      const sha1 = (b: ArrayBuffer | Uint8Array) => createHash('sha1').update(Buffer.from(b as ArrayBuffer)).digest('hex');
      const [nameHash, keyHash] = [sha1(AsnConvert.serialize(issuer.subject)), sha1(issuer.subjectPublicKeyInfo.subjectPublicKey)];
      const issuerName = new x509.X509Certificate(issuerDer).subject;
      const serials = new Set([serial, ...server.map((c) => new x509.X509Certificate(c.chainPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]))
        .filter((c) => c.issuer === issuerName).map((c) => normalizeSerial(c.serialNumber)!)]);
      const requests = [...serials].map((s) => AsnConvert.parse(revocation.buildRequest('sha1', nameHash, keyHash, s), ocsp.OCSPRequest));
      requests[0]!.tbsRequest.requestList = requests.flatMap((r) => r.tbsRequest.requestList);
      const der = await revocation.ocspRespond(Buffer.from(AsnConvert.serialize(requests[0]!)));
      // Responses are valid for an hour; staple one for half of that, and never past a revocation.
      for (const s of serials) staples.set(s, { der, until: now().getTime() + 30 * 60_000 });
      return der;
    },
    get15118EVCertificate: (input) => contracts.get15118EVCertificate(input),
    getCertificateStatus: (data) => contracts.getCertificateStatus(data),
    authorizeContract: (input) => contracts.authorizeContract(input),
    contractStatus(emaid) {
      const wanted = normalizeEmaid(emaid);
      if (!wanted) return undefined;
      let newest: CertificateRecord | undefined;
      for (const r of authority.records.values()) if (r.kind === 'contract' && r.commonName === wanted && (!newest || newest.notBefore <= r.notBefore)) newest = r;
      if (!newest) return undefined;
      return newest.revokedAt ? 'Blocked' : Date.parse(newest.notAfter) < now().getTime() ? 'Expired' : 'Accepted';
    },
    async registerContract({ pcid, emaid }) {
      const normalized = normalizeEmaid(emaid);
      if (!isValidPcid(pcid) || !normalized) throw trustErrors.CONTRACT_IDENTITY_INVALID('pcid must be 17–18 alphanumerics and emaid an ISO 15118 EMAID');
      await store.saveContract(pcid, normalized, now().toISOString());
    },
    async issueOemProvisioningCertificate({ pcid, csrPem }) {
      if (!isValidPcid(pcid)) throw trustErrors.CONTRACT_IDENTITY_INVALID('pcid must be 17–18 alphanumerics');
      return chainResult(await contracts.issueFromCsr('oem-provisioning', csrPem, pcid));
    },
    async issueContractCertificate({ emaid, csrPem }) {
      const normalized = normalizeEmaid(emaid);
      if (!normalized) throw trustErrors.CONTRACT_IDENTITY_INVALID('emaid must be an ISO 15118 EMAID');
      return chainResult(await contracts.issueFromCsr('contract', csrPem, normalized));
    },
    async issueCodeSigningCertificate({ name, publicKeyPem }) {
      if (typeof name !== 'string' || !/^[\p{L}\p{N} ._-]{1,64}$/u.test(name)) throw trustErrors.CSR_WRONG_SUBJECT('the signer name must be 1–64 letters, digits, spaces or ._-');
      let spki: Buffer;
      try {
        spki = publicKeySpki(publicKeyPem);
      } catch (err) {
        throw trustErrors.CSR_MALFORMED('publicKeyPem is not a PEM public key', { cause: err });
      }
      const p = LEAF_PROFILES['code-signing'];
      return chainResult(await authority.issue({ kind: 'code-signing', issuerCa: p.issuer, subject: [{ CN: [name] }, { O: [config.organization] }], publicKey: spki, validityDays: p.validityDays, keyUsages: p.keyUsages, extendedKeyUsages: p.extendedKeyUsages }));
    },
    exportCaCsr: (name) => authority.exportCsr(name),
    async importCa(name, input) {
      const key = input.keyPem ? vault.parseOperatorKey(input.keyPem, input.keyPassphrase) : undefined;
      await authority.importCa(name, input.certPem, key);
      revocation.invalidate();
        staples.clear();
      return summary(name);
    },
    certificateLifecycle: (link, lifecycleConfig) => createCertificateLifecycle(
      { trust, store, bus: deps.bus, link, now, log: deps.log },
      { ...DEFAULT_LIFECYCLE, ...Object.fromEntries(Object.entries(lifecycleConfig ?? {}).filter(([, v]) => v !== undefined)) },
    ),
  };
  return trust;
}

/** A code-signing public key: EC, or RSA of at least 2048 bits. */
function publicKeySpki(pem: unknown): Buffer {
  if (typeof pem !== 'string' || pem.length > 4000) throw new Error('not a PEM string');
  const key = createPublicKey(pem);
  if (key.asymmetricKeyType === 'rsa' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new Error('RSA key too short');
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') throw new Error('unsupported key type');
  return key.export({ type: 'spki', format: 'der' });
}
