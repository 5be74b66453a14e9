/** The transaction record and its event log, as the module's API and its billing export see them. */
import type { AuthorizationStatus } from '../model/station.js';

export type TransactionState = 'Started' | 'Updated' | 'Ended' | 'Refused' | 'Abandoned';
export const TRANSACTION_STATES: readonly TransactionState[] = ['Started', 'Updated', 'Ended', 'Refused', 'Abandoned'];

export interface Transaction {
  /** `<stationId>:<transactionId>`: names the transaction across the fleet. */
  id: string;
  stationId: string;
  /** The station's own id (2.x), or the integer the CSMS gave it (1.6). */
  transactionId: string;
  evseId?: number;
  connectorId?: number;
  idToken?: string;
  state: TransactionState;
  /** The authorization decision sent to the station for this transaction, and when. */
  authorization?: { status: AuthorizationStatus; at: string };
  startedAt?: string;
  endedAt?: string;
  /** Register at the start (1.6 meterStart; 2.x the Started event's register, else the first one reported). */
  energyStartWh?: number;
  /** Register at the end (1.6 meterStop; 2.x the Ended event's register, else the last in-order one). */
  energyStopWh?: number;
  /** Register now: the stop register once ended, else the newest in-order plausible reading. */
  energyWh?: number;
  /** Energy of the transaction: stop (or register now) minus start. What billing uses. */
  energyDeliveredWh?: number;
  /** Lowest and highest plausible register among the meter samples, to compare with start and stop. */
  sampledRegisterWh?: { lowest: number; highest: number };
  powerW?: number;
  soc?: number;
  stoppedReason?: string;
  /** Why this record needs a look: noStart, late, afterEnd, implausible:<reason>, samplesDisagree, refused, abandoned, lateEnd. */
  flags: string[];
  /** The transaction whose start abandoned this one. */
  abandonedBy?: string;
  events: number;
  seqGaps: number;
  offlineEvents: number;
  /** Messages that arrived out of order or after the end: logged, not applied. */
  lateEvents: number;
  /** Messages with implausible readings: logged, not applied. */
  implausibleEvents: number;
  updatedAt: string;
}

export interface TransactionEventLogEntry {
  kind: 'Started' | 'Updated' | 'Ended';
  seqNo?: number;
  timestamp: string;
  receivedAt: string;
  offline: boolean;
  /** Empty when the message was applied; else why it was not (late, afterEnd, implausible:<reason>, …). */
  flags: string[];
  meter?: unknown[];
  energyRegisterWh?: number;
  triggerReason?: string;
  stoppedReason?: string;
  chargingState?: string;
  idToken?: string;
}
