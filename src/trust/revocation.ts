/**
 * Revocation status: CRLs per CA (RFC 5280) and an OCSP responder
 * (RFC 6960). Each CA signs its own CRL and its own OCSP responses, so a
 * relying party needs nothing beyond the chain it already has (RFC 6960
 * 4.2.2.2, "the CA who issued the certificate in question").
 */
import { createHash, sign } from 'node:crypto';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import * as ocsp from '@peculiar/asn1-ocsp';
import { AlgorithmIdentifier, Certificate as AsnCertificate, CRLNumber, CRLReason, CRLReasons, Extension as AsnExtension, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import * as x509 from './x509.js';
import type { Authority, CaState } from './authority.js';
import { trustErrors } from './errors.js';
import { webCrypto } from './issue.js';
import { toSigningKey } from './keys.js';
import { normalizeSerial } from './profiles.js';
import type { CertificateRecord, TrustStore } from './store.js';

export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'] as const;
export type RevocationReason = (typeof REVOCATION_REASONS)[number];

const HASH_BY_OID: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const OID_BY_HASH: Record<string, string> = Object.fromEntries(Object.entries(HASH_BY_OID).map(([k, v]) => [v, k]));

const SIG_OID: Record<string, string> = {
  'ec:sha256': '1.2.840.10045.4.3.2', 'ec:sha384': '1.2.840.10045.4.3.3', 'ec:sha512': '1.2.840.10045.4.3.4',
  'rsa:sha256': '1.2.840.113549.1.1.11',
};

/** Responses stay fresh for an hour; relying parties cache them no longer. */
const OCSP_VALIDITY_MS = 3_600_000;
const CRL_VALIDITY_MS = 86_400_000;
const CRL_REBUILD_MS = 3_600_000;
const MAX_OCSP_REQUESTS = 16;

/** ASN.1 times carry whole seconds; fractions upset some verifiers. */
const seconds = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

export interface CaIdentity {
  /** hex hash of the DER subject, per hash algorithm */
  readonly nameHash: Record<string, string>;
  /** hex hash of the subjectPublicKey BIT STRING contents, per hash algorithm */
  readonly keyHash: Record<string, string>;
}

export function caIdentity(state: CaState): CaIdentity | undefined {
  if (!state.cert) return undefined;
  const asn = AsnConvert.parse(state.cert.rawData, AsnCertificate);
  const name = Buffer.from(AsnConvert.serialize(asn.tbsCertificate.subject));
  const key = Buffer.from(asn.tbsCertificate.subjectPublicKeyInfo.subjectPublicKey);
  const nameHash: Record<string, string> = {};
  const keyHash: Record<string, string> = {};
  for (const h of Object.values(HASH_BY_OID)) {
    nameHash[h] = createHash(h).update(name).digest('hex');
    keyHash[h] = createHash(h).update(key).digest('hex');
  }
  return { nameHash, keyHash };
}

export interface CertificateStatusLookup {
  ca?: CaState;
  record?: CertificateRecord;
  status: 'good' | 'revoked' | 'unknown' | 'unauthorized';
}

export function createRevocation(deps: { authority: Authority; store: TrustStore; now: () => Date }) {
  const { authority } = deps;
  const identities = new Map<string, { pem: string; id: CaIdentity }>();
  const crlCache = new Map<string, { der: Buffer; builtAt: number; generation: number }>();
  let generation = 0;

  function identityOf(s: CaState): CaIdentity | undefined {
    const cached = identities.get(s.profile.name);
    if (cached && cached.pem === s.pem) return cached.id;
    const id = caIdentity(s);
    if (id && s.pem) identities.set(s.profile.name, { pem: s.pem, id });
    return id;
  }

  /** Finds the CA a CertID names and the certificate's status; `unauthorized` when the issuer is not ours. */
  function lookup(hash: string, issuerNameHash: string, issuerKeyHash: string, serial: string): CertificateStatusLookup {
    const ca = authority.cas().find((s) => {
      const id = identityOf(s);
      return id && id.nameHash[hash] === issuerNameHash.toLowerCase() && id.keyHash[hash] === issuerKeyHash.toLowerCase();
    });
    if (!ca) return { status: 'unauthorized' };
    const normalized = normalizeSerial(serial);
    const record = normalized ? authority.records.get(normalized) : undefined;
    if (!record || record.issuerCa !== ca.profile.name || normalized === normalizeSerial(ca.cert?.serialNumber)) return { ca, status: 'unknown' };
    return { ca, record, status: record.revokedAt ? 'revoked' : 'good' };
  }

  function reasonCode(reason: string | undefined): CRLReasons {
    const i = REVOCATION_REASONS.indexOf((reason ?? 'unspecified') as RevocationReason);
    return i < 0 ? CRLReasons.unspecified : (i >= 7 ? i + 2 : i) as CRLReasons;
  }

  async function crlDer(caName: string): Promise<Buffer> {
    const s = authority.ca(caName);
    const cached = crlCache.get(caName);
    const nowMs = deps.now().getTime();
    if (cached && cached.generation === generation && nowMs - cached.builtAt < CRL_REBUILD_MS) return cached.der;
    if (!s.cert) throw trustErrors.CA_NOT_READY(`CA ${caName} has no certificate yet`);
    if (!s.key) {
      if (cached) return cached.der;
      throw trustErrors.CA_OFFLINE(`CA ${caName} signs its CRL offline; its key is not on this node`);
    }
    const ownSerial = normalizeSerial(s.cert.serialNumber);
    const entries = [...authority.records.values()]
      .filter((r) => r.issuerCa === caName && r.revokedAt && r.serialHex !== ownSerial)
      .map((r) => ({ serialNumber: r.serialHex.length % 2 ? `0${r.serialHex}` : r.serialHex, revocationDate: seconds(new Date(r.revokedAt!)), reason: reasonCode(r.revocationReason) as number as x509.X509CrlReason }));
    const signer = await toSigningKey(s.key);
    const number = await deps.store.nextCrlNumber(caName, deps.now().toISOString());
    s.crlNumber = number;
    const ski = s.cert.getExtension(x509.SubjectKeyIdentifierExtension);
    const crl = await x509.X509CrlGenerator.create({
      issuer: s.cert.subjectName,
      thisUpdate: seconds(new Date(nowMs)),
      nextUpdate: seconds(new Date(nowMs + CRL_VALIDITY_MS)),
      entries,
      signingKey: signer.key as unknown as CryptoKey,
      signingAlgorithm: signer.algorithm,
      extensions: [
        ...(ski ? [new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)] : []),
        new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(number))),
      ],
    }, webCrypto);
    const der = Buffer.from(crl.rawData);
    crlCache.set(caName, { der, builtAt: nowMs, generation });
    return der;
  }

  function failure(status: ocsp.OCSPResponseStatus): Buffer {
    return Buffer.from(AsnConvert.serialize(new ocsp.OCSPResponse({ responseStatus: status })));
  }

  async function ocspRespond(requestDer: Buffer): Promise<Buffer> {
    let request: ocsp.OCSPRequest;
    try {
      if (!Buffer.isBuffer(requestDer) || requestDer.length === 0 || requestDer.length > 65_536) throw new Error('size');
      request = AsnConvert.parse(requestDer, ocsp.OCSPRequest);
    } catch {
      return failure(ocsp.OCSPResponseStatus.malformedRequest);
    }
    const list = request.tbsRequest.requestList;
    if (!list.length || list.length > MAX_OCSP_REQUESTS) return failure(ocsp.OCSPResponseStatus.malformedRequest);
    const now = seconds(deps.now());
    let signerCa: CaState | undefined;
    const responses: ocsp.SingleResponse[] = [];
    for (const item of list) {
      const certId = item.reqCert;
      const hash = HASH_BY_OID[certId.hashAlgorithm.algorithm];
      const found = hash
        ? lookup(hash, Buffer.from(certId.issuerNameHash.buffer).toString('hex'), Buffer.from(certId.issuerKeyHash.buffer).toString('hex'), Buffer.from(certId.serialNumber).toString('hex'))
        : { status: 'unauthorized' as const };
      if (found.status === 'unauthorized') continue;
      signerCa ??= found.ca;
      // One response has one signer; a CertID under another of our CAs gets "unknown" rather than a signature it cannot verify.
      const status = found.ca === signerCa ? found.status : 'unknown';
      responses.push(new ocsp.SingleResponse({
        certID: certId,
        certStatus: new ocsp.CertStatus(status === 'good' ? { good: null } : status === 'revoked'
          ? { revoked: new ocsp.RevokedInfo({ revocationTime: seconds(new Date(found.record!.revokedAt!)), revocationReason: new CRLReason(reasonCode(found.record!.revocationReason)) }) }
          : { unknown: null }),
        thisUpdate: now,
        nextUpdate: new Date(now.getTime() + OCSP_VALIDITY_MS),
      }));
    }
    if (!signerCa) return failure(ocsp.OCSPResponseStatus.unauthorized);
    if (!signerCa.key || !signerCa.cert) return failure(ocsp.OCSPResponseStatus.tryLater);
    const nonce = request.tbsRequest.requestExtensions?.find((e) => e.extnID === ocsp.id_pkix_ocsp_nonce);
    const keyBits = AsnConvert.parse(signerCa.cert.rawData, AsnCertificate).tbsCertificate.subjectPublicKeyInfo.subjectPublicKey;
    const data = new ocsp.ResponseData({
      responderID: new ocsp.ResponderID({ byKey: new ocsp.KeyHash(createHash('sha1').update(Buffer.from(keyBits)).digest()) }),
      producedAt: now,
      responses,
      responseExtensions: nonce ? [new AsnExtension({ extnID: nonce.extnID, critical: false, extnValue: nonce.extnValue })] : undefined,
    });
    const tbs = Buffer.from(AsnConvert.serialize(data));
    const signer = await toSigningKey(signerCa.key);
    const keyType = signerCa.key.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec';
    const sigOid = SIG_OID[`${keyType}:${signer.nodeHash}`];
    if (!sigOid) return failure(ocsp.OCSPResponseStatus.internalError);
    const signature = sign(signer.nodeHash, tbs, signerCa.key);
    const basic = new ocsp.BasicOCSPResponse({
      tbsResponseData: data,
      signatureAlgorithm: new AlgorithmIdentifier({ algorithm: sigOid, parameters: keyType === 'rsa' ? new Uint8Array([5, 0]).buffer : undefined }),
      signature: new Uint8Array(signature).buffer,
    });
    return Buffer.from(AsnConvert.serialize(new ocsp.OCSPResponse({
      responseStatus: ocsp.OCSPResponseStatus.successful,
      responseBytes: new ocsp.ResponseBytes({ responseType: ocsp.id_pkix_ocsp_basic, response: new OctetString(AsnConvert.serialize(basic)) }),
    })));
  }

  /** Builds the DER OCSPRequest for one CertID given as hex hashes (OCPP OCSPRequestDataType). */
  function buildRequest(hash: string, issuerNameHash: string, issuerKeyHash: string, serialHex: string): Buffer {
    const serial = serialHex.length % 2 ? `0${serialHex}` : serialHex;
    const request = new ocsp.OCSPRequest({
      tbsRequest: new ocsp.TBSRequest({
        requestList: [new ocsp.Request({
          reqCert: new ocsp.CertID({
            hashAlgorithm: new AlgorithmIdentifier({ algorithm: OID_BY_HASH[hash]!, parameters: null }),
            issuerNameHash: new OctetString(Buffer.from(issuerNameHash, 'hex')),
            issuerKeyHash: new OctetString(Buffer.from(issuerKeyHash, 'hex')),
            serialNumber: new Uint8Array(Buffer.from(serial, 'hex')).buffer,
          }),
        })],
      }),
    });
    return Buffer.from(AsnConvert.serialize(request));
  }

  return {
    crlDer,
    ocspRespond,
    lookup,
    buildRequest,
    identityOf,
    /** Called after every revocation so the next CRL request rebuilds. */
    invalidate() {
      generation++;
    },
    reasonCode,
  };
}

export type Revocation = ReturnType<typeof createRevocation>;
