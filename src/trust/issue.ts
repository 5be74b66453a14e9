/**
 * The signing mechanism: turns a profile, a subject and a public key into an
 * X.509 certificate or a PKCS#10 request with @peculiar/x509 over Node's
 * WebCrypto. No policy decisions are taken here.
 */
import { createHash, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from './x509.js';
import { toSigningKey } from './keys.js';

/** WebCrypto handed to @peculiar/x509 on every call, so no global provider is set. */
export const webCrypto = webcrypto as unknown as Crypto;

export interface Issuer {
  readonly cert: x509.X509Certificate;
  readonly key: KeyObject;
}

export interface CertificateSpec {
  readonly subject: x509.JsonName;
  /** SubjectPublicKeyInfo, DER. */
  readonly publicKey: Buffer;
  /** Absent for a self-signed certificate, which `selfKey` then signs. */
  readonly issuer?: Issuer;
  readonly selfKey?: KeyObject;
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly ca?: { pathLength?: number };
  readonly keyUsages: number;
  readonly extendedKeyUsages?: readonly string[];
  readonly san?: { dns: readonly string[]; ip: readonly string[] };
  readonly crlUrl?: string;
  readonly ocspUrl?: string;
}

/** 16 random bytes, first byte 0x10–0x7f: positive (RFC 5280 4.1.2.2) and never spelt with a leading zero. */
export function newSerialHex(): string {
  const b = randomBytes(16);
  b[0] = 0x10 + (b[0]! % 0x70);
  return b.toString('hex');
}

export function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

export async function buildCertificate(spec: CertificateSpec): Promise<x509.X509Certificate> {
  const signingKeyObject = spec.issuer?.key ?? spec.selfKey;
  if (!signingKeyObject) throw new Error('buildCertificate needs an issuer or a self key');
  const signer = await toSigningKey(signingKeyObject);
  const extensions: x509.Extension[] = [];
  if (spec.ca) {
    extensions.push(new x509.BasicConstraintsExtension(true, spec.ca.pathLength, true));
  } else {
    extensions.push(new x509.BasicConstraintsExtension(false, undefined, true));
  }
  extensions.push(new x509.KeyUsagesExtension(spec.keyUsages, true));
  if (spec.extendedKeyUsages?.length) extensions.push(new x509.ExtendedKeyUsageExtension([...spec.extendedKeyUsages], false));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(spec.publicKey, false, webCrypto));
  const authorityKey = spec.issuer ? spkiOf(spec.issuer.key) : spec.publicKey;
  const issuerSki = spec.issuer?.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  extensions.push(issuerSki
    ? new x509.AuthorityKeyIdentifierExtension(issuerSki.keyId, false)
    : await x509.AuthorityKeyIdentifierExtension.create(authorityKey, false, webCrypto));
  if (spec.san && (spec.san.dns.length || spec.san.ip.length)) {
    extensions.push(new x509.SubjectAlternativeNameExtension([
      ...spec.san.dns.map((value) => ({ type: 'dns' as const, value })),
      ...spec.san.ip.map((value) => ({ type: 'ip' as const, value })),
    ], false));
  }
  if (spec.crlUrl) extensions.push(new x509.CRLDistributionPointsExtension([spec.crlUrl], false));
  if (spec.ocspUrl) extensions.push(new x509.AuthorityInfoAccessExtension({ ocsp: [spec.ocspUrl] }, false));

  return x509.X509CertificateGenerator.create({
    serialNumber: spec.serialHex,
    subject: spec.subject,
    issuer: spec.issuer ? spec.issuer.cert.subjectName : spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: spec.publicKey,
    signingKey: signer.key as unknown as CryptoKey,
    signingAlgorithm: signer.algorithm,
    extensions,
  }, webCrypto);
}

/** A PKCS#10 request for a sub-CA whose parent signs offline. */
export async function buildCsr(subject: x509.JsonName, key: KeyObject, pathLength: number | undefined): Promise<string> {
  const signer = await toSigningKey(key);
  const importParams: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams = key.asymmetricKeyType === 'ec'
    ? { name: 'ECDSA', namedCurve: signer.algorithm.hash === 'SHA-512' ? 'P-521' : signer.algorithm.hash === 'SHA-384' ? 'P-384' : 'P-256' }
    : signer.algorithm;
  const publicKey = await webcrypto.subtle.importKey('spki', new Uint8Array(spkiOf(key)), importParams, true, ['verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subject,
    keys: { privateKey: signer.key, publicKey } as unknown as webcrypto.CryptoKeyPair as never,
    signingAlgorithm: signer.algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, pathLength, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  }, webCrypto);
  return csr.toString('pem');
}

export function sha256Hex(der: ArrayBuffer | Buffer): string {
  return createHash('sha256').update(Buffer.from(der as ArrayBuffer)).digest('hex');
}

export function pemOf(cert: x509.X509Certificate): string {
  return cert.toString('pem') + '\n';
}

/** Splits a PEM bundle into certificates; throws on anything that is not one. */
export function parsePemChain(text: string): x509.X509Certificate[] {
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new x509.X509Certificate(b));
}

export function firstField(name: x509.Name, field: string): string[] {
  try {
    return name.getField(field);
  } catch {
    return [];
  }
}
