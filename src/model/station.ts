/**
 * The one internal model that OCPP 1.6, 2.0.1 and 2.1 are mapped onto. Domain
 * code implements `StationDomain` and never sees a version-specific shape; the
 * version adapters in src/ocpp/adapters translate each version's messages into
 * these calls. It lives outside src/ocpp so that the transport depends on the
 * model and the domain never imports the transport.
 */
import type { OcppVersion } from './ocpp-version.js';

export interface StationContext {
  readonly stationId: string;
  readonly version: OcppVersion;
  readonly securityProfile: 1 | 2 | 3;
  readonly remoteAddress: string;
  /** The admission policy's token for this connection's own handshake (HandshakeDecision), opaque to everyone else. */
  readonly admission?: unknown;
}

export interface BootRequest {
  vendor: string;
  model: string;
  serialNumber?: string;
  firmwareVersion?: string;
  reason?: string;
}
export interface BootResult {
  status: 'Accepted' | 'Pending' | 'Rejected';
  intervalS: number;
  currentTime: string;
}

export interface ConnectorStatusReport {
  evseId: number;
  connectorId: number;
  status: string;
  errorCode?: string;
  timestamp: string;
}

/** The union of 1.6 idTagInfo and 2.x idTokenInfo statuses; adapters narrow it per version. */
export type AuthorizationStatus = 'Accepted' | 'Blocked' | 'Expired' | 'Invalid' | 'Unknown' | 'ConcurrentTx';

export interface AuthorizationRequest {
  idToken: string;
  tokenType: string;
  /** ISO 15118 contract certificate hash data (Plug & Charge). */
  iso15118CertificateHashData?: Record<string, string>[];
  certificate?: string;
}
export interface AuthorizationResult {
  status: AuthorizationStatus;
  expiresAt?: string;
  certificateStatus?: string;
}

export interface MeterSample {
  timestamp: string;
  /** OCPP measurand, default Energy.Active.Import.Register. */
  measurand: string;
  /** Normalised to Wh / W / Percent / A / V. */
  value: number;
  unit: string;
  context?: string;
  phase?: string;
  signed?: { signedMeterData: string; signingMethod?: string; encodingMethod?: string; publicKey?: string };
}

export interface TransactionEventIn {
  kind: 'Started' | 'Updated' | 'Ended';
  /** Absent only on a 1.6 StartTransaction, where the CSMS assigns the id. */
  transactionId?: string;
  /** The id is one the CSMS issued (1.6): it must have been issued to this station. */
  idIssuedByCsms?: boolean;
  /** Station sequence number (2.x); 1.6 messages carry none. */
  seqNo?: number;
  /** Identifies a retransmission of the same message, so offline replays count once. */
  dedupKey: string;
  timestamp: string;
  triggerReason?: string;
  evseId?: number;
  connectorId?: number;
  idToken?: { idToken: string; type: string };
  meter: MeterSample[];
  /** 1.6 meterStart / meterStop in Wh. */
  energyRegisterWh?: number;
  stoppedReason?: string;
  chargingState?: string;
  offline?: boolean;
}
export interface TransactionEventResult {
  transactionId: string;
  authorization?: AuthorizationResult;
}

export interface SecurityEventReport {
  type: string;
  timestamp: string;
  techInfo?: string;
}

export interface StationDomain {
  boot(ctx: StationContext, req: BootRequest): Promise<BootResult>;
  heartbeat(ctx: StationContext): Promise<{ currentTime: string }>;
  connectorStatus(ctx: StationContext, report: ConnectorStatusReport): Promise<void>;
  authorize(ctx: StationContext, req: AuthorizationRequest): Promise<AuthorizationResult>;
  transactionEvent(ctx: StationContext, event: TransactionEventIn): Promise<TransactionEventResult>;
  /** Meter values outside any transaction (2.x MeterValues, 1.6 MeterValues without transactionId). */
  meterValues(ctx: StationContext, evseId: number, samples: MeterSample[]): Promise<void>;
  securityEvent(ctx: StationContext, report: SecurityEventReport): Promise<void>;
  firmwareStatus(ctx: StationContext, report: { status: string; requestId?: number; signed: boolean }): Promise<void>;
  /** LogStatusNotification, NotifyEvent, NotifyReport, DiagnosticsStatusNotification …: stored as received. */
  report(ctx: StationContext, kind: string, payload: unknown): Promise<void>;
  signCertificate(ctx: StationContext, req: { csr: string; certificateType?: string }): Promise<'Accepted' | 'Rejected'>;
  get15118EVCertificate?(ctx: StationContext, req: { schemaVersion: string; action: string; exiRequest: string }): Promise<{ status: 'Accepted' | 'Failed'; exiResponse: string }>;
  getCertificateStatus?(ctx: StationContext, req: { ocspRequestData: Record<string, string> }): Promise<{ status: 'Accepted' | 'Failed'; ocspResult?: string }>;
}
