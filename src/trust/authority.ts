/**
 * The certificate authorities: their state (certificate, key, offline or
 * waiting for a signed certificate), first-start generation, import of
 * operator CAs, CSR export for offline parents, and one `issue` path every
 * leaf certificate goes through.
 */
import { X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { rmSync } from 'node:fs';
import path from 'node:path';
import * as x509 from './x509.js';
import { trustErrors } from './errors.js';
import { buildCertificate, buildCsr, newSerialHex, pemOf, sha256Hex, spkiOf } from './issue.js';
import { generateKey, type KeyVault } from './keys.js';
import { CA_KEY_USAGES, CA_PROFILES, type CaProfile, type CurveName, normalizeSerial } from './profiles.js';
import type { CertificateKind, CertificateRecord, TrustStore } from './store.js';

export interface CaState {
  readonly profile: CaProfile;
  cert?: x509.X509Certificate;
  nodeCert?: NodeX509;
  pem?: string;
  key?: KeyObject;
  offline: boolean;
  pendingCsrPem?: string;
  crlNumber: number;
}

export interface AuthorityOptions {
  readonly store: TrustStore;
  readonly vault: KeyVault;
  readonly organization: string;
  readonly iso15118Curve: CurveName;
  readonly publicUrl?: string;
  readonly now: () => Date;
  readonly warn: (msg: string) => void;
}

export interface IssueRequest {
  readonly kind: CertificateKind;
  readonly issuerCa: string;
  readonly subject: x509.JsonName;
  readonly publicKey: Buffer;
  readonly validityDays: number;
  readonly keyUsages: number;
  readonly extendedKeyUsages?: readonly string[];
  readonly san?: { dns: readonly string[]; ip: readonly string[] };
  readonly stationId?: string;
}

export interface Issued {
  readonly cert: x509.X509Certificate;
  readonly pem: string;
  readonly record: CertificateRecord;
  /** Leaf first, then every sub-CA up to (not including) the root. */
  readonly chainPem: string;
}

const DAY_MS = 86_400_000;
/** Backdating absorbs clock skew between the node and the relying party. */
const BACKDATE_MS = 5 * 60_000;

export function createAuthority(opts: AuthorityOptions) {
  const cas = new Map<string, CaState>();
  const records = new Map<string, CertificateRecord>();
  const iso = (d: Date) => d.toISOString();

  function ca(name: string): CaState {
    const s = cas.get(name);
    if (!s) throw trustErrors.CA_UNKNOWN(`no certificate authority named "${name}"; run "evguard pki list" to see them`);
    return s;
  }

  function setCert(s: CaState, pem: string) {
    s.cert = new x509.X509Certificate(pem);
    s.nodeCert = new NodeX509(pem);
    s.pem = pemOf(s.cert);
  }

  function subjectFor(p: CaProfile): x509.JsonName {
    const name: x509.JsonName = [{ CN: [`${opts.organization} ${p.label}`] }, { O: [opts.organization] }];
    if (p.domainComponent) name.push({ DC: [p.domainComponent] });
    return name;
  }

  function chainsTo(child: NodeX509, parent: NodeX509): boolean {
    try {
      return child.checkIssued(parent) && child.verify(parent.publicKey);
    } catch {
      return false;
    }
  }

  async function load(): Promise<void> {
    cas.clear();
    for (const profile of CA_PROFILES) cas.set(profile.name, { profile, offline: false, crlNumber: 0 });
    for (const row of await opts.store.listCas()) {
      const s = cas.get(row.name);
      if (!s) continue;
      if (row.certPem) setCert(s, row.certPem);
      s.offline = row.offline;
      s.pendingCsrPem = row.pendingCsrPem;
      s.crlNumber = row.crlNumber;
      if (s.cert && !s.offline) {
        s.key = opts.vault.load(row.name);
        if (!s.key) {
          s.offline = true;
          opts.warn(`the key of CA ${row.name} is missing from ${opts.vault.dir}; it is treated as offline`);
        }
      }
    }
    records.clear();
    for (const r of await opts.store.listCertificates()) records.set(r.serialHex, r);
  }

  async function saveState(s: CaState) {
    await opts.store.saveCa({ name: s.profile.name, certPem: s.pem, pendingCsrPem: s.pendingCsrPem, offline: s.offline, crlNumber: s.crlNumber }, iso(opts.now()));
  }

  async function recordCertificate(cert: x509.X509Certificate, kind: CertificateKind, issuerCa: string, stationId?: string): Promise<CertificateRecord> {
    const record: CertificateRecord = {
      serialHex: normalizeSerial(cert.serialNumber)!,
      kind, issuerCa, stationId,
      subject: cert.subject,
      commonName: cert.subjectName.getField('CN')[0] ?? '',
      notBefore: iso(cert.notBefore),
      notAfter: iso(cert.notAfter),
      sha256: sha256Hex(cert.rawData),
      revokedAt: records.get(normalizeSerial(cert.serialNumber)!)?.revokedAt,
    };
    await opts.store.insertCertificate(record, pemOf(cert), iso(opts.now()));
    records.set(record.serialHex, record);
    return record;
  }

  function crlUrl(caName: string) {
    return opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}/pki/crl/${caName}.crl` : undefined;
  }
  function ocspUrl() {
    return opts.publicUrl ? `${opts.publicUrl.replace(/\/$/, '')}/pki/ocsp` : undefined;
  }

  async function generate(s: CaState): Promise<void> {
    const p = s.profile;
    const parent = p.parent ? ca(p.parent) : undefined;
    const key = generateKey(p.hierarchy === 'csms' || p.hierarchy === 'firmware' ? 'P-256' : opts.iso15118Curve);
    const now = opts.now();
    const notAfter = new Date(now.getTime() + p.validityDays * DAY_MS);
    const cert = await buildCertificate({
      subject: subjectFor(p),
      publicKey: spkiOf(key),
      issuer: parent ? { cert: parent.cert!, key: parent.key! } : undefined,
      selfKey: key,
      serialHex: newSerialHex(),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: parent && parent.cert!.notAfter < notAfter ? parent.cert!.notAfter : notAfter,
      ca: { pathLength: p.pathLength },
      keyUsages: CA_KEY_USAGES,
      crlUrl: parent ? crlUrl(parent.profile.name) : undefined,
    });
    opts.vault.save(p.name, key);
    s.key = key;
    setCert(s, cert.toString('pem'));
    s.offline = false;
    s.pendingCsrPem = undefined;
    await saveState(s);
    await recordCertificate(cert, 'ca', p.parent ?? p.name);
  }

  /** Creates every missing CA; re-issues a sub-CA whose parent was replaced. Idempotent. */
  async function ensure(): Promise<void> {
    for (const profile of CA_PROFILES) {
      const s = ca(profile.name);
      const parent = profile.parent ? ca(profile.parent) : undefined;
      if (s.cert) {
        if (parent?.nodeCert && !chainsTo(s.nodeCert!, parent.nodeCert)) {
          if (parent.key) {
            opts.warn(`CA ${profile.name} no longer chains to ${profile.parent}; issuing a new one`);
            await generate(s);
          } else {
            opts.warn(`CA ${profile.name} no longer chains to ${profile.parent}, whose key is offline: run "evguard pki export-csr ${profile.name}"`);
          }
        }
        continue;
      }
      if (s.pendingCsrPem) {
        opts.warn(`CA ${profile.name} waits for its signed certificate: run "evguard pki import ${profile.name} --cert <file>"`);
        continue;
      }
      if (parent && (!parent.cert || !parent.key)) {
        opts.warn(`CA ${profile.name} cannot be created: its parent ${profile.parent} is offline; run "evguard pki export-csr ${profile.name}"`);
        continue;
      }
      await generate(s);
    }
  }

  function signer(name: string): { cert: x509.X509Certificate; key: KeyObject; state: CaState } {
    const s = ca(name);
    if (!s.cert) throw trustErrors.CA_NOT_READY(`CA ${name} has no certificate yet`);
    if (!s.key) throw trustErrors.CA_OFFLINE(`the key of CA ${name} is offline on this node`);
    return { cert: s.cert, key: s.key, state: s };
  }

  /** PEMs from `name` upwards; the self-signed root only when asked for. */
  function chain(name: string, includeRoot = false): string[] {
    const out: string[] = [];
    for (let s: CaState | undefined = ca(name); s; s = s.profile.parent ? cas.get(s.profile.parent) : undefined) {
      if (!s.pem) break;
      if (!s.profile.parent && !includeRoot) break;
      out.push(s.pem);
    }
    return out;
  }

  async function issue(req: IssueRequest): Promise<Issued> {
    const { cert: issuerCert, key } = signer(req.issuerCa);
    const now = opts.now();
    const wanted = new Date(now.getTime() + req.validityDays * DAY_MS);
    const cert = await buildCertificate({
      subject: req.subject,
      publicKey: req.publicKey,
      issuer: { cert: issuerCert, key },
      serialHex: newSerialHex(),
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      // A certificate never outlives its issuer (RFC 5280 6.1.3 would reject it anyway).
      notAfter: issuerCert.notAfter < wanted ? issuerCert.notAfter : wanted,
      keyUsages: req.keyUsages,
      extendedKeyUsages: req.extendedKeyUsages,
      san: req.san,
      crlUrl: crlUrl(req.issuerCa),
      ocspUrl: ocspUrl(),
    });
    const record = await recordCertificate(cert, req.kind, req.issuerCa, req.stationId);
    const pem = pemOf(cert);
    return { cert, pem, record, chainPem: [pem, ...chain(req.issuerCa)].join('') };
  }

  async function exportCsr(name: string): Promise<string> {
    const s = ca(name);
    const pendingName = `${name}.pending`;
    let key = opts.vault.load(pendingName);
    if (!key) {
      key = generateKey(s.profile.hierarchy === 'csms' || s.profile.hierarchy === 'firmware' ? 'P-256' : opts.iso15118Curve);
      opts.vault.save(pendingName, key);
    }
    s.pendingCsrPem = await buildCsr(subjectFor(s.profile), key, s.profile.pathLength);
    await saveState(s);
    return s.pendingCsrPem;
  }

  async function importCa(name: string, certPem: string, key?: KeyObject): Promise<CaState> {
    const s = ca(name);
    let cert: x509.X509Certificate;
    let nodeCert: NodeX509;
    try {
      const block = certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
      if (!block) throw new Error('no PEM certificate found');
      cert = new x509.X509Certificate(block);
      nodeCert = new NodeX509(block);
    } catch (err) {
      throw trustErrors.CA_IMPORT_INVALID(`the certificate file is not a PEM X.509 certificate: ${(err as Error).message}`, { cause: err });
    }
    if (!nodeCert.ca) throw trustErrors.CA_IMPORT_INVALID('the certificate is not a CA certificate (basicConstraints cA is not true)');
    if (Date.parse(nodeCert.validTo) < opts.now().getTime()) throw trustErrors.CA_IMPORT_INVALID('the certificate has expired');
    if (s.profile.parent) {
      const parent = ca(s.profile.parent);
      // A self-signed certificate "chains" to itself; a sub-CA must be a different certificate issued by its parent.
      if (!parent.nodeCert || chainsTo(nodeCert, nodeCert) || !chainsTo(nodeCert, parent.nodeCert)) {
        throw trustErrors.CA_IMPORT_INVALID(`the certificate is not issued by the current ${s.profile.parent} certificate`);
      }
    } else if (!chainsTo(nodeCert, nodeCert)) {
      throw trustErrors.CA_IMPORT_INVALID(`${name} is a root: its certificate must be self-signed`);
    }
    const certSpki = Buffer.from(cert.publicKey.rawData);
    const pendingName = `${name}.pending`;
    if (!key) {
      const pending = opts.vault.load(pendingName);
      if (pending && spkiOf(pending).equals(certSpki)) key = pending;
    } else if (!spkiOf(key).equals(certSpki)) {
      throw trustErrors.CA_IMPORT_INVALID('the key does not belong to the certificate');
    }
    if (key) opts.vault.save(name, key);
    rmSync(path.join(opts.vault.dir, `${pendingName}.key.pem`), { force: true });
    s.key = key;
    setCert(s, certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)![0]);
    s.offline = !key;
    s.pendingCsrPem = undefined;
    await saveState(s);
    await recordCertificate(cert, 'ca', s.profile.parent ?? name);
    return s;
  }

  /** Whether issued certificates carry CRL and OCSP locations (a public URL is configured). */
  const publishesLocations = () => !!opts.publicUrl;
  return { load, ensure, ca, cas: () => [...cas.values()], signer, chain, issue, exportCsr, importCa, records, recordCertificate, chainsTo, publishesLocations };
}

export type Authority = ReturnType<typeof createAuthority>;
