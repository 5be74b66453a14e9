/**
 * Topics and payloads published on the bus. Producers and subscribers import
 * these types; a topic's payload never changes shape without a new topic.
 */
import type { OcppVersion } from '../model/ocpp-version.js';


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

export const Topics = {
  stationConnected: 'station.connected',
  stationDisconnected: 'station.disconnected',
  stationBooted: 'station.booted',
  connectorStatus: 'station.status',
  securityEvent: 'security.event',
  transactionChanged: 'transaction.changed',
  firmwareStatus: 'firmware.status',
  alertRaised: 'alert.raised',
  alertChanged: 'alert.changed',
} as const;
