/**
 * OCMF (Open Charge Metering Format) signed meter data. Parsing and the
 * signature check come from `@road-labs/ocmf`; it leaves the cryptography to
 * an adapter, which is Node's own `crypto` here. What the package does not do
 * (it trusts the payload's shape and knows nothing of transactions) is checked
 * by the signedMeter detector: shape, pagination, meter serial, error flags.
 */
import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import ocmf from '@road-labs/ocmf';
import type { CryptoAdapter, Curve, EcPrivateKey, EcPublicKey } from '@road-labs/ocmf-crypto';

/** OCMF's curve names for the names OpenSSL reports. */
const CURVES: Record<string, Curve> = {
  prime256v1: 'secp256r1',
  secp384r1: 'secp384r1',
  prime192v1: 'secp192r1',
  secp192k1: 'secp192k1',
  secp256k1: 'secp256k1',
  brainpoolP256r1: 'brainpool256r1',
  brainpoolP384r1: 'brainpool384r1',
};

/** Signed meter data larger than this is refused unread; real datasets are well under 2 KiB. */
export const MAX_SIGNED_DATA = 16 * 1024;

interface NodeEcPublicKey extends EcPublicKey { readonly key: KeyObject }
interface NodeEcPrivateKey extends EcPrivateKey { readonly key: KeyObject }

function curveOf(key: KeyObject): Curve {
  const name = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const curve = name ? CURVES[name] : undefined;
  if (!curve) throw new Error(`unsupported key type or curve ${name ?? key.asymmetricKeyType}`);
  return curve;
}

function publicKey(key: KeyObject): NodeEcPublicKey {
  const curve = curveOf(key);
  return { key, getCurve: () => curve, encode: () => new Uint8Array(key.export({ format: 'der', type: 'spki' })) };
}

export function createNodeOcmfCrypto(): CryptoAdapter {
  return {
    decodeEcPrivateKey(value) {
      const key = createPrivateKey({ key: Buffer.from(value), format: 'der', type: 'pkcs8' });
      const curve = curveOf(key);
      const ec: NodeEcPrivateKey = { key, getCurve: () => curve, getPublicKey: () => publicKey(createPublicKey(key)) };
      return ec;
    },
    decodeEcPublicKey(value) {
      return publicKey(createPublicKey({ key: Buffer.from(value), format: 'der', type: 'spki' }));
    },
    sign(data, privateKey) {
      return new Uint8Array(cryptoSign('sha256', data, { key: (privateKey as NodeEcPrivateKey).key, dsaEncoding: 'der' }));
    },
    verify(signature, data, key) {
      return cryptoVerify('sha256', data, { key: (key as NodeEcPublicKey).key, dsaEncoding: 'der' }, signature);
    },
  };
}

/** Reads a public key given as PEM, hex DER or base64 DER (OCPP sends base64, OCMF tools hex). */
export function decodePublicKey(text: string): EcPublicKey | undefined {
  const s = text.trim();
  if (s.length === 0 || s.length > 4096) return undefined;
  try {
    if (s.startsWith('-----BEGIN')) return publicKey(createPublicKey(s));
    const der = /^([0-9a-fA-F]{2})+$/.test(s) ? Buffer.from(s, 'hex') : Buffer.from(s, 'base64');
    return publicKey(createPublicKey({ key: der, format: 'der', type: 'spki' }));
  } catch {
    return undefined;
  }
}

/** Stable text for a key, to notice when a meter's key changes. */
export function keyFingerprint(key: EcPublicKey): string {
  return Buffer.from((key as NodeEcPublicKey).key.export({ format: 'der', type: 'spki' })).toString('base64');
}

/** The OCMF string inside signed meter data: OCPP 2.x sends it base64-encoded, 1.6 stations often raw. */
export function ocmfText(signedMeterData: string): string | undefined {
  if (signedMeterData.length > MAX_SIGNED_DATA) return undefined;
  if (signedMeterData.startsWith('OCMF|')) return signedMeterData;
  if (!/^[A-Za-z0-9+/=\s]+$/.test(signedMeterData)) return undefined;
  const decoded = Buffer.from(signedMeterData, 'base64').toString('utf8');
  return decoded.startsWith('OCMF|') ? decoded : undefined;
}

export interface OcmfReading { TM?: unknown; RV?: unknown; RU?: unknown; EF?: unknown; ST?: unknown }
export interface OcmfPayload { PG: string; MS: string; RD: OcmfReading[]; [k: string]: unknown }

/** Splits and parses an OCMF string, checking the fields the detector relies on. */
export function parseOcmf(raw: string): { ok: true; payload: OcmfPayload } | { ok: false; reason: string } {
  try {
    const { payloadData } = ocmf.parseSections(ocmf.decomposeValue(raw));
    const p = payloadData as unknown as Record<string, unknown>;
    if (p === null || typeof p !== 'object') return { ok: false, reason: 'payload is not an object' };
    if (typeof p.PG !== 'string' || !/^[TF]\d{1,9}$/.test(p.PG)) return { ok: false, reason: 'PG (pagination) missing or malformed' };
    if (typeof p.MS !== 'string' || p.MS.length === 0 || p.MS.length > 64) return { ok: false, reason: 'MS (meter serial) missing or malformed' };
    if (!Array.isArray(p.RD) || p.RD.length === 0 || p.RD.length > 64) return { ok: false, reason: 'RD (readings) missing or malformed' };
    return { ok: true, payload: p as OcmfPayload };
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message.slice(0, 200) : 'unparseable' };
  }
}

/** Checks the dataset's signature; any error in the signature section counts as a failed check. */
export async function verifyOcmf(raw: string, key: EcPublicKey): Promise<{ verified: boolean; reason?: string }> {
  try {
    const verifier = new ocmf.Verifier(createNodeOcmfCrypto());
    const { verified } = await verifier.parseAndVerify(raw, key);
    return verified ? { verified } : { verified, reason: 'signature does not match the payload' };
  } catch (err) {
    return { verified: false, reason: err instanceof Error ? err.message.slice(0, 200) : 'verification error' };
  }
}

/** Signs a payload as an OCMF meter would; used by the station simulator and tests. */
export async function signOcmf(payload: Record<string, unknown>, privateKeyPem: string, method = 'ECDSA-secp256r1-SHA256'): Promise<string> {
  const crypto = createNodeOcmfCrypto();
  const der = createPrivateKey(privateKeyPem).export({ format: 'der', type: 'pkcs8' });
  const key = await crypto.decodeEcPrivateKey(new Uint8Array(der), 'pkcs8-der');
  return new ocmf.Signer(crypto).sign(payload as never, key, method as never);
}
