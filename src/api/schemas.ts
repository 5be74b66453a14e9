/**
 * The shapes the REST API answers with, declared once as JSON Schema. They
 * serve twice: fastify serialises each reply through its route's response
 * schema, and @fastify/swagger builds /api/v1/openapi.json from the same
 * route schemas, where each shape below is one named component.
 *
 * A response schema is also a filter: fast-json-stringify drops properties an
 * object schema does not list (unless `additionalProperties: true`) and
 * coerces values to the declared type. So every shape lists every property
 * its handler returns, optional ones included, and `null` where a mapper can
 * give null; open-ended parts (a station's report payload, STIX objects, TUF
 * metadata) say `additionalProperties: true`. test/support/node.ts turns on
 * src/api/response-check.ts, which fails a test whose reply a schema changed.
 */
import type { FastifyInstance, FastifySchema } from 'fastify';

/** The tags of the document, one per module, in the order a reader meets them. */
export const API_TAGS = [
  { name: 'admin', description: 'Who you are, API tokens and the audit log' },
  { name: 'stations', description: 'Registration, credentials, profile changes, live status and calls to a station' },
  { name: 'transactions', description: 'Charging sessions as the stations reported them' },
  { name: 'billing', description: 'Billing records with signed meter values and their checks' },
  { name: 'authorization', description: 'The idTokens stations may charge with' },
  { name: 'meters', description: 'Public keys of the stations\' signing meters' },
  { name: 'monitor', description: 'Security events, alerts and the automatic actions they took' },
  { name: 'grid', description: 'Feeder and site limits, live load, and approvals for mass actions' },
  { name: 'trust', description: 'Certificate authorities, certificates, revocation, CRLs and OCSP' },
  { name: 'firmware', description: 'Firmware images, their TUF repositories, and update campaigns' },
  { name: 'assessment', description: 'Each station\'s security assessment against the baseline' },
  { name: 'intel', description: 'Threat sharing: STIX 2.1 over TAXII 2.1 (its own media types and error format)' },
] as const;
export type ApiTag = (typeof API_TAGS)[number]['name'];

/** The named shapes: `ref(id)` points at one, addSharedSchemas registers them all. */
export type SchemaId =
  | 'Error' | 'ApiToken' | 'AuditEntry' | 'Connector' | 'Station' | 'StationReport' | 'IdToken' | 'TransactionEvent' | 'Transaction' | 'BillingRecord'
  | 'SecurityEvent' | 'Alert' | 'Certificate' | 'CertificateRenewal' | 'InstalledCertificate' | 'FirmwareImage' | 'Campaign'
  | 'GridLevel' | 'GridSnapshot' | 'GridLimit' | 'StationAssignment' | 'Approval' | 'MeterKey' | 'StationAssessment' | 'AssessmentSummary' | 'BaselineRule' | 'TaxiiError';

/** The body of every API error (src/api/index.ts `sendError`); `code` is one of docs/errors.md. */
const ErrorBody = {
  $id: 'Error' as const,
  type: 'object',
  description: 'What went wrong: a stable code (docs/errors.md lists them all) and a message that is safe to show',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
} as const;

// Building blocks. `optional` properties are simply not listed in `required`.
const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const bool = { type: 'boolean' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const strings = { type: 'array', items: str } as const;
/** Any JSON object, passed through as it is. */
export const anyObject = { type: 'object', additionalProperties: true } as const;
const obj = <P extends Record<string, unknown>, R extends readonly (keyof P & string)[]>(properties: P, required: R, description?: string) =>
  ({ type: 'object', ...(description ? { description } : {}), ...(required.length ? { required } : {}), properties }) as const;
const shape = <P extends Record<string, unknown>, R extends readonly (keyof P & string)[]>($id: SchemaId, description: string, properties: P, required: R) =>
  ({ $id, ...obj(properties, required, description) }) as const;

// --- admin (src/api/auth.ts, src/api/audit.ts)
const ApiToken = shape('ApiToken', 'An API token; its secret is shown once, when it is made', {
  id: str, name: str, role: { type: 'string', enum: ['auditor', 'operator', 'admin'] }, createdAt: time, revokedAt: time,
  token: { type: 'string', description: 'The bearer secret: only in the answer to POST /api/v1/tokens' },
}, ['id', 'name', 'role']);
const AuditEntry = shape('AuditEntry', 'One audited call or automatic action', {
  id: str, at: time, actor: str, role: str, action: { type: 'string', description: 'METHOD and route, or the automatic action' },
  target: str, outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] }, details: anyObject, sourceAddress: str,
}, ['id', 'at', 'actor', 'role', 'action', 'outcome', 'details']);

// --- stations (src/stations/registry.ts, src/stations/routes.ts `view`)
const Connector = shape('Connector', 'A connector and its last reported status', {
  evseId: int, connectorId: int, status: str, updatedAt: time,
}, ['evseId', 'connectorId', 'status', 'updatedAt']);
const Station = shape('Station', 'A registered station, with where it is connected now (if it is)', {
  id: str,
  securityProfile: { type: 'integer', enum: [1, 2, 3] },
  registration: { type: 'string', enum: ['Accepted', 'Pending', 'Rejected'] },
  connected: bool,
  ocppVersion: { type: 'string', description: 'Of the live session, else the last one' },
  vendor: str, model: str, serialNumber: str, firmwareVersion: str,
  tags: strings,
  quarantined: bool,
  lastBootAt: time, lastSeenAt: time,
  connectedSince: time, remoteAddress: str,
  node: { type: 'string', description: 'In a cluster, the node holding the station\'s socket' },
  createdAt: time, updatedAt: time,
  connectors: { type: 'array', items: ref('Connector'), description: 'Only in GET /api/v1/stations/{id}' },
  password: { type: 'string', description: 'Only when registering: the password the node generated, shown once' },
}, ['id', 'securityProfile', 'registration', 'connected', 'tags', 'quarantined', 'createdAt', 'updatedAt']);
const StationReport = shape('StationReport', 'A report the station sent (configuration, inventory, ...)', {
  id: str, kind: str, payload: { description: 'The report as the station sent it' }, receivedAt: time,
}, ['id', 'kind', 'receivedAt']);
const IdToken = shape('IdToken', 'An idToken stations may charge with, and its status', {
  idToken: str, type: str, status: { type: 'string', enum: ['Accepted', 'Blocked', 'Expired', 'Invalid'] }, expiresAt: time, createdAt: time,
}, ['idToken', 'type', 'status', 'createdAt']);

// --- transactions (src/transactions/index.ts `toTransaction`, `toLogEntry`; billing.ts)
const registerRange = obj({ lowest: num, highest: num }, ['lowest', 'highest']);
const authorization = obj({ status: str, at: time }, ['status'], 'The authorization decision sent to the station, and when');
const TransactionEvent = shape('TransactionEvent', 'One TransactionEvent (2.x) or Start/Stop/MeterValues message (1.6) as received, with why it was not applied if it was not', {
  kind: { type: 'string', enum: ['Started', 'Updated', 'Ended'] },
  seqNo: int, timestamp: time, receivedAt: time, offline: bool,
  flags: { ...strings, description: 'Empty when applied; else why not (late, afterEnd, implausible:<reason>, ...)' },
  meter: { type: 'array', items: anyObject, description: 'Meter samples: timestamp, measurand, value, unit, phase, signed' },
  energyRegisterWh: num, triggerReason: str, stoppedReason: str, chargingState: str, idToken: str,
}, ['kind', 'timestamp', 'receivedAt', 'offline', 'flags']);
const Transaction = {
  ...shape('Transaction', 'A charging session, named `<stationId>:<transactionId>`', {
    id: str, stationId: str, transactionId: { type: 'string', description: 'The station\'s own id (2.x), or the integer the CSMS gave it (1.6)' },
    evseId: int, connectorId: int, idToken: str,
    state: { type: 'string', enum: ['Started', 'Updated', 'Ended', 'Refused', 'Abandoned'] },
    authorization,
    startedAt: time, endedAt: time,
    energyStartWh: num, energyStopWh: num,
    energyWh: { type: 'number', description: 'The register now: the stop register once ended, else the newest plausible reading' },
    energyDeliveredWh: { type: 'number', description: 'Stop (or register now) minus start: what billing uses' },
    sampledRegisterWh: registerRange,
    powerW: num, soc: num, stoppedReason: str,
    flags: { ...strings, description: 'Why the record needs a look: noStart, late, afterEnd, implausible:<reason>, samplesDisagree, refused, abandoned, lateEnd' },
    abandonedBy: str,
    events: int, seqGaps: int, offlineEvents: int, lateEvents: int, implausibleEvents: int,
    updatedAt: time,
    eventLog: { type: 'array', items: ref('TransactionEvent'), description: 'Only when one transaction is read' },
  }, ['id', 'stationId', 'transactionId', 'state', 'flags', 'events', 'seqGaps', 'offlineEvents', 'lateEvents', 'implausibleEvents', 'updatedAt']),
} as const;
const BillingRecord = shape('BillingRecord', 'A transaction\'s billing record; sha256 is over its RFC 8785 canonical form without sha256', {
  format: { type: 'string', enum: ['evguard-billing-record/1'] },
  transaction: obj({
    id: str, stationId: str, transactionId: str, evseId: int, connectorId: int, idToken: str, state: str, authorization, startedAt: time, endedAt: time, stoppedReason: str,
  }, ['id', 'stationId', 'transactionId', 'state']),
  energy: obj({ startWh: num, stopWh: num, deliveredWh: { type: 'number', description: 'Only when billable' }, sampledRegisterWh: registerRange }, []),
  billable: { type: 'boolean', description: 'Ended, authorized, with start and stop registers, and no implausible reading' },
  review: { ...strings, description: 'Why a settlement should look before it pays' },
  signedMeterValues: {
    type: 'array',
    items: obj({
      event: { type: 'integer', description: 'Index into eventLog' }, timestamp: time, measurand: str, context: str, signedMeterData: str,
      signingMethod: str, encodingMethod: str, publicKey: str,
      check: { type: 'object', required: ['result'], additionalProperties: true, properties: { result: { type: 'string', description: 'verified, failed, noKey, ...' } } },
    }, ['event', 'signedMeterData', 'check']),
  },
  eventLog: { type: 'array', items: ref('TransactionEvent') },
  sha256: str,
}, ['format', 'transaction', 'energy', 'billable', 'review', 'signedMeterValues', 'eventLog', 'sha256']);

// --- monitor (src/monitor/alerts.ts, src/monitor/index.ts `toEvent`)
const SecurityEvent = shape('SecurityEvent', 'A security event a station reported or the CSMS recorded', {
  id: int, stationId: str, type: str, source: { type: 'string', enum: ['station', 'csms'] }, critical: bool, techInfo: str,
  occurrences: { type: 'integer', description: 'How many occurrences this record stands for, when more than one' },
  remoteAddress: str, timestamp: time,
}, ['id', 'type', 'source', 'critical', 'timestamp']);
const Alert = shape('Alert', 'A detector\'s finding, aggregated, with its lifecycle, automatic actions and comments', {
  id: str, detector: str, severity: { type: 'string', enum: ['low', 'medium', 'high', 'critical'] }, title: str, description: str, stationId: str,
  createdAt: time, updatedAt: time, count: { type: 'integer', description: 'Findings aggregated into this alert' },
  state: { type: 'string', enum: ['open', 'acknowledged', 'resolved'] },
  acknowledgedBy: str, acknowledgedAt: time, resolvedBy: str, resolvedAt: time,
  evidence: anyObject,
  actions: {
    type: 'array',
    items: obj({ id: str, kind: str, at: time, outcome: { type: 'string', enum: ['ok', 'failed'] }, until: time, undone: bool, undoneBy: str, undoneAt: time }, ['id', 'kind', 'at', 'outcome']),
  },
  comments: { type: 'array', items: obj({ by: str, text: str, at: time }, ['by', 'text', 'at']) },
}, ['id', 'detector', 'severity', 'title', 'createdAt', 'updatedAt', 'count', 'state', 'evidence', 'actions', 'comments']);

// --- trust (src/trust/store.ts, src/trust/lifecycle.ts)
const Certificate = shape('Certificate', 'A certificate the node\'s CAs issued', {
  serialHex: str, kind: { type: 'string', enum: ['ca', 'station', 'secc', 'server', 'cps', 'oem-provisioning', 'contract', 'code-signing'] },
  issuerCa: str, stationId: str, subject: str, commonName: str, notBefore: time, notAfter: time, sha256: str,
  revokedAt: time, revocationReason: str,
}, ['serialHex', 'kind', 'issuerCa', 'subject', 'commonName', 'notBefore', 'notAfter', 'sha256']);
const CertificateRenewal = shape('CertificateRenewal', 'A certificate renewal the node asked a station for', {
  id: str, stationId: str, certificateType: { type: 'string', enum: ['ChargingStationCertificate', 'V2GCertificate'] },
  reason: { type: 'string', enum: ['scheduled', 'operator'] }, expiringSerial: str,
  state: { type: 'string', enum: ['requested', 'refused', 'completed', 'failed'] },
  stationStatus: str, newSerial: str, requestedAt: time, completedAt: time,
}, ['id', 'stationId', 'certificateType', 'reason', 'state', 'requestedAt']);
const InstalledCertificate = shape('InstalledCertificate', 'A certificate in the station\'s trust store, as it last reported, and what the node knows of it', {
  stationId: str, certificateType: str, hashAlgorithm: str, issuerNameHash: str, issuerKeyHash: str, serialHex: str, reportedAt: time,
  known: obj({ name: str, notAfter: time, revoked: bool, expiresInDays: int }, ['name', 'notAfter', 'revoked', 'expiresInDays'], 'Set when evguard issued it or it is one of evguard\'s CAs'),
}, ['stationId', 'certificateType', 'hashAlgorithm', 'issuerNameHash', 'issuerKeyHash', 'serialHex', 'reportedAt']);

// --- firmware (src/firmware/images.ts, campaigns.ts)
const FirmwareImage = shape('FirmwareImage', 'A firmware image in its vendor\'s TUF repository', {
  id: str, vendor: str, models: strings, version: str, sha256: str, length: int, releaseCounter: int,
  signed: bool, signer: { type: 'string', enum: ['evguard', 'imported'] }, signature: str, signingCertificate: str,
  createdAt: time, targetPath: str,
}, ['id', 'vendor', 'models', 'version', 'sha256', 'length', 'releaseCounter', 'signed', 'createdAt', 'targetPath']);
const Campaign = shape('Campaign', 'A firmware update campaign: canary wave first, halted when too many fail', {
  id: str, firmwareId: str, state: { type: 'string', enum: ['running', 'paused', 'halted', 'aborted', 'completed'] },
  currentWave: int, haltReason: str,
  spec: {
    type: 'object', additionalProperties: true, required: ['canaryPercent', 'waveSize', 'failureThresholdPercent'],
    properties: {
      canaryPercent: num, waveSize: int, failureThresholdPercent: num, window: obj({ start: str, end: str }, ['start', 'end']), allowInsecure: bool,
      forced: obj({ reason: str, by: str }, ['reason', 'by']), acknowledged: obj({ failed: int, dispatched: int }, ['failed', 'dispatched']),
    },
  },
  createdBy: str, createdAt: time, updatedAt: time,
  counts: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Stations per update state' },
  stations: {
    type: 'array',
    description: 'Not in the list of campaigns',
    items: obj({
      stationId: str, wave: { type: 'integer', description: '-1: refused or skipped before the first wave' },
      state: { type: 'string', enum: ['pending', 'sent', 'downloading', 'installing', 'installed', 'succeeded', 'failed', 'refused', 'skipped'] },
      requestId: int, ocppStatus: str, detail: str, insecure: bool, fromVersion: str, reportedVersion: str, installAt: time, updatedAt: time,
    }, ['stationId', 'wave', 'state', 'requestId', 'insecure', 'updatedAt']),
  },
}, ['id', 'firmwareId', 'state', 'currentWave', 'spec', 'createdBy', 'createdAt', 'updatedAt', 'counts']);

// --- grid (src/grid/index.ts, store.ts)
const GridLevel = shape('GridLevel', 'Load and limits of the fleet, a feeder or a site', {
  id: str, name: str, feederId: str, loadKw: num, reservedKw: num,
  limitKw: { type: 'number', description: 'In force: the configured limit, or a lower DSO limit' },
  configuredLimitKw: num, dsoLimitKw: num, rampKwPerS: num, stations: int,
}, ['id', 'loadKw', 'reservedKw', 'stations']);
const GridSnapshot = shape('GridSnapshot', 'The load now, at every level', {
  at: time, fleet: ref('GridLevel'), feeders: { type: 'array', items: ref('GridLevel') }, sites: { type: 'array', items: ref('GridLevel') },
  dsoLimits: {
    type: 'array',
    description: 'Only in GET /api/v1/grid: utility limits in force (OpenADR)',
    items: obj({ siteId: str, limitKw: num, until: time, source: str }, ['siteId', 'limitKw', 'until', 'source']),
  },
  guard: obj({
    checked: int, passed: int, held: int, heldMsTotal: num,
    refused: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Refused commands by error code' },
  }, ['checked', 'passed', 'held', 'heldMsTotal', 'refused'], 'Only in GET /api/v1/grid: the grid guard\'s counters'),
}, ['at', 'fleet', 'feeders', 'sites']);
const GridLimit = shape('GridLimit', 'A feeder or a site and its configured limit', {
  id: str, name: str, feederId: { type: 'string', description: 'Sites only' }, limitKw: num, rampKwPerS: num, updatedAt: time,
}, ['id', 'name', 'limitKw', 'updatedAt']);
const StationAssignment = shape('StationAssignment', 'A station on a site, with the power it may draw', {
  stationId: str, siteId: str, maxPowerW: num, updatedAt: time,
}, ['stationId', 'siteId', 'maxPowerW', 'updatedAt']);
const Approval = shape('Approval', 'A two-person approval for a mass action', {
  id: str, state: { type: 'string', enum: ['pending', 'approved', 'expired', 'used'] }, requestedBy: str, approvedBy: str, reason: str,
  stations: int, remaining: { type: 'integer', description: 'Stations the approved action may still command' }, createdAt: time, expiresAt: time,
}, ['id', 'state', 'requestedBy', 'reason', 'stations', 'remaining', 'createdAt', 'expiresAt']);

// --- meters, assessment
const MeterKey = shape('MeterKey', 'A signing meter\'s public key', {
  stationId: str, meterSerial: { type: 'string', description: 'OCMF meter serial, or * for any meter of the station' },
  publicKey: { type: 'string', description: 'Base64 DER SubjectPublicKeyInfo' }, keyType: { type: 'string', description: 'e.g. ec/prime256v1' }, updatedAt: time,
}, ['stationId', 'meterSerial', 'publicKey', 'keyType', 'updatedAt']);
const severity = { type: 'string', enum: ['low', 'medium', 'high', 'critical'] } as const;
const grade = { type: 'string', enum: ['A', 'B', 'C', 'D', 'F'] } as const;
const StationAssessment = shape('StationAssessment', 'A station judged against the baseline', {
  stationId: str, assessedAt: time, score: { type: 'integer', description: '0-100: weighted share of applicable rules met' }, grade,
  profiles: { type: 'array', items: { type: 'string', enum: ['all', 'wireless'] } }, configurationReadAt: time,
  counts: obj({ pass: int, fail: int, unknown: int, 'not-applicable': int }, ['pass', 'fail', 'unknown', 'not-applicable']),
  results: {
    type: 'array',
    items: obj({ id: str, title: str, severity, status: { type: 'string', enum: ['pass', 'fail', 'unknown', 'not-applicable'] }, evidence: str, sources: strings, remedy: str },
      ['id', 'title', 'severity', 'status', 'evidence', 'sources', 'remedy']),
  },
  refresh: { type: 'string', description: 'After POST: how reading the station\'s configuration went' },
}, ['stationId', 'assessedAt', 'score', 'grade', 'profiles', 'counts', 'results']);

const AssessmentSummary = shape('AssessmentSummary', 'The fleet judged against the baseline', {
  assessedAt: time, stations: int, score: { type: 'number', description: 'Mean of the station scores' }, grade,
  grades: { type: 'object', additionalProperties: int, description: 'Stations per grade' },
  rules: {
    type: 'array',
    description: 'Per rule, how many stations fail it; worst first',
    items: obj({ id: str, title: str, severity, fail: int, unknown: int, pass: int }, ['id', 'title', 'severity', 'fail', 'unknown', 'pass']),
  },
  worst: {
    type: 'array',
    description: 'Lowest-scoring stations first',
    items: obj({ stationId: str, score: num, grade: str, failing: strings }, ['stationId', 'score', 'grade', 'failing']),
  },
  assessments: { type: 'array', items: ref('StationAssessment'), description: 'Only with details=true' },
}, ['assessedAt', 'stations', 'score', 'grade', 'grades', 'rules', 'worst']);
const BaselineRule = shape('BaselineRule', 'A rule of the baseline', {
  id: str, title: str, severity, sources: { ...strings, description: 'Public guidance, most specific first' },
  verification: { type: 'string', description: 'How the node verifies it' }, remedy: str, profile: { type: 'string', enum: ['all', 'wireless'] },
}, ['id', 'title', 'severity', 'sources', 'verification', 'remedy', 'profile']);

// --- intel (src/intel/taxii-server.ts `sendError`)
const TaxiiError = {
  $id: 'TaxiiError' as const,
  description: 'TAXII 2.1\'s error message resource (section 3.6.1), with the node\'s own error beside it',
  allOf: [ref('Error'), obj({ title: str, http_status: str, error_code: str }, ['title', 'http_status', 'error_code'])],
};

const SHARED: readonly { $id: SchemaId }[] = [
  ErrorBody, ApiToken, AuditEntry, Connector, Station, StationReport, IdToken, TransactionEvent, Transaction, BillingRecord,
  SecurityEvent, Alert, Certificate, CertificateRenewal, InstalledCertificate, FirmwareImage, Campaign,
  GridLevel, GridSnapshot, GridLimit, StationAssignment, Approval, MeterKey, StationAssessment, AssessmentSummary, BaselineRule, TaxiiError,
];

/** Adds the shared shapes to `app`, so route schemas (and the document) can refer to them with `ref`. */
export function addSharedSchemas(app: FastifyInstance): void {
  for (const schema of SHARED) app.addSchema(schema);
}

/** A reference to a shared shape: `#/components/schemas/<id>` in the document. */
export function ref(id: SchemaId) {
  return { $ref: `${id}#` } as const;
}

export const listOf = (id: SchemaId) => ({ type: 'array', items: ref(id) }) as const;

/** What each error status means across the API; the code in the body says exactly what happened. */
const ERROR_STATUS: Record<number, string> = {
  400: 'The request is malformed, or a parameter or the body is invalid',
  401: 'No valid bearer token',
  403: 'The token\'s role does not allow this, or a remote client used the plain HTTP port',
  404: 'No such resource',
  409: 'The resource exists already or is in a state that does not allow this',
  413: 'The request body is too large',
  415: 'The request body has an unsupported content type',
  429: 'Too many requests at once, or the grid guard\'s ramp limit',
  500: 'Internal error; the node log has the details',
  502: 'The station refused or failed the request, or another node could not be reached',
  503: 'Unavailable for now (database, cluster); try again shortly',
  504: 'The station did not answer in time',
};

/** The error responses of a route: each status answers with the one shared Error body. */
export function errors(...statuses: number[]): Record<number, { description: string; $ref: string }> {
  return Object.fromEntries(statuses.map((s) => [s, { description: ERROR_STATUS[s] ?? 'Failed', ...ref('Error') }]));
}

/** 204: the route answers with no body. */
export const noContent = { 204: { type: 'null', description: 'Done; no body' } } as const;

/**
 * Completes a route's documented errors from what the route is: a guarded
 * route answers 401 without a valid token and 403 for a role too low (or a
 * remote client on the plain port); one that validates parameters or a body
 * answers 400. Called by the API's onRoute hook, so no route lists these.
 */
export function withStandardErrors(schema: FastifySchema | undefined, route: { guarded: boolean; method: string | string[] }): FastifySchema | undefined {
  if (!schema || (schema as { hide?: boolean }).hide) return schema;
  const statuses: number[] = [];
  const hasBody = [route.method].flat().some((m) => m === 'POST' || m === 'PUT' || m === 'PATCH');
  if (schema.params || schema.querystring || schema.body || hasBody) statuses.push(400);
  if (route.guarded) statuses.push(401, 403);
  const response = (schema.response ?? {}) as Record<string, unknown>;
  const missing = statuses.filter((s) => !(s in response));
  if (missing.length === 0) return schema;
  return { ...schema, response: { ...response, ...errors(...missing) } };
}
