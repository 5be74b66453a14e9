/** The shapes the node's REST API returns (see /api/v1/openapi.json). */

export interface Station {
  id: string;
  securityProfile: 1 | 2 | 3;
  registration: string;
  connected: boolean;
  ocppVersion?: string;
  firmwareVersion?: string;
  vendor?: string;
  model?: string;
  serialNumber?: string;
  tags?: string[];
  quarantined: boolean;
  lastBootAt?: string;
  lastSeenAt?: string;
  connectedSince?: string;
  remoteAddress?: string;
  createdAt: string;
  updatedAt: string;
  connectors?: { evseId: number; connectorId: number; status: string; updatedAt: string }[];
}

export interface AlertAction { id: string; kind: string; at: string; undone?: boolean; undoneBy?: string; undoneAt?: string; outcome: 'ok' | 'failed'; until?: string }
export interface Alert {
  id: string;
  detector: string;
  severity: string;
  title: string;
  description?: string;
  stationId?: string;
  createdAt: string;
  updatedAt: string;
  count: number;
  state: 'open' | 'acknowledged' | 'resolved';
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  evidence: Record<string, unknown>;
  actions: AlertAction[];
  comments: { by: string; text: string; at: string }[];
}

export interface SecurityEventRow {
  id?: string;
  stationId?: string;
  type: string;
  source?: string;
  critical?: boolean;
  techInfo?: string;
  remoteAddress?: string;
  timestamp: string;
}

export interface Transaction {
  /** `<stationId>:<transactionId>` */
  id: string;
  stationId: string;
  transactionId: string;
  evseId?: number;
  connectorId?: number;
  idToken?: string;
  state: 'Started' | 'Updated' | 'Ended' | 'Refused' | 'Abandoned';
  authorization?: { status: string; at: string };
  flags: string[];
  startedAt?: string;
  endedAt?: string;
  energyWh?: number;
  energyDeliveredWh?: number;
  powerW?: number;
  soc?: number;
  stoppedReason?: string;
  events: number;
  seqGaps: number;
  offlineEvents: number;
  updatedAt: string;
}

export interface MeterSample { timestamp: string; measurand: string; value: number; unit: string; phase?: string; signed?: unknown }
export interface TransactionDetail extends Transaction {
  eventLog: { kind: string; seqNo?: number; timestamp: string; offline: boolean; meter?: MeterSample[] }[];
}

export interface Certificate {
  serialHex: string;
  kind: string;
  issuerCa: string;
  stationId?: string;
  subject: string;
  commonName: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
  revokedAt?: string;
  revocationReason?: string;
}

export interface AuditRow {
  id: string;
  at: string;
  actor: string;
  role: string;
  action: string;
  target?: string;
  outcome: 'ok' | 'refused' | 'failed';
  details: Record<string, unknown>;
  sourceAddress?: string;
}

/** RFC 5280 §5.3.1 reason names, as the node accepts them. */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'] as const;
