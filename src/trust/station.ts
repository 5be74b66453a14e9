/**
 * Station certificates: the SignCertificate CSR pipeline (parse, check,
 * build the subject, issue) and the TLS-time check of a client chain.
 * The checks are pure functions over parsed input; issuing goes through
 * the authority's one signing path.
 */
import { createPublicKey, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import * as x509 from './x509.js';
import type { Authority } from './authority.js';
import { trustErrors } from './errors.js';
import { firstField, webCrypto } from './issue.js';
import { isValidStationId, LEAF_PROFILES, normalizeSerial, type CurveName } from './profiles.js';

export type StationCertificateType = 'ChargingStationCertificate' | 'V2GCertificate';

export type ClientCertificateCheck =
  | { ok: true; serialHex: string }
  | { ok: false; reason: 'untrusted' | 'expired' | 'revoked' | 'wrong-station' | 'wrong-organization' | 'malformed' };

/** OCPP 2.0.1 SignCertificateRequest.csr is at most 5500 characters. */
const MAX_CSR_CHARS = 5500;
const ALLOWED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);
const CURVE_NAMES: Record<CurveName, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' };

export interface CsrPolicy {
  readonly organization: string;
  readonly iso15118Curve: CurveName;
}

/** Parses and checks a CSR; returns what the certificate may contain. Throws coded errors. */
export async function checkStationCsr(input: { csrPem: unknown; stationId: unknown; certificateType?: unknown }, policy: CsrPolicy) {
  const { csrPem, stationId } = input;
  const certificateType = input.certificateType ?? 'ChargingStationCertificate';
  if (certificateType !== 'ChargingStationCertificate' && certificateType !== 'V2GCertificate') {
    throw trustErrors.CSR_MALFORMED('certificateType must be ChargingStationCertificate or V2GCertificate');
  }
  if (!isValidStationId(stationId)) throw trustErrors.CSR_WRONG_SUBJECT('the station id is not a valid OCPP identity');
  if (typeof csrPem !== 'string' || csrPem.length > MAX_CSR_CHARS || !csrPem.includes('-----BEGIN CERTIFICATE REQUEST-----')) {
    throw trustErrors.CSR_MALFORMED(`the CSR must be a PEM "CERTIFICATE REQUEST" of at most ${MAX_CSR_CHARS} characters`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  let key: KeyObject;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
    key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    throw trustErrors.CSR_MALFORMED('the CSR cannot be parsed as PKCS#10', { cause: err });
  }
  const v2g = certificateType === 'V2GCertificate';
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = details.namedCurve ?? '';
    // ISO 15118-2 fixes secp256r1 and -20 secp521r1 for the SECC key; OCPP allows any of the NIST curves for the station key.
    if (v2g ? curve !== CURVE_NAMES[policy.iso15118Curve] : !ALLOWED_CURVES.has(curve)) {
      throw trustErrors.CSR_WEAK_KEY(`an EC key on ${curve || 'an unnamed curve'} is not allowed${v2g ? `; V2G certificates need ${policy.iso15118Curve}` : ''}`);
    }
  } else if (key.asymmetricKeyType === 'rsa' && !v2g) {
    // OCPP 2.0.1 part 2 A00.FR.306: RSA keys of at least 2048 bits.
    if ((details.modulusLength ?? 0) < 2048) throw trustErrors.CSR_WEAK_KEY(`an RSA key of ${details.modulusLength} bits is too short; 2048 is the minimum`);
  } else {
    throw trustErrors.CSR_WEAK_KEY(`${key.asymmetricKeyType} keys are not allowed${v2g ? ' for V2G certificates (EC only)' : ''}`);
  }
  let valid = false;
  try {
    valid = await csr.verify(webCrypto);
  } catch {
    valid = false;
  }
  if (!valid) throw trustErrors.CSR_INVALID_SIGNATURE();
  const cn = firstField(csr.subjectName, 'CN');
  const o = firstField(csr.subjectName, 'O');
  if (cn.length !== 1 || cn[0] !== stationId) throw trustErrors.CSR_WRONG_SUBJECT(`the CSR common name must be the station id "${stationId}"`);
  if (o.length !== 1 || o[0] !== policy.organization) throw trustErrors.CSR_WRONG_SUBJECT(`the CSR organisation must be "${policy.organization}"`);
  const country = firstField(csr.subjectName, 'C');
  const subject: x509.JsonName = [{ CN: [stationId] }, { O: [policy.organization] }];
  if (v2g) {
    if (country.length === 1 && /^[A-Z]{2}$/.test(country[0]!)) subject.push({ C: [country[0]!] });
    subject.push({ DC: ['CPO'] });
  }
  return { stationId, v2g, subject, publicKey: Buffer.from(csr.publicKey.rawData) };
}

export async function signStationCsr(authority: Authority, policy: CsrPolicy, input: { csrPem: string; stationId: string; certificateType?: StationCertificateType }) {
  const checked = await checkStationCsr(input, policy);
  const profile = checked.v2g ? LEAF_PROFILES.secc : LEAF_PROFILES.station;
  const issued = await authority.issue({
    kind: checked.v2g ? 'secc' : 'station',
    issuerCa: profile.issuer,
    subject: checked.subject,
    publicKey: checked.publicKey,
    validityDays: profile.validityDays,
    keyUsages: profile.keyUsages,
    extendedKeyUsages: profile.extendedKeyUsages,
    stationId: checked.stationId,
  });
  return { certificateChainPem: issued.chainPem, serialHex: issued.record.serialHex, notAfter: issued.record.notAfter };
}

/**
 * Checks a chain a station presented at TLS. Only the leaf matters: station
 * certificates come from station-ca alone, whose certificate we hold.
 */
export function checkStationClientCertificate(authority: Authority, organization: string, now: Date, chainDer: unknown, stationId: unknown): ClientCertificateCheck {
  try {
    if (!Array.isArray(chainDer) || chainDer.length === 0 || chainDer.length > 10 || !Buffer.isBuffer(chainDer[0])) return { ok: false, reason: 'malformed' };
    if (typeof stationId !== 'string') return { ok: false, reason: 'malformed' };
    let leaf: NodeX509;
    let parsed: x509.X509Certificate;
    try {
      leaf = new NodeX509(chainDer[0]);
      parsed = new x509.X509Certificate(chainDer[0]);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    const ca = authority.ca('station-ca');
    if (!ca.nodeCert || !authority.chainsTo(leaf, ca.nodeCert) || leaf.ca) return { ok: false, reason: 'untrusted' };
    const t = now.getTime();
    if (t < Date.parse(leaf.validFrom) || t > Date.parse(leaf.validTo) || t > Date.parse(ca.nodeCert.validTo)) return { ok: false, reason: 'expired' };
    const serialHex = normalizeSerial(parsed.serialNumber)!;
    if (authority.records.get(serialHex)?.revokedAt) return { ok: false, reason: 'revoked' };
    if (authority.records.get(normalizeSerial(ca.cert!.serialNumber)!)?.revokedAt) return { ok: false, reason: 'revoked' };
    const cn = firstField(parsed.subjectName, 'CN');
    if (cn.length !== 1 || cn[0] !== stationId) return { ok: false, reason: 'wrong-station' };
    const o = firstField(parsed.subjectName, 'O');
    if (o.length !== 1 || o[0] !== organization) return { ok: false, reason: 'wrong-organization' };
    return { ok: true, serialHex };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
