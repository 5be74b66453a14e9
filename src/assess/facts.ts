/**
 * What the assessment knows about one station: its registration, its live
 * session, its certificates, its configuration as the station itself reported
 * it (GetConfiguration in 1.6, GetVariables / NotifyReport in 2.x), its
 * security events and open alerts, and when its password last changed.
 */
import type { ProtocolFeatures } from '../model/commands.js';

export interface Advisory {
  /** Matched case-insensitively; omitted fields match any station. */
  vendor?: string;
  model?: string;
  /** Exact firmware versions affected. */
  versions?: string[];
  /** Every version that sorts below this one (numeric-aware) is affected. */
  fixedIn?: string;
  /** Advisory id or URL, shown as evidence. */
  advisory: string;
  severity?: 'medium' | 'high' | 'critical';
}

export interface StationFacts {
  stationId: string;
  securityProfile: 1 | 2 | 3;
  registration: string;
  ocppVersion?: string;
  /** What the station's OCPP version offers (the version adapter's features); undefined while the version is not known. */
  protocol?: ProtocolFeatures;
  vendor?: string;
  model?: string;
  firmwareVersion?: string;
  quarantined: boolean;
  createdAt: string;
  lastSeenAt?: string;
  /** Live session, if connected now. */
  session?: { securityProfile: 1 | 2 | 3; version: string; connectedAt: string };
  /** The node's own TLS listener policy, which every wss:// session went through. */
  listenerMinTls: string;
  hasPassword: boolean;
  passwordChangedAt?: string;
  certificates: { serialHex: string; kind: string; notAfter: string; revokedAt?: string }[];
  /**
   * Configuration as the station reported it: 1.6 keys as-is, 2.x as
   * "Component.Variable". Undefined when nothing was ever read.
   */
  configuration?: Record<string, string>;
  configurationReadAt?: string;
  /** Whether the station ever sent a SecurityEventNotification, and of which types. */
  stationEventTypes: string[];
  /** A Signed(Firmware)StatusNotification was seen from this station. */
  signedFirmwareSeen: boolean;
  openAlerts: { id: string; severity: string; title: string; detector: string }[];
  advisories: Advisory[];
  now: Date;
}

/** Reads a configuration value by any of its names (1.6 key or 2.x Component.Variable). */
export function configValue(f: StationFacts, ...names: string[]): string | undefined {
  if (!f.configuration) return undefined;
  for (const n of names) {
    const v = f.configuration[n];
    if (v !== undefined) return v;
  }
  return undefined;
}

/** Turns stored 2.x NotifyReport payloads into the configuration map (Actual values). */
export function fromNotifyReports(payloads: unknown[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of payloads) {
    for (const d of Array.isArray((p as any)?.reportData) ? (p as any).reportData : []) {
      const c = d?.component?.name;
      const v = d?.variable?.name;
      if (typeof c !== 'string' || typeof v !== 'string') continue;
      const attrs = Array.isArray(d.variableAttribute) ? d.variableAttribute : [];
      const actual = attrs.find((a: any) => (a?.type ?? 'Actual') === 'Actual');
      if (actual && actual.value !== undefined) out[`${c}.${v}`] = String(actual.value);
    }
  }
  return out;
}

/** The 2.x variables the assessment asks for; each is named in a rule. */
export const ASSESSED_VARIABLES: { component: string; variable: string }[] = [
  { component: 'SecurityCtrlr', variable: 'SecurityProfile' },
  { component: 'SecurityCtrlr', variable: 'OrganizationName' },
  { component: 'SecurityCtrlr', variable: 'Identity' },
  { component: 'SecurityCtrlr', variable: 'AdditionalRootCertificateCheck' },
  { component: 'SecurityCtrlr', variable: 'CertificateEntries' },
  { component: 'ClockCtrlr', variable: 'TimeSource' },
  { component: 'ClockCtrlr', variable: 'DateTime' },
  { component: 'AuthCtrlr', variable: 'OfflineTxForUnknownIdEnabled' },
  { component: 'AuthCtrlr', variable: 'LocalAuthorizeOffline' },
  { component: 'AuthCtrlr', variable: 'AuthorizeRemoteStart' },
  { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval' },
];
