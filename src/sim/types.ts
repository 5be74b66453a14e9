/** Public types of the simulators; the factories live in station.ts and fleet.ts. */
import type { EventEmitter } from 'node:events';
import type { SimValidator } from './schemas.js';
import type { OcppVersion } from '../model/ocpp-version.js';

export type { OcppVersion };
export type SecurityProfile = 1 | 2 | 3;
export type SimStationState = 'idle' | 'connecting' | 'open' | 'offline' | 'closed';

/** Connector statuses of both families; each is mapped to the version's own enum on the wire. */
export type ConnectorStatus =
  | 'Available' | 'Occupied' | 'Reserved' | 'Unavailable' | 'Faulted'
  | 'Preparing' | 'Charging' | 'SuspendedEVSE' | 'SuspendedEV' | 'Finishing';

export interface SimTlsOptions {
  ca?: string | string[];
  cert?: string;
  key?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  /**
   * Offer the TLS session of the last connection when reconnecting (session
   * tickets, RFC 8446 §2.2), as TLS stacks with a session cache do: an
   * abbreviated handshake where the CSMS still holds the ticket key. Default true.
   */
  resume?: boolean;
}

export interface SimStationOptions {
  /** Base endpoint, e.g. ws://127.0.0.1:8080/ocpp; the station id is appended percent-encoded. */
  url: string;
  id: string;
  ocppVersion: OcppVersion;
  securityProfile: SecurityProfile;
  /** HTTP Basic password for profiles 1 and 2 (username = id). */
  password?: string;
  tls?: SimTlsOptions;
  vendor?: string;
  model?: string;
  firmwareVersion?: string;
  serialNumber?: string;
  /** Connectors, each on its own EVSE in 2.x. Default 1. */
  connectors?: number;
  /** Largest power a connector delivers, in W. Default 22000. */
  maxPowerW?: number;
  /** O of the CSR subject. Default 'evguard'. */
  organization?: string;
  /** Behave like a weak station that lets the CSMS lower its security profile (for testing probes). Default false. */
  allowProfileDowngrade?: boolean;
  /** Periodic meter values during a transaction; none when absent. */
  meterIntervalMs?: number;
  /** Heartbeat period; the BootNotification interval when absent. */
  heartbeatIntervalMs?: number;
  /** WebSocket ping period, 0 disables. Default 30000. */
  pingIntervalMs?: number;
  callTimeoutMs?: number;
  now?: () => Date;
  /** Source address to bind, e.g. one of 127.0.0.0/8 for load generation. */
  localAddress?: string;
  /** Shared compiled schemas; a fleet passes one set to all its stations. */
  validators?: readonly SimValidator[];
  /** Firmware updater settings (trust anchors, TUF roots, CRL); see firmware.ts. */
  firmware?: SimFirmwareOptions;
}

export interface BootResult {
  status: string;
  interval: number;
}

export interface StartChargingOptions {
  connectorId: number;
  idToken: string;
  /** Requested power in W, capped by maxPowerW and any charging limit. */
  powerW?: number;
  /** 2.x IdTokenEnumType; default ISO14443. */
  idTokenType?: string;
  /** Set when the start answers a remote start request. */
  remoteStartId?: number;
}

export interface StartChargingResult {
  /**
   * 2.x: the station's own id. 1.6: the CSMS's integer id as a string, or the
   * station's local id while the StartTransaction waits in the offline queue.
   */
  transactionId: string;
  /** idTagInfo/idTokenInfo status; 'Queued' when the start happened offline. */
  idTokenStatus: string;
}

export interface CertificateAndKey {
  /** PEM chain, leaf first, as received in CertificateSigned. */
  cert: string;
  /** PKCS#8 PEM private key. */
  key: string;
}

/** One CALL the station sent, for statistics. */
export interface CallRecord {
  action: string;
  ms: number;
  ok: boolean;
  replayed: boolean;
}

export type IncomingHandler = (params: any) => unknown | Promise<unknown>;

export interface SimStation extends EventEmitter {
  readonly id: string;
  readonly ocppVersion: OcppVersion;
  readonly state: SimStationState;
  /** Messages waiting for the connection to come back. */
  readonly queuedMessages: number;
  connect(): Promise<BootResult>;
  boot(reason?: string): Promise<BootResult>;
  heartbeat(): Promise<void>;
  statusNotification(connectorId: number, status: ConnectorStatus): Promise<void>;
  authorize(idToken: string): Promise<string>;
  startCharging(opts: StartChargingOptions): Promise<StartChargingResult>;
  sendMeterValues(connectorId: number): Promise<void>;
  stopCharging(connectorId: number, reason?: string): Promise<void>;
  securityEvent(type: string, techInfo?: string): Promise<void>;
  goOffline(): void;
  /** Forgets the TLS session, so the next connection makes a full handshake (a station that cannot resume). */
  forgetTlsSession(): void;
  reconnect(): Promise<void>;
  requestCertificate(): Promise<void>;
  certificate(): CertificateAndKey | undefined;
  call(action: string, payload: unknown, opts?: { validate?: boolean }): Promise<unknown>;
  sendRaw(text: string): void;
  close(): Promise<void>;
  handle(action: string, fn: IncomingHandler): void;
  /** Energy register of a connector in Wh. */
  meterReading(connectorId: number): number;
  /** The transaction id on a connector, if any. */
  transactionId(connectorId: number): string | undefined;
}

export interface SimFirmwareOptions {
  /** Trust anchors for the HTTPS download (the CSMS's server CA chain). */
  ca?: string | string[];
  /** Manufacturer roots for signing certificates, beside any installed ManufacturerRootCertificate. */
  manufacturerRoots?: string[];
  /** Trusted TUF roots: with them the station verifies release metadata with tuf-js. */
  tuf?: { imageRoot: object; directorRoot: object };
  /** CRL of the manufacturer root; the signing certificate is checked against it. */
  crlUrl?: string;
  /** 1.6 only: the station implements the security extension (SignedUpdateFirmware). Default true. */
  securityExtension?: boolean;
  /** Make the installation step fail (InstallationFailed). */
  failInstall?: boolean;
  /** Largest image accepted, in bytes. Default 64 MiB. */
  maxBytes?: number;
}

/** The station's ISO 15118 front end as the simulated vehicle sees it (src/sim/ev.ts implements it). */
export interface SimSecc {
  /** CertificateInstallationReq / CertificateUpdateReq from the vehicle → Get15118EVCertificate. */
  certificateInstallation(exiRequest: string, action?: 'Install' | 'Update'): Promise<{ status: string; exiResponse: string; reasonCode?: string }>;
  /** PaymentDetailsReq (contract chain) → Authorize with the chain's OCSP request data. */
  paymentDetails(req: { eMAID: string; ContractSignatureCertChain: string[] }): Promise<{ ResponseCode: string; idTokenStatus: string; certificateStatus?: string }>;
  /** GetCertificateStatus for the first certificate of a chain: the base64 DER OCSP response. */
  certificateStatus(chain: string[]): Promise<{ status: string; ocspResult?: string; reasonCode?: string }>;
}
