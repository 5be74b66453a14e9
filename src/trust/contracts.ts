/**
 * Plug & Charge, the backend side: contract certificate installation and
 * update (ISO 15118-2 CertificateInstallation/CertificateUpdate, carried by
 * OCPP Get15118EVCertificate), certificate status (GetCertificateStatus) and
 * contract authorisation (Authorize with iso15118CertificateHashData).
 *
 * Without an EXI codec the ISO 15118 messages travel as JSON (docs/trust.md,
 * "JSON rendering"): exiRequest/exiResponse are base64 of a JSON object with
 * the message body and a detached ECDSA signature over the RFC 8785 canonical
 * JSON of that body, standing in for the XML signature of the EXI original.
 */
import { canonicalJson } from '../canonical-json.js';
import { createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, sign, verify, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import * as x509 from './x509.js';
import type { Authority } from './authority.js';
import { trustErrors } from './errors.js';
import { firstField, webCrypto } from './issue.js';
import { curveOf } from './keys.js';
import { isValidPcid, LEAF_PROFILES, normalizeEmaid, normalizeSerial } from './profiles.js';
import type { Revocation } from './revocation.js';
import type { ServiceCredential } from './service.js';
import type { TrustStore } from './store.js';

export interface OcspRequestData {
  hashAlgorithm: 'SHA256' | 'SHA384' | 'SHA512';
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
  responderURL?: string;
}

export type AuthorizeCertificateStatus = 'Accepted' | 'SignatureError' | 'CertificateExpired' | 'CertificateRevoked' | 'NoCertificateAvailable' | 'CertChainError' | 'ContractCancelled';
export interface ContractAuthorization {
  idTokenStatus: 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'Unknown';
  certificateStatus: AuthorizeCertificateStatus;
  emaid?: string;
}
export interface Get15118EVCertificateResult { status: 'Accepted' | 'Failed'; exiResponse: string; statusInfo?: { reasonCode: string; additionalInfo?: string } }
export interface GetCertificateStatusResult { status: 'Accepted' | 'Failed'; ocspResult?: string; statusInfo?: { reasonCode: string; additionalInfo?: string } }

/** OCPP 2.1 raises exiRequest to 11000 characters (2.0.1: 5600); anything longer is refused before decoding. */
const MAX_EXI_CHARS = 11_000;


const hashFor = (key: KeyObject) => (curveOf(key) === 'P-521' ? 'sha512' : curveOf(key) === 'P-384' ? 'sha384' : 'sha256');

export function signBody(body: unknown, key: KeyObject): string {
  return sign(hashFor(key), Buffer.from(canonicalJson(body)), key).toString('base64');
}

/**
 * Encrypts the contract private key to the holder of `recipient` (ISO 15118-2
 * 8.4.3.3.2 for P-256: ECDH, NIST SP 800-56A concatenation KDF with SHA-256,
 * AlgorithmID 0x01, PartyU 'U', PartyV 'V', AES-128-CBC with the IV in front;
 * for P-521 the same KDF keys AES-256-GCM, IV in front and tag behind, as
 * ISO 15118-20 does). Returns the ciphertext and the ephemeral public point.
 */
export function encryptContractKey(contractKey: KeyObject, recipient: KeyObject): { encrypted: Buffer; dhPublicKey: Buffer } {
  const curve = curveOf(recipient);
  if (curve !== 'P-256' && curve !== 'P-521') throw trustErrors.CONTRACT_REQUEST_INVALID('the vehicle key must be on P-256 or P-521');
  const eph = generateKeyPairSync('ec', { namedCurve: curve });
  const z = diffieHellman({ privateKey: eph.privateKey, publicKey: recipient });
  const kdf = createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(z).update(Buffer.from([0x01, 0x55, 0x56])).digest();
  const d = Buffer.from(contractKey.export({ format: 'jwk' }).d!, 'base64url');
  let encrypted: Buffer;
  if (curve === 'P-256') {
    const iv = randomBytes(16);
    const cipher = createCipheriv('aes-128-cbc', kdf.subarray(0, 16), iv).setAutoPadding(false);
    encrypted = Buffer.concat([iv, cipher.update(d), cipher.final()]);
  } else {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', kdf, iv);
    encrypted = Buffer.concat([iv, cipher.update(d), cipher.final(), cipher.getAuthTag()]);
  }
  const jwk = createPublicKey(eph.privateKey).export({ format: 'jwk' });
  return { encrypted, dhPublicKey: Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]) };
}

type Failure = { code: string; info: string };

export function createContracts(deps: {
  authority: Authority; revocation: Revocation; store: TrustStore; organization: string; now: () => Date;
  cps: () => ServiceCredential; autoProvision: boolean; emaidPrefix: string;
}) {
  const { authority } = deps;

  /** Verifies a base64 DER chain (leaf first) up to `rootName`; returns the parsed leaf or a failure. */
  function verifyChain(chain: unknown, rootName: string): { leaf: NodeX509; parsed: x509.X509Certificate } | Failure {
    if (!Array.isArray(chain) || chain.length < 1 || chain.length > 4 || !chain.every((c) => typeof c === 'string' && c.length < 4000)) {
      return { code: 'FAILED', info: 'the certificate chain must be 1 to 4 base64 DER certificates' };
    }
    let certs: NodeX509[];
    try {
      certs = chain.map((c: string) => new NodeX509(Buffer.from(c, 'base64')));
    } catch {
      return { code: 'FAILED', info: 'a certificate in the chain cannot be parsed' };
    }
    const root = authority.ca(rootName).nodeCert;
    if (!root) return { code: 'FAILED_CertChainError', info: `${rootName} is not set up` };
    const now = deps.now().getTime();
    let current = certs[0]!;
    for (let depth = 0; ; depth++) {
      if (now < Date.parse(current.validFrom) || now > Date.parse(current.validTo)) return { code: 'FAILED_CertificateExpired', info: 'a certificate in the chain is outside its validity period' };
      if (authority.records.get(normalizeSerial(current.serialNumber)!)?.revokedAt) return { code: 'FAILED_CertificateRevoked', info: 'a certificate in the chain is revoked' };
      if (authority.chainsTo(current, root)) break;
      const next = certs.find((c) => c !== current && c.ca && authority.chainsTo(current, c));
      if (!next || depth > 3) return { code: 'FAILED_CertChainError', info: `the chain does not lead to ${rootName}` };
      current = next;
    }
    return { leaf: certs[0]!, parsed: new x509.X509Certificate(Buffer.from(chain[0] as string, 'base64')) };
  }

  function respond(messageName: string, body: Record<string, unknown>): string {
    const cps = deps.cps();
    return Buffer.from(JSON.stringify({ [messageName]: body, Signature: signBody(body, cps.key) })).toString('base64');
  }

  async function newEmaid(pcid: string): Promise<string> {
    const alphabet = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';
    const tail = [...randomBytes(9)].map((b) => alphabet[b % alphabet.length]).join('');
    const emaid = normalizeEmaid(`${deps.emaidPrefix}${tail}`.slice(0, 14))!;
    await deps.store.saveContract(pcid, emaid, deps.now().toISOString());
    return emaid;
  }

  async function issueContract(emaid: string, publicKey: Buffer) {
    const p = LEAF_PROFILES.contract;
    return authority.issue({
      kind: 'contract', issuerCa: p.issuer, subject: [{ CN: [emaid] }, { O: [deps.organization] }, { DC: ['MO'] }],
      publicKey, validityDays: p.validityDays, keyUsages: p.keyUsages, extendedKeyUsages: p.extendedKeyUsages,
    });
  }

  async function get15118EVCertificate(input: { iso15118SchemaVersion?: string; action?: string; exiRequest?: unknown }): Promise<Get15118EVCertificateResult> {
    const install = input.action !== 'Update';
    const messageName = install ? 'CertificateInstallationRes' : 'CertificateUpdateRes';
    const fail = (f: Failure): Get15118EVCertificateResult => ({
      status: 'Failed', exiResponse: respond(messageName, { ResponseCode: f.code }), statusInfo: { reasonCode: f.code, additionalInfo: f.info.slice(0, 512) },
    });
    if (input.action !== 'Install' && input.action !== 'Update') return fail({ code: 'FAILED', info: 'action must be Install or Update' });
    if (typeof input.exiRequest !== 'string' || input.exiRequest.length > MAX_EXI_CHARS || !/^[A-Za-z0-9+/=]+$/.test(input.exiRequest)) {
      return fail({ code: 'FAILED', info: 'exiRequest must be base64 of at most 11000 characters' });
    }
    let envelope: any;
    try {
      envelope = JSON.parse(Buffer.from(input.exiRequest, 'base64').toString('utf8'));
    } catch {
      return fail({ code: 'FAILED', info: 'exiRequest is not base64 of a JSON ISO 15118 message (see docs/trust.md)' });
    }
    const reqName = install ? 'CertificateInstallationReq' : 'CertificateUpdateReq';
    const body = envelope?.[reqName];
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof envelope.Signature !== 'string') {
      return fail({ code: 'FAILED', info: `exiRequest must carry ${reqName} and Signature` });
    }
    const checked = verifyChain(install ? body.OEMProvisioningCertificateChain : body.ContractCertificateChain, install ? 'oem-root' : 'mo-root');
    if ('code' in checked) return fail(checked);
    const holderKey = checked.leaf.publicKey;
    let signed = false;
    try {
      signed = verify(hashFor(holderKey), Buffer.from(canonicalJson(body)), holderKey, Buffer.from(envelope.Signature, 'base64'));
    } catch {
      signed = false;
    }
    if (!signed) return fail({ code: 'FAILED_SignatureError', info: 'the request signature does not verify with the presented certificate' });
    const cn = firstField(checked.parsed.subjectName, 'CN')[0] ?? '';
    let emaid: string | undefined;
    if (install) {
      if (!isValidPcid(cn)) return fail({ code: 'FAILED', info: 'the OEM provisioning certificate CN is not a PCID' });
      emaid = (await deps.store.contractFor(cn)) ?? (deps.autoProvision ? await newEmaid(cn) : undefined);
      if (!emaid) return fail({ code: 'FAILED_NoCertificateAvailable', info: `no contract is registered for PCID ${cn}` });
    } else {
      emaid = normalizeEmaid(cn);
      if (!emaid) return fail({ code: 'FAILED', info: 'the contract certificate CN is not an EMAID' });
    }
    const curve = curveOf(holderKey) === 'P-521' ? 'P-521' : 'P-256';
    const contractKey = generateKeyPairSync('ec', { namedCurve: curve }).privateKey;
    const issued = await issueContract(emaid, createPublicKey(contractKey).export({ type: 'spki', format: 'der' }));
    const { encrypted, dhPublicKey } = encryptContractKey(contractKey, holderKey);
    const der = (pem: string) => Buffer.from(new x509.X509Certificate(pem).rawData).toString('base64');
    const pems = (text: string) => text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    return {
      status: 'Accepted',
      exiResponse: respond(messageName, {
        ResponseCode: 'OK',
        SAProvisioningCertificateChain: pems(deps.cps().chainPem).map(der),
        ContractSignatureCertChain: pems(issued.chainPem).map(der),
        ContractSignatureEncryptedPrivateKey: encrypted.toString('base64'),
        DHpublickey: dhPublicKey.toString('base64'),
        eMAID: emaid,
      }),
    };
  }

  function validHashData(d: unknown): d is OcspRequestData {
    const x = d as OcspRequestData;
    return !!x && typeof x === 'object' && ['SHA256', 'SHA384', 'SHA512'].includes(x.hashAlgorithm)
      && [x.issuerNameHash, x.issuerKeyHash].every((h) => typeof h === 'string' && /^[0-9a-fA-F]{1,128}$/.test(h))
      && typeof x.serialNumber === 'string' && normalizeSerial(x.serialNumber) !== undefined;
  }

  async function getCertificateStatus(data: unknown): Promise<GetCertificateStatusResult> {
    if (!validHashData(data)) return { status: 'Failed', statusInfo: { reasonCode: 'InvalidOCSPRequestData' } };
    const hash = data.hashAlgorithm.toLowerCase();
    const found = deps.revocation.lookup(hash, data.issuerNameHash, data.issuerKeyHash, data.serialNumber);
    if (found.status === 'unauthorized') return { status: 'Failed', statusInfo: { reasonCode: 'UnknownIssuer', additionalInfo: 'the issuer is not a CA of this CSMS' } };
    const response = await deps.revocation.ocspRespond(deps.revocation.buildRequest(hash, data.issuerNameHash, data.issuerKeyHash, normalizeSerial(data.serialNumber)!));
    return { status: 'Accepted', ocspResult: response.toString('base64') };
  }

  async function authorizeContract(input: { emaid?: string; certificatePem?: string; iso15118CertificateHashData?: unknown[] }): Promise<ContractAuthorization> {
    const now = deps.now().getTime();
    const wanted = input.emaid === undefined ? undefined : normalizeEmaid(input.emaid);
    if (input.emaid !== undefined && !wanted) return { idTokenStatus: 'Invalid', certificateStatus: 'NoCertificateAvailable' };
    let leafSerial: string | undefined;
    let entries: OcspRequestData[] = [];
    if (typeof input.certificatePem === 'string') {
      const blocks = input.certificatePem.length <= 10_000 ? input.certificatePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) : null;
      if (!blocks) return { idTokenStatus: 'Invalid', certificateStatus: 'CertChainError' };
      let chain: string[];
      try {
        chain = blocks.map((b) => Buffer.from(new x509.X509Certificate(b).rawData).toString('base64'));
      } catch {
        return { idTokenStatus: 'Invalid', certificateStatus: 'CertChainError' };
      }
      const checked = verifyChain(chain, 'mo-root');
      if ('code' in checked) {
        if (checked.code === 'FAILED_CertificateRevoked') return { idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked' };
        if (checked.code === 'FAILED_CertificateExpired') return { idTokenStatus: 'Expired', certificateStatus: 'CertificateExpired' };
        return { idTokenStatus: 'Invalid', certificateStatus: 'CertChainError' };
      }
      leafSerial = normalizeSerial(checked.leaf.serialNumber);
    } else if (Array.isArray(input.iso15118CertificateHashData)) {
      if (input.iso15118CertificateHashData.length < 1 || input.iso15118CertificateHashData.length > 4 || !input.iso15118CertificateHashData.every(validHashData)) {
        return { idTokenStatus: 'Invalid', certificateStatus: 'NoCertificateAvailable' };
      }
      entries = input.iso15118CertificateHashData as OcspRequestData[];
      // Every certificate named must be known here and not revoked: the leaf (first, per OCPP) and its sub-CAs.
      for (const [i, e] of entries.entries()) {
        const found = deps.revocation.lookup(e.hashAlgorithm.toLowerCase(), e.issuerNameHash, e.issuerKeyHash, e.serialNumber);
        if (found.status === 'revoked') return { idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked' };
        if (found.status === 'unauthorized') return { idTokenStatus: 'Unknown', certificateStatus: 'CertChainError' };
        if (found.status === 'unknown') return { idTokenStatus: 'Unknown', certificateStatus: 'NoCertificateAvailable' };
        if (i === 0) leafSerial = found.record!.serialHex;
      }
    } else {
      return { idTokenStatus: 'Unknown', certificateStatus: 'NoCertificateAvailable' };
    }
    const record = leafSerial ? authority.records.get(leafSerial) : undefined;
    if (!record || record.kind !== 'contract') return { idTokenStatus: 'Unknown', certificateStatus: 'NoCertificateAvailable' };
    if (record.revokedAt) return { idTokenStatus: 'Blocked', certificateStatus: 'CertificateRevoked', emaid: record.commonName };
    if (Date.parse(record.notAfter) < now) return { idTokenStatus: 'Expired', certificateStatus: 'CertificateExpired', emaid: record.commonName };
    if (wanted && wanted !== record.commonName) return { idTokenStatus: 'Invalid', certificateStatus: 'Accepted', emaid: record.commonName };
    return { idTokenStatus: 'Accepted', certificateStatus: 'Accepted', emaid: record.commonName };
  }

  /** Signs a CSR for an ISO 15118 leaf outside OCPP: OEM provisioning (CN = PCID) or contract (CN = EMAID). */
  async function issueFromCsr(kind: 'oem-provisioning' | 'contract', csrPem: unknown, identity: string) {
    if (typeof csrPem !== 'string' || csrPem.length > 5500) throw trustErrors.CSR_MALFORMED();
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (err) {
      throw trustErrors.CSR_MALFORMED('the CSR cannot be parsed as PKCS#10', { cause: err });
    }
    const key = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    if (curveOf(key) !== 'P-256' && curveOf(key) !== 'P-521') throw trustErrors.CSR_WEAK_KEY('ISO 15118 keys are EC on P-256 or P-521');
    if (!(await csr.verify(webCrypto).catch(() => false))) throw trustErrors.CSR_INVALID_SIGNATURE();
    if (kind === 'contract') return issueContract(identity, Buffer.from(csr.publicKey.rawData));
    const p = LEAF_PROFILES['oem-provisioning'];
    return authority.issue({
      kind, issuerCa: p.issuer, subject: [{ CN: [identity] }, { O: [deps.organization] }, { DC: ['OEM'] }],
      publicKey: Buffer.from(csr.publicKey.rawData), validityDays: p.validityDays, keyUsages: p.keyUsages,
    });
  }

  return { get15118EVCertificate, getCertificateStatus, authorizeContract, issueFromCsr };
}
