/** A throwaway CA for the simulator tests: server certificates and CSR signing, all with pkijs. */
import { randomBytes, webcrypto } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { distinguishedName, toPem } from '../../src/sim/certificates.js';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto }) as unknown as pkijs.ICryptoEngine;

export interface TestCa {
  certPem: string;
  subject: pkijs.RelativeDistinguishedNames;
  privateKey: CryptoKey;
}

function der(pem: string): ArrayBuffer {
  const buf = Buffer.from(pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

function extension(oid: string, value: { toSchema(): { toBER(sizeOnly?: boolean): ArrayBuffer } }, critical = false): pkijs.Extension {
  return new pkijs.Extension({ extnID: oid, critical, extnValue: value.toSchema().toBER(false) });
}

async function build(opts: {
  subject: pkijs.RelativeDistinguishedNames;
  issuer: pkijs.RelativeDistinguishedNames;
  publicKeyInfo?: pkijs.PublicKeyInfo;
  publicKey?: CryptoKey;
  signingKey: CryptoKey;
  ca?: boolean;
  serverNames?: boolean;
  clientAuth?: boolean;
  validDays?: number;
}): Promise<string> {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  const serial = randomBytes(12);
  // Positive and minimally encoded: a first byte of 0x00 would be DER padding that OpenSSL refuses (1 certificate in 256 before).
  serial[0] = 0x10 + (serial[0]! % 0x70);
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  cert.subject = opts.subject;
  cert.issuer = opts.issuer;
  cert.notBefore.value = new Date(Date.now() - 60_000);
  cert.notAfter.value = new Date(Date.now() + (opts.validDays ?? 30) * 86_400_000);
  if (opts.publicKeyInfo) cert.subjectPublicKeyInfo = opts.publicKeyInfo;
  else await cert.subjectPublicKeyInfo.importKey(opts.publicKey!, engine);
  const extensions = [extension('2.5.29.19', new pkijs.BasicConstraints({ cA: opts.ca ?? false }), true)];
  if (opts.serverNames) {
    extensions.push(extension('2.5.29.17', new pkijs.AltName({
      altNames: [
        new pkijs.GeneralName({ type: 2, value: 'localhost' }),
        new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: new Uint8Array([127, 0, 0, 1]) }) }),
      ],
    })));
    extensions.push(extension('2.5.29.37', new pkijs.ExtKeyUsage({ keyPurposes: ['1.3.6.1.5.5.7.3.1'] })));
  }
  if (opts.clientAuth) extensions.push(extension('2.5.29.37', new pkijs.ExtKeyUsage({ keyPurposes: ['1.3.6.1.5.5.7.3.2'] })));
  cert.extensions = extensions;
  await cert.sign(opts.signingKey, 'SHA-256', engine);
  return toPem('CERTIFICATE', cert.toSchema().toBER(false));
}

async function keyPair() {
  return (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as unknown as { publicKey: CryptoKey; privateKey: CryptoKey };
}

async function exportKey(key: CryptoKey): Promise<string> {
  return toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key as unknown as webcrypto.CryptoKey));
}

export async function createCa(name = 'evguard test CA'): Promise<TestCa> {
  const keys = await keyPair();
  const subject = distinguishedName([['2.5.4.3', name]]);
  const certPem = await build({ subject, issuer: subject, publicKey: keys.publicKey, signingKey: keys.privateKey, ca: true });
  return { certPem, subject, privateKey: keys.privateKey };
}

/** A TLS server certificate for localhost / 127.0.0.1. */
export async function issueServer(ca: TestCa): Promise<{ cert: string; key: string }> {
  const keys = await keyPair();
  const cert = await build({
    subject: distinguishedName([['2.5.4.3', 'localhost']]),
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    serverNames: true,
  });
  return { cert, key: await exportKey(keys.privateKey) };
}

/** A client certificate with the given CN, made here rather than from a CSR. */
export async function issueClient(ca: TestCa, commonName: string): Promise<{ cert: string; key: string }> {
  const keys = await keyPair();
  const cert = await build({
    subject: distinguishedName([['2.5.4.10', 'Test Org'], ['2.5.4.3', commonName]]),
    issuer: ca.subject,
    publicKey: keys.publicKey,
    signingKey: ca.privateKey,
    clientAuth: true,
  });
  return { cert, key: await exportKey(keys.privateKey) };
}

/** Signs a PKCS#10 request after checking its self-signature; the subject is copied as is. */
export async function signCsr(ca: TestCa, csrPem: string): Promise<string> {
  const csr = pkijs.CertificationRequest.fromBER(der(csrPem));
  if (!(await csr.verify(engine))) throw new Error('CSR signature does not verify');
  return build({ subject: csr.subject, issuer: ca.subject, publicKeyInfo: csr.subjectPublicKeyInfo, signingKey: ca.privateKey, clientAuth: true });
}
