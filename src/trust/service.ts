/**
 * Credentials the node itself uses: its TLS server certificates (one ECDSA
 * P-256 and one RSA, so stations limited to either suite family connect)
 * and the CPS certificate that signs ISO 15118 installation responses.
 * Each is renewed on start when missing, near expiry, issued by a replaced
 * CA, or (server) no longer covering the configured host names.
 */
import { createPrivateKey, createPublicKey, X509Certificate as NodeX509, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import * as x509 from './x509.js';
import type { Authority } from './authority.js';
import { trustErrors } from './errors.js';
import { spkiOf } from './issue.js';
import { generateKey, type KeyVault } from './keys.js';
import { LEAF_PROFILES, type KeySpec } from './profiles.js';
import type { TrustStore } from './store.js';

const RENEW_BEFORE_MS = 30 * 86_400_000;

export interface ServiceCredential {
  readonly keyPem: string;
  readonly key: KeyObject;
  readonly chainPem: string;
}

export interface ServiceDefinition {
  readonly name: string;
  readonly kind: 'server' | 'cps';
  readonly keySpec: KeySpec;
  readonly subject: x509.JsonName;
  readonly san?: { dns: string[]; ip: string[] };
}

export function serverSan(hostnames: readonly string[]): { dns: string[]; ip: string[] } {
  const dns = new Set(['localhost']);
  const ip = new Set(['127.0.0.1', '::1']);
  for (const h of hostnames) (isIP(h) ? ip : dns).add(h);
  return { dns: [...dns], ip: [...ip] };
}

export async function ensureServiceCredential(deps: { authority: Authority; store: TrustStore; vault: KeyVault; now: () => Date }, def: ServiceDefinition): Promise<ServiceCredential> {
  const profile = LEAF_PROFILES[def.kind];
  const issuer = deps.authority.ca(profile.issuer);
  const chainPem = await deps.store.getServiceCredential(def.name);
  const key = deps.vault.load(def.name);
  if (chainPem && key && issuer.nodeCert && stillGood(chainPem, key, issuer.nodeCert, deps.now(), def, deps.authority)) {
    return { key, keyPem: clearPem(key), chainPem };
  }
  const fresh = generateKey(def.keySpec);
  const issued = await deps.authority.issue({
    kind: def.kind, issuerCa: profile.issuer, subject: def.subject, publicKey: spkiOf(fresh),
    validityDays: profile.validityDays, keyUsages: keyUsagesFor(def), extendedKeyUsages: profile.extendedKeyUsages, san: def.san,
  });
  deps.vault.save(def.name, fresh);
  await deps.store.saveServiceCredential(def.name, issued.chainPem, deps.now().toISOString());
  return { key: fresh, keyPem: clearPem(fresh), chainPem: issued.chainPem };
}

/**
 * An ECDSA key cannot encipher (RFC 5480 §3: keyEncipherment is for RSA key
 * transport), so the ECDSA certificate asks only for what it does.
 */
function keyUsagesFor(def: ServiceDefinition): number {
  const usages = LEAF_PROFILES[def.kind].keyUsages;
  return def.keySpec.startsWith('RSA') ? usages : usages & ~x509.KeyUsageFlags.keyEncipherment;
}

function stillGood(chainPem: string, key: KeyObject, issuer: NodeX509, now: Date, def: ServiceDefinition, authority: Authority): boolean {
  const san = def.san;
  try {
    const leaf = new NodeX509(chainPem);
    if (!authority.chainsTo(leaf, issuer)) return false;
    // Re-issue a certificate made before its profile changed (key usage, CRL and OCSP locations).
    const parsed = new x509.X509Certificate(leaf.raw);
    if ((parsed.getExtension(x509.KeyUsagesExtension)?.usages ?? 0) !== keyUsagesFor(def)) return false;
    if (authority.publishesLocations() && (!parsed.getExtension(x509.CRLDistributionPointsExtension) || !parsed.getExtension(x509.AuthorityInfoAccessExtension))) return false;
    if (Date.parse(leaf.validTo) - now.getTime() < RENEW_BEFORE_MS) return false;
    if (!spkiOf(key).equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))) return false;
    if (san) {
      if (san.dns.some((d) => leaf.checkHost(d, { wildcards: false }) === undefined)) return false;
      if (san.ip.some((i) => leaf.checkIP(i) === undefined)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function clearPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Reads an operator-supplied certificate (with chain) and key; the key must belong to the first certificate. */
export function readOperatorServerCredential(certFile: string, keyFile: string, passphrase: string): ServiceCredential {
  let chainPem: string;
  let key: KeyObject;
  try {
    chainPem = readFileSync(certFile, 'utf8');
    const keyText = readFileSync(keyFile, 'utf8');
    key = createPrivateKey({ key: keyText, format: 'pem', passphrase });
  } catch (err) {
    throw trustErrors.SERVER_CERTIFICATE_INVALID(`cannot read the server certificate ${certFile} or key ${keyFile}: ${(err as Error).message}`, { cause: err });
  }
  let leaf: NodeX509;
  try {
    leaf = new NodeX509(chainPem);
  } catch (err) {
    throw trustErrors.SERVER_CERTIFICATE_INVALID(`${certFile} is not a PEM certificate`, { cause: err });
  }
  if (!createPublicKey(key).export({ type: 'spki', format: 'der' }).equals(leaf.publicKey.export({ type: 'spki', format: 'der' }))) {
    throw trustErrors.SERVER_CERTIFICATE_INVALID(`the key in ${keyFile} does not belong to the certificate in ${certFile}`);
  }
  return { key, keyPem: clearPem(key), chainPem };
}
