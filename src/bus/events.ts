/**
 * Topics and payloads published on the bus: `TopicMap` names every topic and
 * its payload, and the bus is typed by it, so a publisher cannot send the
 * wrong shape and a subscriber gets its payload's type without a cast.
 * Producers and subscribers import these types; a topic's payload never
 * changes shape without a new topic.
 *
 * The type is the publishers' contract. In cluster mode events from other
 * nodes arrive over NATS and nothing checks them against it, so a subscriber
 * that acts on a field still checks that the field is there.
 */
import type { OcppVersion } from '../model/ocpp-version.js';
import type { Alert } from '../monitor/events.js';


export interface StationConnected { stationId: string; ocppVersion: OcppVersion; securityProfile: 1 | 2 | 3; remoteAddress: string; nodeId: string }
export interface StationDisconnected { stationId: string; code: number; reason: string }
export interface StationBooted { stationId: string; vendor: string; model: string; serialNumber?: string; firmwareVersion?: string; reason?: string; status: 'Accepted' | 'Pending' | 'Rejected' }
export interface ConnectorStatus { stationId: string; evseId: number; connectorId: number; status: string; timestamp: string }

/**
 * A security event, whether the station reported it (SecurityEventNotification)
 * or the CSMS observed it itself (failed authentication, downgrade, replay, …).
 */
export interface SecurityEvent {
  id?: number;
  stationId?: string;
  type: string;
  source: 'station' | 'csms';
  critical: boolean;
  techInfo?: string;
  remoteAddress?: string;
  timestamp: string;
  /** How many occurrences this record stands for (a flooding station's events are stored in bursts); 1 when absent. */
  occurrences?: number;
}

export interface TransactionChanged {
  stationId: string;
  transactionId: string;
  eventType: 'Started' | 'Updated' | 'Ended';
  /** The station's seqNo (2.x) or the message's place in the transaction (1.6); absent on changes the CSMS makes itself (an abandonment). */
  seqNo?: number;
  timestamp: string;
  evseId?: number;
  connectorId?: number;
  idToken?: string;
  /** Energy register in Wh, as reported. */
  energyWh?: number;
  /** Active import power in W, as reported. */
  powerW?: number;
  soc?: number;
  /** Signed meter data (OCMF or vendor format) exactly as the station sent it. */
  signedMeterValues?: { signedMeterData: string; signingMethod?: string; encodingMethod?: string; publicKey?: string }[];
  /** The record's state after this message: Started, Updated, Ended, Refused or Abandoned. */
  state?: string;
  /**
   * Why this message did not change the record (late, afterEnd, implausible:<reason>, abandoned).
   * Values of a flagged message are evidence only: never load, never billing.
   */
  flags?: string[];
}

/** A station's report stored as received (LogStatusNotification, NotifyReport, …; src/stations). */
export interface StationReport { stationId: string; kind: string; payload: unknown }

/** FirmwareStatusNotification (1.6 and 2.x) or SignedFirmwareStatusNotification (1.6 security extension). */
export interface FirmwareStatus { stationId: string; status: string; requestId?: number; signed: boolean }

/** A firmware campaign was created or changed state (src/firmware). */
export interface FirmwareCampaignChanged { campaignId: string; state: string; from?: string; haltReason?: string; firmwareId?: string }

/** A certificate was issued (src/trust); closes the renewal that asked for it. */
export interface CertificateIssued { serialHex: string; stationId?: string; notAfter: string; certificateType: string }

/** A station certificate expires within the warning period (src/trust). */
export interface CertificateExpiring { serialHex: string; stationId?: string; kind: string; notAfter: string }

/** A received threat indicator matched live traffic (src/intel); the monitor raises an alert from it. */
export interface IndicatorSighted {
  indicatorId: string;
  name?: string;
  kind?: string;
  sightingId: string;
  count: number;
  stationId?: string;
  remoteAddress?: string;
  at: string;
}

/** A station's credentials, profile, registration or quarantine changed, or it was created or deleted. */
export interface StationChanged {
  stationId: string;
  change: 'created' | 'updated' | 'deleted';
}

/** An operator API token was revoked. */
export interface ApiTokenChanged {
  tokenId: string;
  change: 'revoked';
}

/** A lock-out set or lifted (src/monitor/responses.ts). */
export interface LockoutChanged {
  op: 'set' | 'lift';
  /** What it locks: a (station, address) pair, an address, or a station (slow-down only). */
  stationId?: string;
  remoteAddress?: string;
  mode?: 'refuse' | 'slow';
  id?: string;
  until?: string;
  reason?: string;
}

/** A certificate evguard issued was revoked (src/trust). */
export interface CertificateRevoked {
  serialHex: string;
  stationId?: string;
  kind?: string;
  reason?: string;
  revokedAt: string;
}

/** Enforced threat indicators changed (src/intel). */
export interface IndicatorsChanged {
  source: string;
  enforced: number;
  notEnforced: number;
}

/** The grid's sites, feeders or station assignments changed (src/grid). */
export interface GridLimitsChanged {
  kind: 'feeder' | 'site' | 'station';
  id: string;
}

/**
 * Topic → payload of every change event (src/bus/changes.ts): state whose
 * caches every node drops or refreshes when it hears one.
 */
export interface ChangeEvents {
  'station.changed': StationChanged;
  'api-token.changed': ApiTokenChanged;
  'monitor.lockout': LockoutChanged;
  'certificate.revoked': CertificateRevoked;
  'intel.indicators.imported': IndicatorsChanged;
  'grid.limits.changed': GridLimitsChanged;
}

/** Topic → payload of every event on the bus. */
export interface TopicMap extends ChangeEvents {
  'station.connected': StationConnected;
  'station.disconnected': StationDisconnected;
  'station.booted': StationBooted;
  'station.status': ConnectorStatus;
  'station.report': StationReport;
  'security.event': SecurityEvent;
  'transaction.changed': TransactionChanged;
  'firmware.status': FirmwareStatus;
  'firmware.campaign': FirmwareCampaignChanged;
  'alert.raised': Alert;
  'alert.changed': Alert;
  'certificate.issued': CertificateIssued;
  'certificate.expiring': CertificateExpiring;
  'intel.indicator.sighted': IndicatorSighted;
}

export type Topic = keyof TopicMap;

/** Names for every topic, for code that prefers a constant to the string. */
export const Topics = {
  stationConnected: 'station.connected',
  stationDisconnected: 'station.disconnected',
  stationBooted: 'station.booted',
  connectorStatus: 'station.status',
  stationReport: 'station.report',
  stationChanged: 'station.changed',
  securityEvent: 'security.event',
  transactionChanged: 'transaction.changed',
  firmwareStatus: 'firmware.status',
  firmwareCampaign: 'firmware.campaign',
  alertRaised: 'alert.raised',
  alertChanged: 'alert.changed',
  monitorLockout: 'monitor.lockout',
  certificateIssued: 'certificate.issued',
  certificateExpiring: 'certificate.expiring',
  certificateRevoked: 'certificate.revoked',
  apiTokenChanged: 'api-token.changed',
  gridLimitsChanged: 'grid.limits.changed',
  indicatorSighted: 'intel.indicator.sighted',
  indicatorsImported: 'intel.indicators.imported',
} as const satisfies Record<string, Topic>;

// Every topic has a name in Topics: a topic added to TopicMap without one fails to compile here.
type Unnamed = Exclude<Topic, (typeof Topics)[keyof typeof Topics]>;
export const EVERY_TOPIC_NAMED: [Unnamed] extends [never] ? true : Unnamed = true;
