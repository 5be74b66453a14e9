/**
 * The outgoing port: every command the domain sends to a station, in the
 * internal model's terms. src/ocpp/commands implements it once per OCPP
 * version (1.6J with the security extension, 2.0.1, 2.1) and the composition
 * root binds those adapters to the node's call path; a domain module gets
 * `commands: CommandsFor` in its deps, picks the adapter for the station's
 * version and never builds a version's payload or branches on the version.
 *
 * Answers are the station's as received (schema-checked by the gateway), so
 * `status` and the rest can go to the audit log unchanged.
 */
import type { OcppVersion } from './ocpp-version.js';

/** What the station answered; every answer the domain reads has a `status`. */
export interface StationAnswer {
  status?: string;
  [field: string]: unknown;
}

export interface CommandOptions {
  /** How long to wait for the answer (the gateway's default otherwise). */
  timeoutMs?: number;
}

/** Root certificate types a station's trust store takes (2.x names; 1.6 knows the first two). */
export const INSTALLABLE_TYPES = ['CSMSRootCertificate', 'ManufacturerRootCertificate', 'V2GRootCertificate', 'MORootCertificate', 'OEMRootCertificate'] as const;
export type InstallableType = (typeof INSTALLABLE_TYPES)[number];

export type StationCertificateKind = 'ChargingStationCertificate' | 'V2GCertificate';

export interface CertificateHashData {
  hashAlgorithm: string;
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
}

/** One certificate a station reported installed; children of a 2.x chain are `<type>Child`. */
export interface InstalledCertificateEntry extends CertificateHashData {
  certificateType: string;
}

/** A signed firmware update (OCPP L01 / 1.6 security extension). */
export interface SignedFirmwareRequest {
  requestId: number;
  location: string;
  retrieveDateTime: string;
  installDateTime?: string;
  signingCertificate: string;
  signature: string;
  retries: number;
  retryInterval: number;
}

/** A plain 1.6 UpdateFirmware: the station checks no signature. */
export interface UnsignedFirmwareRequest {
  location: string;
  retrieveDate: string;
  retries: number;
  retryInterval: number;
}

/** A whole-station charging profile (evseId / connectorId 0) with one schedule, limits in W. */
export interface ChargingProfileSpec {
  id: number;
  purpose: 'TxDefaultProfile' | 'ChargingStationMaxProfile';
  kind: 'Absolute';
  stackLevel: number;
  schedule: {
    startSchedule: string;
    duration: number;
    /** Seconds the station delays each period's start by, drawn by itself; only where `features.randomizedDelay`. */
    randomizedDelay?: number;
    periods: { startPeriod: number; limit: number }[];
  };
}

/** What a version of OCPP offers that the domain's decisions depend on. */
export interface ProtocolFeatures {
  /** Security events, the security log and signed firmware updates are part of the protocol (2.x); in 1.6 they come with the security extension, which a station may lack. */
  securityBuiltIn: boolean;
  /** BootNotification says why the station booted (2.x); without it every boot follows a start of the station (1.6). */
  bootReason: boolean;
  /** V2G (ISO 15118) certificates are requested, signed and renewed over OCPP (2.x). */
  v2gCertificates: boolean;
  /** The station reports its time source (ClockCtrlr.TimeSource, 2.x); otherwise it takes the CSMS time from BootNotification and Heartbeat. */
  timeSourceReported: boolean;
  /** A charging schedule may carry a delay the station draws itself (randomizedDelay, 2.1). */
  randomizedDelay: boolean;
}

export interface StationCommands {
  readonly version: OcppVersion;
  readonly features: ProtocolFeatures;
  /** Root certificate types this version's InstallCertificate takes. */
  readonly installableTypes: readonly InstallableType[];

  /** ChangeAvailability for the whole station. */
  setAvailability(stationId: string, status: 'Operative' | 'Inoperative'): Promise<StationAnswer>;
  /** Makes the station send a new CSR (TriggerMessage / 1.6 ExtendedTriggerMessage). */
  requestCsr(stationId: string, certificateType: StationCertificateKind): Promise<StationAnswer>;
  /** CertificateSigned: the chain signed for the station's CSR. */
  certificateSigned(stationId: string, certificateChainPem: string, certificateType: StationCertificateKind): Promise<StationAnswer>;
  /** InstallCertificate of a root; the type must be in `installableTypes`. */
  installCertificate(stationId: string, certificateType: InstallableType, certificatePem: string): Promise<StationAnswer>;
  /** GetInstalledCertificateIds, all types, as one list (types the station refuses are left out). */
  installedCertificates(stationId: string): Promise<InstalledCertificateEntry[]>;
  /** DeleteCertificate by the hash data the station reported. */
  deleteCertificate(stationId: string, hashData: CertificateHashData): Promise<StationAnswer>;
  /**
   * A signed firmware update. `signedUnsupported` is set when the station
   * answered that it does not implement it (a 1.6 station without the
   * security extension): the caller may fall back to `updateFirmwareUnsigned`.
   */
  updateFirmware(stationId: string, request: SignedFirmwareRequest): Promise<StationAnswer & { signedUnsupported?: boolean }>;
  /** A plain update without signature check; undefined where the version has none (2.x). */
  readonly updateFirmwareUnsigned?: (stationId: string, request: UnsignedFirmwareRequest) => Promise<StationAnswer>;
  /**
   * SetChargingProfile for the whole station. `onPayload` sees the exact
   * payload object before it is sent (the grid guard recognises its own
   * profiles by identity in beforeCall).
   */
  setChargingProfile(stationId: string, profile: ChargingProfileSpec, opts?: { onPayload?(payload: object): void }): Promise<StationAnswer>;
  /**
   * Reads configuration: 1.6 every key (GetConfiguration), 2.x the named
   * variables (GetVariables), as "Component.Variable"; accepted values only.
   */
  readConfiguration(stationId: string, variables: readonly { component: string; variable: string }[], opts?: CommandOptions): Promise<{ values: Record<string, string>; via: string }>;
}

/** The port as the domain receives it: the adapter for a station's version. */
export type CommandsFor = (version: OcppVersion) => StationCommands;

/** How an adapter reaches a station: the node's call path (the cluster router in cluster mode). */
export type SendCall = (stationId: string, action: string, payload: Record<string, unknown>, opts?: CommandOptions) => Promise<unknown>;
