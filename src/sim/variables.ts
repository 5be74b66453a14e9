/**
 * The station's configuration, readable as 1.6 configuration keys and as
 * 2.x device-model component/variable pairs. Write-only values (passwords)
 * are never reported, as both the 1.6 security whitepaper and 2.0.1 require.
 */
import type { OcppVersion } from './types.js';

export type Mutability = 'ReadOnly' | 'ReadWrite' | 'WriteOnly';

export interface SimVariable {
  /** 2.x component and variable; absent where the key exists only in 1.6. */
  component?: string;
  variable?: string;
  /** 1.6 configuration key; absent where the variable exists only in 2.x. */
  key16?: string;
  value: string;
  mutability: Mutability;
  dataType: 'integer' | 'string' | 'boolean';
  /** Extra check on a new value; returns false to reject it. */
  accepts?: (value: string) => boolean;
}

export type SetOutcome = 'Accepted' | 'Rejected';

export interface DeviceModel {
  all(): readonly SimVariable[];
  byKey16(key: string): SimVariable | undefined;
  byName(component: string, variable: string): SimVariable | undefined;
  hasComponent(component: string): boolean;
  get(component: string, variable: string): string | undefined;
  set(entry: SimVariable, value: string): SetOutcome;
}

export interface DeviceModelSeed {
  version: OcppVersion;
  connectors: number;
  heartbeatIntervalS: number;
  meterIntervalS: number;
  securityProfile: number;
  organization: string;
  id: string;
  allowProfileDowngrade?: boolean;
}

// OCPP 2.0.1 Part 2 Appendix: BasicAuthPassword is 16..40 characters.
const passwordRule = (v: string) => v.length >= 16 && v.length <= 40;
const nonNegativeInt = (v: string) => /^\d{1,9}$/.test(v);

export function createDeviceModel(seed: DeviceModelSeed, onChange: (entry: SimVariable) => void): DeviceModel {
  const v16 = seed.version === '1.6';
  const candidates: SimVariable[] = [
    { component: 'OCPPCommCtrlr', variable: 'HeartbeatInterval', key16: 'HeartbeatInterval', value: String(seed.heartbeatIntervalS), mutability: 'ReadWrite', dataType: 'integer', accepts: nonNegativeInt },
    { component: 'SampledDataCtrlr', variable: 'TxUpdatedInterval', key16: 'MeterValueSampleInterval', value: String(seed.meterIntervalS), mutability: 'ReadWrite', dataType: 'integer', accepts: nonNegativeInt },
    // 2.0.1 changes the profile through SetNetworkProfile, so the variable is read-only there.
    { component: 'SecurityCtrlr', variable: 'SecurityProfile', key16: 'SecurityProfile', value: String(seed.securityProfile), mutability: v16 ? 'ReadWrite' : 'ReadOnly', dataType: 'integer' },
    { component: 'SecurityCtrlr', variable: 'BasicAuthPassword', key16: 'AuthorizationKey', value: '', mutability: 'WriteOnly', dataType: 'string', accepts: passwordRule },
    { component: 'SecurityCtrlr', variable: 'OrganizationName', key16: 'CpoName', value: seed.organization, mutability: 'ReadWrite', dataType: 'string', accepts: (v) => v.length > 0 && v.length <= 64 },
    { component: 'SecurityCtrlr', variable: 'Identity', value: seed.id, mutability: 'ReadOnly', dataType: 'string' },
    { component: 'AuthCtrlr', variable: 'AuthorizeRemoteStart', key16: 'AuthorizeRemoteTxRequests', value: 'false', mutability: 'ReadWrite', dataType: 'boolean', accepts: (v) => v === 'true' || v === 'false' },
    { key16: 'NumberOfConnectors', value: String(seed.connectors), mutability: 'ReadOnly', dataType: 'integer' },
  ];
  const entries = candidates.filter((e) => (v16 ? e.key16 !== undefined : e.component !== undefined));
  // OCPP 1.6 security whitepaper §2.3 / 2.0.1 A00.FR.204: a station never lowers its security profile.
  const profile = candidates[2]!;
  profile.accepts = (v) => ['1', '2', '3'].includes(v) && (seed.allowProfileDowngrade === true || Number(v) >= Number(profile.value));

  return {
    all: () => entries,
    byKey16: (key) => entries.find((e) => e.key16 === key),
    byName: (component, variable) => entries.find((e) => e.component === component && e.variable === variable),
    hasComponent: (component) => entries.some((e) => e.component === component),
    get: (component, variable) => entries.find((e) => e.component === component && e.variable === variable)?.value,
    set(entry, value) {
      if (entry.mutability === 'ReadOnly') return 'Rejected';
      if (entry.accepts && !entry.accepts(value)) return 'Rejected';
      entry.value = value;
      onChange(entry);
      return 'Accepted';
    },
  };
}
