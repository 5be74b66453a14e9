/**
 * The shapes the node's REST API answers with, generated from its OpenAPI
 * document (src/api/schemas.ts) by `npm run api:types`. Do not edit: a test
 * fails when this file differs from what the node declares.
 */
/**
 * TAXII 2.1's error message resource (section 3.6.1), with the node's own error beside it
 */
export type TaxiiError = ApiError & {
  title: string;
  http_status: string;
  error_code: string;
};

export interface ApiShapes {
  Alert: Alert;
  ApiToken: ApiToken;
  Approval: Approval;
  AssessmentSummary: AssessmentSummary;
  AuditEntry: AuditEntry;
  BaselineRule: BaselineRule;
  BillingRecord: BillingRecord;
  Campaign: Campaign;
  Certificate: Certificate;
  CertificateRenewal: CertificateRenewal;
  Connector: Connector;
  Error: ApiError;
  FirmwareImage: FirmwareImage;
  GridLevel: GridLevel;
  GridLimit: GridLimit;
  GridSnapshot: GridSnapshot;
  IdToken: IdToken;
  InstalledCertificate: InstalledCertificate;
  MeterKey: MeterKey;
  SecurityEvent: SecurityEvent;
  Station: Station;
  StationAssessment: StationAssessment;
  StationAssignment: StationAssignment;
  StationReport: StationReport;
  TaxiiError: TaxiiError;
  Transaction: Transaction;
  TransactionEvent: TransactionEvent;
}
/**
 * A detector's finding, aggregated, with its lifecycle, automatic actions and comments
 */
export interface Alert {
  id: string;
  detector: string;
  severity: "low" | "medium" | "high" | "critical";
  title: string;
  description?: string;
  stationId?: string;
  createdAt: string;
  updatedAt: string;
  /**
   * Findings aggregated into this alert
   */
  count: number;
  state: "open" | "acknowledged" | "resolved";
  acknowledgedBy?: string;
  acknowledgedAt?: string;
  resolvedBy?: string;
  resolvedAt?: string;
  evidence: {
    [k: string]: unknown | undefined;
  };
  actions: {
    id: string;
    kind: string;
    at: string;
    outcome: "ok" | "failed";
    until?: string;
    undone?: boolean;
    undoneBy?: string;
    undoneAt?: string;
  }[];
  comments: {
    by: string;
    text: string;
    at: string;
  }[];
}
/**
 * An API token; its secret is shown once, when it is made
 */
export interface ApiToken {
  id: string;
  name: string;
  role: "auditor" | "operator" | "admin";
  createdAt?: string;
  revokedAt?: string;
  /**
   * The bearer secret: only in the answer to POST /api/v1/tokens
   */
  token?: string;
}
/**
 * A two-person approval for a mass action
 */
export interface Approval {
  id: string;
  state: "pending" | "approved" | "expired" | "used";
  requestedBy: string;
  approvedBy?: string;
  reason: string;
  stations: number;
  /**
   * Stations the approved action may still command
   */
  remaining: number;
  createdAt: string;
  expiresAt: string;
}
/**
 * The fleet judged against the baseline
 */
export interface AssessmentSummary {
  assessedAt: string;
  stations: number;
  /**
   * Mean of the station scores
   */
  score: number;
  grade: "A" | "B" | "C" | "D" | "F";
  /**
   * Stations per grade
   */
  grades: {
    [k: string]: number | undefined;
  };
  /**
   * Per rule, how many stations fail it; worst first
   */
  rules: {
    id: string;
    title: string;
    severity: "low" | "medium" | "high" | "critical";
    fail: number;
    unknown: number;
    pass: number;
  }[];
  /**
   * Lowest-scoring stations first
   */
  worst: {
    stationId: string;
    score: number;
    grade: string;
    failing: string[];
  }[];
  /**
   * Only with details=true
   */
  assessments?: StationAssessment[];
}
/**
 * A station judged against the baseline
 */
export interface StationAssessment {
  stationId: string;
  assessedAt: string;
  /**
   * 0-100: weighted share of applicable rules met
   */
  score: number;
  grade: "A" | "B" | "C" | "D" | "F";
  profiles: ("all" | "wireless")[];
  configurationReadAt?: string;
  counts: {
    pass: number;
    fail: number;
    unknown: number;
    "not-applicable": number;
  };
  results: {
    id: string;
    title: string;
    severity: "low" | "medium" | "high" | "critical";
    status: "pass" | "fail" | "unknown" | "not-applicable";
    evidence: string;
    sources: string[];
    remedy: string;
  }[];
  /**
   * After POST: how reading the station's configuration went
   */
  refresh?: string;
}
/**
 * One audited call or automatic action
 */
export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  role: string;
  /**
   * METHOD and route, or the automatic action
   */
  action: string;
  target?: string;
  outcome: "ok" | "refused" | "failed";
  details: {
    [k: string]: unknown | undefined;
  };
  sourceAddress?: string;
}
/**
 * A rule of the baseline
 */
export interface BaselineRule {
  id: string;
  title: string;
  severity: "low" | "medium" | "high" | "critical";
  /**
   * Public guidance, most specific first
   */
  sources: string[];
  /**
   * How the node verifies it
   */
  verification: string;
  remedy: string;
  profile: "all" | "wireless";
}
/**
 * A transaction's billing record; sha256 is over its RFC 8785 canonical form without sha256
 */
export interface BillingRecord {
  format: "evguard-billing-record/1";
  transaction: {
    id: string;
    stationId: string;
    transactionId: string;
    evseId?: number;
    connectorId?: number;
    idToken?: string;
    state: string;
    /**
     * The authorization decision sent to the station, and when
     */
    authorization?: {
      status: string;
      at?: string;
    };
    startedAt?: string;
    endedAt?: string;
    stoppedReason?: string;
  };
  energy: {
    startWh?: number;
    stopWh?: number;
    /**
     * Only when billable
     */
    deliveredWh?: number;
    sampledRegisterWh?: {
      lowest: number;
      highest: number;
    };
  };
  /**
   * Ended, authorized, with start and stop registers, and no implausible reading
   */
  billable: boolean;
  /**
   * Why a settlement should look before it pays
   */
  review: string[];
  signedMeterValues: {
    /**
     * Index into eventLog
     */
    event: number;
    timestamp?: string;
    measurand?: string;
    context?: string;
    signedMeterData: string;
    signingMethod?: string;
    encodingMethod?: string;
    publicKey?: string;
    check: {
      /**
       * verified, failed, noKey, ...
       */
      result: string;
      [k: string]: unknown | undefined;
    };
  }[];
  eventLog: TransactionEvent[];
  sha256: string;
}
/**
 * One TransactionEvent (2.x) or Start/Stop/MeterValues message (1.6) as received, with why it was not applied if it was not
 */
export interface TransactionEvent {
  kind: "Started" | "Updated" | "Ended";
  seqNo?: number;
  timestamp: string;
  receivedAt: string;
  offline: boolean;
  /**
   * Empty when applied; else why not (late, afterEnd, implausible:<reason>, ...)
   */
  flags: string[];
  /**
   * Meter samples: timestamp, measurand, value, unit, phase, signed
   */
  meter?: {
    [k: string]: unknown | undefined;
  }[];
  energyRegisterWh?: number;
  triggerReason?: string;
  stoppedReason?: string;
  chargingState?: string;
  idToken?: string;
}
/**
 * A firmware update campaign: canary wave first, halted when too many fail
 */
export interface Campaign {
  id: string;
  firmwareId: string;
  state: "running" | "paused" | "halted" | "aborted" | "completed";
  currentWave: number;
  haltReason?: string;
  spec: {
    canaryPercent: number;
    waveSize: number;
    failureThresholdPercent: number;
    window?: {
      start: string;
      end: string;
    };
    allowInsecure?: boolean;
    forced?: {
      reason: string;
      by: string;
    };
    acknowledged?: {
      failed: number;
      dispatched: number;
    };
    [k: string]: unknown | undefined;
  };
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  /**
   * Stations per update state
   */
  counts: {
    [k: string]: number | undefined;
  };
  /**
   * Not in the list of campaigns
   */
  stations?: {
    stationId: string;
    /**
     * -1: refused or skipped before the first wave
     */
    wave: number;
    state:
      "pending" | "sent" | "downloading" | "installing" | "installed" | "succeeded" | "failed" | "refused" | "skipped";
    requestId: number;
    ocppStatus?: string;
    detail?: string;
    insecure: boolean;
    fromVersion?: string;
    reportedVersion?: string;
    installAt?: string;
    updatedAt: string;
  }[];
}
/**
 * A certificate the node's CAs issued
 */
export interface Certificate {
  serialHex: string;
  kind: "ca" | "station" | "secc" | "server" | "cps" | "oem-provisioning" | "contract" | "code-signing";
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
/**
 * A certificate renewal the node asked a station for
 */
export interface CertificateRenewal {
  id: string;
  stationId: string;
  certificateType: "ChargingStationCertificate" | "V2GCertificate";
  reason: "scheduled" | "operator";
  expiringSerial?: string;
  state: "requested" | "refused" | "completed" | "failed";
  stationStatus?: string;
  newSerial?: string;
  requestedAt: string;
  completedAt?: string;
}
/**
 * A connector and its last reported status
 */
export interface Connector {
  evseId: number;
  connectorId: number;
  status: string;
  updatedAt: string;
}
/**
 * What went wrong: a stable code (docs/errors.md lists them all) and a message that is safe to show
 */
export interface ApiError {
  error: {
    code: string;
    message: string;
  };
}
/**
 * A firmware image in its vendor's TUF repository
 */
export interface FirmwareImage {
  id: string;
  vendor: string;
  models: string[];
  version: string;
  sha256: string;
  length: number;
  releaseCounter: number;
  signed: boolean;
  signer?: "evguard" | "imported";
  signature?: string;
  signingCertificate?: string;
  createdAt: string;
  targetPath: string;
}
/**
 * Load and limits of the fleet, a feeder or a site
 */
export interface GridLevel {
  id: string;
  name?: string;
  feederId?: string;
  loadKw: number;
  reservedKw: number;
  /**
   * In force: the configured limit, or a lower DSO limit
   */
  limitKw?: number;
  configuredLimitKw?: number;
  dsoLimitKw?: number;
  rampKwPerS?: number;
  stations: number;
}
/**
 * A feeder or a site and its configured limit
 */
export interface GridLimit {
  id: string;
  name: string;
  /**
   * Sites only
   */
  feederId?: string;
  limitKw: number;
  rampKwPerS?: number;
  updatedAt: string;
}
/**
 * The load now, at every level
 */
export interface GridSnapshot {
  at: string;
  fleet: GridLevel;
  feeders: GridLevel[];
  sites: GridLevel[];
  /**
   * Only in GET /api/v1/grid: utility limits in force (OpenADR)
   */
  dsoLimits?: {
    siteId: string;
    limitKw: number;
    until: string;
    source: string;
  }[];
  /**
   * Only in GET /api/v1/grid: the grid guard's counters
   */
  guard?: {
    checked: number;
    passed: number;
    held: number;
    heldMsTotal: number;
    /**
     * Refused commands by error code
     */
    refused: {
      [k: string]: number | undefined;
    };
  };
}
/**
 * An idToken stations may charge with, and its status
 */
export interface IdToken {
  idToken: string;
  type: string;
  status: "Accepted" | "Blocked" | "Expired" | "Invalid";
  expiresAt?: string;
  createdAt: string;
}
/**
 * A certificate in the station's trust store, as it last reported, and what the node knows of it
 */
export interface InstalledCertificate {
  stationId: string;
  certificateType: string;
  hashAlgorithm: string;
  issuerNameHash: string;
  issuerKeyHash: string;
  serialHex: string;
  reportedAt: string;
  /**
   * Set when evguard issued it or it is one of evguard's CAs
   */
  known?: {
    name: string;
    notAfter: string;
    revoked: boolean;
    expiresInDays: number;
  };
}
/**
 * A signing meter's public key
 */
export interface MeterKey {
  stationId: string;
  /**
   * OCMF meter serial, or * for any meter of the station
   */
  meterSerial: string;
  /**
   * Base64 DER SubjectPublicKeyInfo
   */
  publicKey: string;
  /**
   * e.g. ec/prime256v1
   */
  keyType: string;
  updatedAt: string;
}
/**
 * A security event a station reported or the CSMS recorded
 */
export interface SecurityEvent {
  id: number;
  stationId?: string;
  type: string;
  source: "station" | "csms";
  critical: boolean;
  techInfo?: string;
  /**
   * How many occurrences this record stands for, when more than one
   */
  occurrences?: number;
  remoteAddress?: string;
  timestamp: string;
}
/**
 * A registered station, with where it is connected now (if it is)
 */
export interface Station {
  id: string;
  securityProfile: 1 | 2 | 3;
  registration: "Accepted" | "Pending" | "Rejected";
  connected: boolean;
  /**
   * Of the live session, else the last one
   */
  ocppVersion?: string;
  vendor?: string;
  model?: string;
  serialNumber?: string;
  firmwareVersion?: string;
  tags: string[];
  quarantined: boolean;
  lastBootAt?: string;
  lastSeenAt?: string;
  connectedSince?: string;
  remoteAddress?: string;
  /**
   * In a cluster, the node holding the station's socket
   */
  node?: string;
  createdAt: string;
  updatedAt: string;
  /**
   * Only in GET /api/v1/stations/{id}
   */
  connectors?: Connector[];
  /**
   * Only when registering: the password the node generated, shown once
   */
  password?: string;
}
/**
 * A station on a site, with the power it may draw
 */
export interface StationAssignment {
  stationId: string;
  siteId: string;
  maxPowerW: number;
  updatedAt: string;
}
/**
 * A report the station sent (configuration, inventory, ...)
 */
export interface StationReport {
  id: string;
  kind: string;
  /**
   * The report as the station sent it
   */
  payload?: {
    [k: string]: unknown | undefined;
  };
  receivedAt: string;
}
/**
 * A charging session, named `<stationId>:<transactionId>`
 */
export interface Transaction {
  id: string;
  stationId: string;
  /**
   * The station's own id (2.x), or the integer the CSMS gave it (1.6)
   */
  transactionId: string;
  evseId?: number;
  connectorId?: number;
  idToken?: string;
  state: "Started" | "Updated" | "Ended" | "Refused" | "Abandoned";
  /**
   * The authorization decision sent to the station, and when
   */
  authorization?: {
    status: string;
    at?: string;
  };
  startedAt?: string;
  endedAt?: string;
  energyStartWh?: number;
  energyStopWh?: number;
  /**
   * The register now: the stop register once ended, else the newest plausible reading
   */
  energyWh?: number;
  /**
   * Stop (or register now) minus start: what billing uses
   */
  energyDeliveredWh?: number;
  sampledRegisterWh?: {
    lowest: number;
    highest: number;
  };
  powerW?: number;
  soc?: number;
  stoppedReason?: string;
  /**
   * Why the record needs a look: noStart, late, afterEnd, implausible:<reason>, samplesDisagree, refused, abandoned, lateEnd
   */
  flags: string[];
  abandonedBy?: string;
  events: number;
  seqGaps: number;
  offlineEvents: number;
  lateEvents: number;
  implausibleEvents: number;
  updatedAt: string;
  /**
   * Only when one transaction is read
   */
  eventLog?: TransactionEvent[];
}
