/** The shapes the console reads: the API's own (api-types.ts, generated from /api/v1/openapi.json), named as the views use them. */

import type { Alert, AuditEntry, Campaign, Certificate, FirmwareImage, GridLevel, GridSnapshot, SecurityEvent, Station, Transaction } from './api-types';

export type { Alert, Campaign, Certificate, FirmwareImage, GridLevel, GridSnapshot, Station, Transaction };
export type CampaignStation = NonNullable<Campaign['stations']>[number];
export type AlertAction = Alert['actions'][number];
export type SecurityEventRow = SecurityEvent;
export type AuditRow = AuditEntry;

/** A meter sample as the transactions module stores it (the API leaves its fields open). */
export interface MeterSample { timestamp: string; measurand: string; value: number; unit: string; phase?: string; signed?: unknown }
/** One transaction read with its event log, whose meter samples the console charts. */
export interface TransactionDetail extends Transaction {
  eventLog: (NonNullable<Transaction['eventLog']>[number] & { meter?: MeterSample[] })[];
}

/** RFC 5280 §5.3.1 reason names, as the node accepts them. */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise'] as const;
