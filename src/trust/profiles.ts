/**
 * Trust policy as data: which certificate authorities exist, how they chain,
 * and the profile (key usage, basic constraints, validity) of every
 * certificate they issue. Mechanism (keys, signing, storage) lives elsewhere;
 * nothing in this file does I/O.
 *
 * ISO 15118-2 Annex F sets the V2G profiles: CAs carry critical
 * basicConstraints and keyUsage keyCertSign|cRLSign, leaves carry critical
 * keyUsage digitalSignature|keyAgreement (contract certificates add
 * nonRepudiation|keyEncipherment), every subject carries a DomainComponent
 * naming its role (V2G, CPO, CPS, OEM, MO), and the V2G root lives 40 years.
 */
import { KeyUsageFlags } from './x509.js';

export type Hierarchy = 'csms' | 'v2g' | 'oem' | 'mo' | 'firmware';
export type CurveName = 'P-256' | 'P-384' | 'P-521';
export type KeySpec = CurveName | 'RSA-2048' | 'RSA-3072' | 'RSA-4096';

export interface CaProfile {
  readonly name: string;
  readonly purpose: string;
  readonly hierarchy: Hierarchy;
  readonly parent?: string;
  /** Common name, after the organisation: `<organization> <label>`. */
  readonly label: string;
  readonly domainComponent?: string;
  /** Sub-CAs allowed below this CA; undefined means unlimited (a root). */
  readonly pathLength?: number;
  readonly validityDays: number;
}

const YEAR = 365;

/** Every CA evguard runs, parents before children. */
export const CA_PROFILES: readonly CaProfile[] = [
  { name: 'csms-root', hierarchy: 'csms', label: 'CSMS Root CA', pathLength: 1, validityDays: 20 * YEAR,
    purpose: 'CSMS root: the CSMSRootCertificate stations install; anchors server and station certificates' },
  { name: 'station-ca', hierarchy: 'csms', parent: 'csms-root', label: 'Station CA', pathLength: 0, validityDays: 10 * YEAR,
    purpose: 'Issues charging-station client certificates (OCPP security profile 3, ChargingStationCertificate)' },
  { name: 'server-ca', hierarchy: 'csms', parent: 'csms-root', label: 'Server CA', pathLength: 0, validityDays: 10 * YEAR,
    purpose: 'Issues the CSMS TLS server certificates' },

  { name: 'v2g-root', hierarchy: 'v2g', label: 'V2G Root CA', domainComponent: 'V2G', validityDays: 40 * YEAR,
    purpose: 'ISO 15118 V2G root: trust anchor for SECC and certificate-provisioning chains' },
  { name: 'cpo-sub-ca-1', hierarchy: 'v2g', parent: 'v2g-root', label: 'CPO Sub-CA 1', domainComponent: 'CPO', pathLength: 1, validityDays: 4 * YEAR,
    purpose: 'ISO 15118 CPO Sub-CA 1' },
  { name: 'cpo-sub-ca-2', hierarchy: 'v2g', parent: 'cpo-sub-ca-1', label: 'CPO Sub-CA 2', domainComponent: 'CPO', pathLength: 0, validityDays: 2 * YEAR,
    purpose: 'ISO 15118 CPO Sub-CA 2: issues SECC leaf certificates (V2GCertificate)' },
  { name: 'cps-sub-ca-1', hierarchy: 'v2g', parent: 'v2g-root', label: 'CPS Sub-CA 1', domainComponent: 'CPS', pathLength: 1, validityDays: 4 * YEAR,
    purpose: 'ISO 15118 certificate-provisioning-service Sub-CA 1' },
  { name: 'cps-sub-ca-2', hierarchy: 'v2g', parent: 'cps-sub-ca-1', label: 'CPS Sub-CA 2', domainComponent: 'CPS', pathLength: 0, validityDays: 2 * YEAR,
    purpose: 'ISO 15118 CPS Sub-CA 2: issues the certificate that signs CertificateInstallationRes' },

  { name: 'oem-root', hierarchy: 'oem', label: 'OEM Root CA', domainComponent: 'OEM', validityDays: 40 * YEAR,
    purpose: 'ISO 15118 OEM root: anchors vehicle provisioning certificates' },
  { name: 'oem-sub-ca-1', hierarchy: 'oem', parent: 'oem-root', label: 'OEM Sub-CA 1', domainComponent: 'OEM', pathLength: 1, validityDays: 10 * YEAR,
    purpose: 'ISO 15118 OEM Sub-CA 1' },
  { name: 'oem-sub-ca-2', hierarchy: 'oem', parent: 'oem-sub-ca-1', label: 'OEM Sub-CA 2', domainComponent: 'OEM', pathLength: 0, validityDays: 10 * YEAR,
    purpose: 'ISO 15118 OEM Sub-CA 2: issues OEM provisioning certificates (CN = PCID)' },

  { name: 'mo-root', hierarchy: 'mo', label: 'MO Root CA', domainComponent: 'MO', validityDays: 40 * YEAR,
    purpose: 'ISO 15118 mobility-operator root: anchors contract certificates' },
  { name: 'mo-sub-ca-1', hierarchy: 'mo', parent: 'mo-root', label: 'MO Sub-CA 1', domainComponent: 'MO', pathLength: 1, validityDays: 4 * YEAR,
    purpose: 'ISO 15118 MO Sub-CA 1' },
  { name: 'mo-sub-ca-2', hierarchy: 'mo', parent: 'mo-sub-ca-1', label: 'MO Sub-CA 2', domainComponent: 'MO', pathLength: 0, validityDays: 2 * YEAR,
    purpose: 'ISO 15118 MO Sub-CA 2: issues contract certificates (CN = EMAID)' },

  { name: 'firmware-ca', hierarchy: 'firmware', label: 'Firmware Signing CA', pathLength: 0, validityDays: 20 * YEAR,
    purpose: 'Issues firmware code-signing certificates (OCPP SignedUpdateFirmware signingCertificate)' },
];

export function caProfile(name: string): CaProfile | undefined {
  return CA_PROFILES.find((p) => p.name === name);
}

export type LeafKind = 'station' | 'secc' | 'server' | 'cps' | 'oem-provisioning' | 'contract' | 'code-signing';

export interface LeafProfile {
  readonly issuer: string;
  readonly keyUsages: number;
  readonly extendedKeyUsages: readonly string[];
  readonly validityDays: number;
  readonly domainComponent?: string;
  /** Key types a request may carry. */
  readonly allowRsa: boolean;
}

const EKU_SERVER = '1.3.6.1.5.5.7.3.1';
const EKU_CLIENT = '1.3.6.1.5.5.7.3.2';
const EKU_CODE_SIGNING = '1.3.6.1.5.5.7.3.3';

export const LEAF_PROFILES: Readonly<Record<LeafKind, LeafProfile>> = {
  // OCPP 2.0.1 part 2 A00: the station certificate authenticates the station
  // as a TLS client; RSA stations need keyEncipherment for RSA key exchange.
  station: { issuer: 'station-ca', validityDays: YEAR, allowRsa: true, extendedKeyUsages: [EKU_CLIENT],
    keyUsages: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement | KeyUsageFlags.keyEncipherment },
  // ISO 15118-2: the SECC leaf is short-lived (the standard's examples use 60 days) and renewed by the CSMS.
  secc: { issuer: 'cpo-sub-ca-2', validityDays: 60, allowRsa: false, extendedKeyUsages: [], domainComponent: 'CPO',
    keyUsages: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement },
  // CA/Browser-forum ceiling of 397 days, so clients that enforce it accept the node.
  server: { issuer: 'server-ca', validityDays: 397, allowRsa: true, extendedKeyUsages: [EKU_SERVER],
    keyUsages: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment },
  cps: { issuer: 'cps-sub-ca-2', validityDays: 90, allowRsa: false, extendedKeyUsages: [], domainComponent: 'CPS',
    keyUsages: KeyUsageFlags.digitalSignature },
  'oem-provisioning': { issuer: 'oem-sub-ca-2', validityDays: 4 * YEAR, allowRsa: false, extendedKeyUsages: [], domainComponent: 'OEM',
    keyUsages: KeyUsageFlags.digitalSignature | KeyUsageFlags.keyAgreement },
  // ISO 15118-2 Annex F: contract certificates live between 4 weeks and 2 years.
  contract: { issuer: 'mo-sub-ca-2', validityDays: 2 * YEAR, allowRsa: false, extendedKeyUsages: [], domainComponent: 'MO',
    keyUsages: KeyUsageFlags.digitalSignature | KeyUsageFlags.nonRepudiation | KeyUsageFlags.keyEncipherment | KeyUsageFlags.keyAgreement },
  'code-signing': { issuer: 'firmware-ca', validityDays: 3 * YEAR, allowRsa: true, extendedKeyUsages: [EKU_CODE_SIGNING],
    keyUsages: KeyUsageFlags.digitalSignature },
};

export const CA_KEY_USAGES = KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign;

/** Station ids are OCPP identity strings: at most 48 printable characters, no separators that could confuse a DN or a URL. */
export function isValidStationId(id: unknown): id is string {
  return typeof id === 'string' && /^[A-Za-z0-9._:*+@|-]{1,48}$/.test(id);
}

/** ISO 15118 EMAID: country (2), provider (3), instance (9), optional check character; dashes allowed as separators. */
export function normalizeEmaid(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const compact = input.replace(/-/g, '').toUpperCase();
  return /^[A-Z]{2}[A-Z0-9]{3}[A-Z0-9]{9}[A-Z0-9]?$/.test(compact) ? compact : undefined;
}

/** ISO 15118 PCID: 17 or 18 alphanumerics (WMI + vehicle + check). */
export function isValidPcid(input: unknown): input is string {
  return typeof input === 'string' && /^[A-Za-z0-9]{17,18}$/.test(input);
}

/** Lower-case hex without separators or leading zeros: the one spelling evguard stores and compares. */
export function normalizeSerial(input: unknown): string | undefined {
  if (typeof input !== 'string') return undefined;
  const hex = input.replace(/[:\s]/g, '').toLowerCase();
  if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
  return hex.replace(/^0+(?=.)/, '');
}
