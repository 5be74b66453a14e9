/**
 * OCPP firmware signatures: an ECDSA P-256 (or RSA) signature over the
 * SHA-256 of the image, DER-encoded and sent base64 (OCPP 2.0.1 L01, 1.6
 * security whitepaper §4), plus the PEM signing certificate, issued directly
 * by the manufacturer root (OCPP allows no intermediate CA there).
 */
import { X509Certificate, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { firmwareErrors } from './errors.js';
import { signSource, verifySource, type ImageSource } from './staging.js';

const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';

export interface SignerCredential {
  key: KeyObject;
  certificatePem: string;
  serialHex: string;
}

export interface SignerDeps {
  dataDir: string;
  passphrase: () => string;
  issue(input: { name: string; publicKeyPem: string }): Promise<{ certificateChainPem: string; serialHex: string }>;
  isRevoked(serialHex: string): boolean;
}

export function firstPem(chain: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(chain);
  if (!m) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('no PEM certificate found');
  return `${m[0]}\n`;
}

/** The vendor's signing key and a current, unrevoked code-signing certificate for it. */
export async function signerFor(deps: SignerDeps, vendor: string): Promise<SignerCredential> {
  const dir = path.join(deps.dataDir, 'firmware', 'keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const slug = vendor.replace(/[^a-zA-Z0-9_.-]/g, '_');
  const keyFile = path.join(dir, `signer-${slug}.key.pem`);
  const certFile = path.join(dir, `signer-${slug}.cert.json`);
  let key: KeyObject;
  if (existsSync(keyFile)) {
    key = createPrivateKey({ key: readFileSync(keyFile, 'utf8'), passphrase: deps.passphrase() });
  } else {
    key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    atomicWrite(keyFile, key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: deps.passphrase() }) as string);
  }
  let cert: { certificatePem: string; serialHex: string } | undefined;
  if (existsSync(certFile)) cert = JSON.parse(readFileSync(certFile, 'utf8'));
  const stale = !cert || deps.isRevoked(cert.serialHex) || Date.parse(new X509Certificate(cert.certificatePem).validTo) - Date.now() < 30 * 86_400_000;
  if (stale) {
    const issued = await deps.issue({ name: `${vendor} firmware`.slice(0, 64).replace(/[^\p{L}\p{N} ._-]/gu, '_'), publicKeyPem: createPublicKey(key).export({ type: 'spki', format: 'pem' }) as string });
    cert = { certificatePem: firstPem(issued.certificateChainPem), serialHex: issued.serialHex };
    atomicWrite(certFile, JSON.stringify(cert));
  }
  return { key, ...cert! };
}

export function signImage(image: ImageSource, key: KeyObject): Promise<string> {
  return signSource(image, key);
}

/**
 * Checks an imported signature: the certificate is a code-signing
 * certificate issued directly by one of the manufacturer roots, valid now,
 * not revoked, and its key verifies the signature over the image.
 */
export async function checkSignature(image: ImageSource, signatureB64: string, certificatePem: string, roots: string[], isRevoked: (serialHex: string) => boolean): Promise<void> {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(firstPem(certificatePem));
  } catch (err) {
    throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('signingCertificate is not a PEM X.509 certificate', { cause: err });
  }
  const issuer = roots.map((p) => new X509Certificate(p)).find((r) => cert.checkIssued(r) && cert.verify(r.publicKey));
  if (!issuer) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('the signing certificate is not issued directly by the manufacturer root');
  const now = Date.now();
  if (Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('the signing certificate is not valid now');
  if (cert.keyUsage && !cert.keyUsage.includes(CODE_SIGNING_EKU)) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('the signing certificate lacks the codeSigning extended key usage');
  if (isRevoked(cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''))) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('the signing certificate is revoked');
  const sig = Buffer.from(signatureB64, 'base64');
  if (sig.length === 0 || sig.toString('base64') !== signatureB64.replace(/\s+/g, '')) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('signature is not base64');
  if (!(await verifySource(image, cert.publicKey, sig))) throw firmwareErrors.FIRMWARE_SIGNATURE_INVALID('the signature does not verify over the image with the certificate key');
}

function atomicWrite(file: string, text: string) {
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, file);
}
