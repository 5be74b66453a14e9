/**
 * The trust module's API apart from the certificate lifecycle, so that the
 * lifecycle (lifecycle.ts) can depend on it without depending on the module
 * that creates it.
 */
import type { CertificateRevoked } from '../bus/changes.js';
import type { ClientCertificateCheck, StationCertificateType } from './station.js';
import type { CertificateRecord, InstalledCertificate } from './store.js';
import type { TicketKeys } from './tickets.js';

export interface CaSummary { name: string; purpose: string; pem: string; subject: string; notAfter: string; offline: boolean }

export interface TrustCore {
  ensureHierarchies(): Promise<void>;
  /** TLS session ticket keys shared through the store (tickets.ts). */
  readonly ticketKeys: TicketKeys;
  serverCredentials(): { key: string[]; cert: string[] };
  stationTrustAnchors(): string[];
  checkStationClientCertificate(chainDer: Buffer[], stationId: string): ClientCertificateCheck;
  signStationCsr(input: { csrPem: string; stationId: string; certificateType?: StationCertificateType }): Promise<{ certificateChainPem: string; serialHex: string; notAfter: string }>;
  revoke(serialHex: string, reason?: string): Promise<{ stationId?: string }>;
  isRevoked(serialHex: string): boolean;
  /** Called once per certificate this node learns is revoked (here, from another node's event, or from the store). */
  onRevocation(handler: (c: CertificateRevoked) => void): () => void;
  /** Reads revocations other nodes stored, so a lost `certificate.revoked` event is caught within STALE_BOUND_MS when called at that interval. */
  refreshRevocations(): Promise<void>;
  listCas(): CaSummary[];
  /** The root a station installs with InstallCertificate, by OCPP certificateType. */
  rootCertificatePem(type: 'CSMSRootCertificate' | 'V2GRootCertificate' | 'MORootCertificate' | 'ManufacturerRootCertificate'): string;
  listCertificates(filter?: { stationId?: string }): CertificateRecord[];
  /** One certificate issued here, by serial (any spelling), or undefined. */
  findCertificate(serialHex: unknown): CertificateRecord | undefined;
  expiringStationCertificates(days: number): CertificateRecord[];
  /** Publishes `certificate.expiring` for each station certificate expiring within `days`; returns them. */
  publishExpiryAlerts(days: number): CertificateRecord[];
  /** Stores what a station reported in GetInstalledCertificateIds (replaces its previous report). */
  recordInstalledCertificates(stationId: string, entries: { certificateType: string; hashAlgorithm: string; issuerNameHash: string; issuerKeyHash: string; serialNumber: string }[]): Promise<void>;
  installedCertificates(stationId: string): Promise<InstalledCertificate[]>;
  crlDer(caName: string): Promise<Buffer>;
  ocspRespond(requestDer: Buffer): Promise<Buffer>;
  /** An OCSP response for one of the node's own TLS certificates, for stapling (cached for half its validity). */
  stapledOcsp(certDer: Buffer, issuerDer: Buffer): Promise<Buffer | undefined>;
  get15118EVCertificate(input: { iso15118SchemaVersion?: string; action: 'Install' | 'Update'; exiRequest: string }): Promise<import('./contracts.js').Get15118EVCertificateResult>;
  getCertificateStatus(ocspRequestData: import('./contracts.js').OcspRequestData): Promise<import('./contracts.js').GetCertificateStatusResult>;
  authorizeContract(input: { emaid?: string; certificatePem?: string; iso15118CertificateHashData?: import('./contracts.js').OcspRequestData[] }): Promise<import('./contracts.js').ContractAuthorization>;
  registerContract(input: { pcid: string; emaid: string }): Promise<void>;
  /** The state of the newest contract certificate issued for an EMAID, or undefined when none was. */
  contractStatus(emaid: string): 'Accepted' | 'Blocked' | 'Expired' | undefined;
  issueOemProvisioningCertificate(input: { pcid: string; csrPem: string }): Promise<{ certificateChainPem: string; serialHex: string }>;
  issueContractCertificate(input: { emaid: string; csrPem: string }): Promise<{ certificateChainPem: string; serialHex: string }>;
  /** A firmware signing certificate (CN = signer name) from the firmware CA. */
  issueCodeSigningCertificate(input: { name: string; publicKeyPem: string }): Promise<{ certificateChainPem: string; serialHex: string }>;
  exportCaCsr(caName: string): Promise<string>;
  importCa(caName: string, input: { certPem: string; keyPem?: string; keyPassphrase?: string }): Promise<CaSummary>;
}
