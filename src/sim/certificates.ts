/**
 * The station's side of the OCPP certificate lifecycle (2.0.1 A02/A03, 1.6
 * security whitepaper): a fresh ECDSA P-256 key pair and a PKCS#10 CSR for
 * SignCertificate, the checks a station makes before installing what comes
 * back in CertificateSigned, and the hash data that identifies installed
 * certificates. All ASN.1 goes through pkijs/asn1js and Node's crypto.
 */
import { createHash, createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const OID_CN = '2.5.4.3';
const OID_O = '2.5.4.10';

function engine(): pkijs.ICryptoEngine {
  // pkijs's ICryptoEngine lists KEM methods its own CryptoEngine lacks in these typings.
  return new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }) as unknown as pkijs.ICryptoEngine;
}

export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const b64 = Buffer.from(der instanceof Uint8Array ? der : new Uint8Array(der)).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}

/** PEM blocks of one label in order; anything between blocks is ignored. */
export function pemBlocks(text: string, label = 'CERTIFICATE'): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return (text.match(re) ?? []).map((block) => `${block}\n`);
}

function pemToDer(pem: string): Uint8Array {
  return Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

/**
 * A Name with one attribute per RDN. pkijs puts every attribute it is given
 * into a single multi-valued RDN ("O=a + CN=b"), which CAs and OpenSSL treat
 * as a different subject, so the sequence is built here and parsed back.
 */
export function distinguishedName(attributes: [oid: string, value: string][]): pkijs.RelativeDistinguishedNames {
  const sequence = new asn1js.Sequence({
    value: attributes.map(([type, value]) => new asn1js.Set({
      value: [new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) }).toSchema()],
    })),
  });
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(sequence.toBER(false)).result });
}

export interface StationCsr {
  csrPem: string;
  /** PKCS#8 PEM of the new private key; it never leaves the station. */
  keyPem: string;
}

/** A new key pair and a CSR with subject O = organization, CN = station id. */
export async function createStationCsr(commonName: string, organization: string): Promise<StationCsr> {
  const crypto = engine();
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  csr.subject = distinguishedName([
    [OID_O, organization],
    [OID_CN, commonName],
  ]);
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey as unknown as CryptoKey, crypto);
  await csr.sign(keys.privateKey as unknown as CryptoKey, 'SHA-256', crypto);
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { csrPem: toPem('CERTIFICATE REQUEST', csr.toSchema().toBER(false)), keyPem: toPem('PRIVATE KEY', pkcs8) };
}

/** The subject CN of a certificate, or undefined. */
export function commonNameOf(certPem: string): string | undefined {
  const cert = pkijs.Certificate.fromBER(pemToDer(certPem));
  const cn = cert.subject.typesAndValues.find((tv) => tv.type === OID_CN);
  const value = (cn?.value as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
  return typeof value === 'string' ? value : undefined;
}

/**
 * Checks a CertificateSigned chain against the key this station generated.
 * Returns the reason for refusal, or undefined when the chain is acceptable.
 * A station cannot check the chain up to a root it may not hold, so it checks
 * what it can: the leaf is for its own key and name, each certificate is
 * signed by the next, and all are within their validity period.
 */
export function refuseSignedChain(chainPem: string, keyPem: string, commonName: string, now: Date): string | undefined {
  const blocks = pemBlocks(chainPem);
  if (blocks.length === 0) return 'no PEM certificate in the chain';
  let certs: X509Certificate[];
  try {
    certs = blocks.map((b) => new X509Certificate(b));
  } catch {
    return 'the chain does not parse';
  }
  const leaf = certs[0]!;
  if (!leaf.checkPrivateKey(createPrivateKey(keyPem))) return 'the certificate is not for this station\'s key';
  try {
    if (commonNameOf(blocks[0]!) !== commonName) return 'the certificate CN is not the station id';
  } catch {
    return 'the certificate subject does not parse';
  }
  for (let i = 0; i < certs.length; i++) {
    const cert = certs[i]!;
    if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) return `certificate ${i} is outside its validity period`;
    const issuer = certs[i + 1];
    if (issuer && !cert.verify(issuer.publicKey)) return `certificate ${i} is not signed by the next one`;
  }
  return undefined;
}

export interface CertificateHashData {
  hashAlgorithm: 'SHA256';
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
}

/**
 * OCPP CertificateHashDataType of a self-signed (root) certificate, the only
 * kind InstallCertificate installs: issuer name and key are its own.
 */
export function certificateHashData(certPem: string): CertificateHashData {
  const cert = pkijs.Certificate.fromBER(pemToDer(certPem));
  const issuerDer = Buffer.from(cert.issuer.toSchema().toBER(false));
  const key = Buffer.from(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView);
  const serial = Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^0+(?=.)/, '');
  return {
    hashAlgorithm: 'SHA256',
    issuerNameHash: createHash('sha256').update(issuerDer).digest('hex'),
    issuerKeyHash: createHash('sha256').update(key).digest('hex'),
    serialNumber: serial,
  };
}

/** Whether the text is one parseable X.509 certificate. */
export function isCertificate(pem: string): boolean {
  try {
    return pemBlocks(pem).length === 1 && new X509Certificate(pem).subject !== undefined;
  } catch {
    return false;
  }
}
