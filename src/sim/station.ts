/**
 * A simulated charging station: a real OCPP-J client over a real WebSocket
 * (TLS and client certificates included) that boots, sends heartbeats and
 * status changes, runs charging sessions with meter values, goes offline and
 * replays what it queued meanwhile in order, and takes part in the
 * certificate lifecycle. Version differences live in dialect.ts, answers to
 * CSMS calls in handlers.ts.
 */
import { EventEmitter } from 'node:events';
import { createRPCError, type RPCClient } from 'ocpp-rpc';
import { createStationCsr, refuseSignedChain } from './certificates.js';
import { Connectors } from './connectors.js';
import { dialectFor, type Dialect, type Outgoing } from './dialect.js';
import { simErrors } from './errors.js';
import { installDefaultHandlers, type InstalledCertificate, type StationControl } from './handlers.js';
import { callUnchecked, openLink, transportOptions } from './link.js';
import { Outbox } from './outbox.js';
import { createSimValidator, SUBPROTOCOL, type SimValidator } from './schemas.js';
import { checkStationOptions } from './options.js';
import type {
  BootResult, CertificateAndKey, ConnectorStatus, IncomingHandler, OcppVersion, SimStation,
  SimStationOptions, SimStationState, StartChargingOptions, StartChargingResult,
} from './types.js';
import { createDeviceModel, type DeviceModel } from './variables.js';

export function createSimStation(opts: SimStationOptions): SimStation {
  return new Station(opts);
}

class Station extends EventEmitter implements SimStation, StationControl {
  readonly id: string;
  readonly ocppVersion: OcppVersion;
  readonly connectorCount: number;
  readonly variables: DeviceModel;
  readonly #opts: SimStationOptions;
  readonly #dialect: Dialect;
  readonly #validators: readonly SimValidator[];
  readonly #connectors: Connectors;
  readonly #handlers = new Map<string, IncomingHandler>();
  readonly #outbox: Outbox;
  readonly #now: () => Date;
  #state: SimStationState = 'idle';
  #client?: RPCClient;
  #closingClient?: Promise<unknown>;
  #bootAccepted = false;
  #everOpen = false;
  #heartbeatMs?: number;
  #heartbeatTimer?: NodeJS.Timeout;
  #bootRetryTimer?: NodeJS.Timeout;
  #meterIntervalMs?: number;
  #password?: string;
  #profile: 1 | 2 | 3;
  #certificate?: CertificateAndKey;
  readonly #tls: { session?: Buffer; credentials?: string } = {};
  #pendingKey?: string;
  #installed: InstalledCertificate[] = [];
  #resetWhenIdle = false;
  #firmwareVersion: string;

  constructor(opts: SimStationOptions) {
    super();
    checkStationOptions(opts);
    this.#opts = opts;
    this.#firmwareVersion = opts.firmwareVersion ?? '1.0.0';
    this.id = opts.id;
    this.ocppVersion = opts.ocppVersion;
    this.connectorCount = opts.connectors ?? 1;
    this.#dialect = dialectFor(opts.ocppVersion);
    this.#validators = opts.validators ?? [createSimValidator(opts.ocppVersion)];
    const validator = this.#validators.find((v) => v.subprotocol === SUBPROTOCOL[opts.ocppVersion]);
    if (!validator) throw simErrors.SIM_BAD_OPTIONS(`no validator for ${SUBPROTOCOL[opts.ocppVersion]} in options.validators`);
    this.#outbox = new Outbox({
      id: opts.id,
      state: () => this.#state,
      client: () => (this.#state === 'open' ? this.#client : undefined),
      emit: (event, ...args) => this.emit(event, ...args),
    }, validator, opts.callTimeoutMs ?? 30_000);
    this.#now = opts.now ?? (() => new Date());
    this.#password = opts.password;
    this.#profile = opts.securityProfile;
    this.#meterIntervalMs = opts.meterIntervalMs;
    this.#heartbeatMs = opts.heartbeatIntervalMs;
    this.#connectors = new Connectors({
      id: opts.id,
      ocppVersion: opts.ocppVersion,
      dialect: this.#dialect,
      outbox: this.#outbox,
      maxPowerW: opts.maxPowerW ?? 22_000,
      now: this.#now,
      online: () => this.#state === 'open',
      meterIntervalMs: () => this.#meterIntervalMs,
      emit: (event, ...args) => this.emit(event, ...args),
    }, this.connectorCount);
    this.variables = createDeviceModel({
      version: opts.ocppVersion,
      connectors: this.connectorCount,
      heartbeatIntervalS: Math.round((opts.heartbeatIntervalMs ?? 0) / 1000),
      meterIntervalS: Math.round((opts.meterIntervalMs ?? 0) / 1000),
      securityProfile: opts.securityProfile,
      organization: opts.organization ?? 'evguard',
      id: opts.id,
      allowProfileDowngrade: opts.allowProfileDowngrade === true,
    }, (entry) => this.#onVariableChange(entry.variable ?? entry.key16 ?? '', entry.value));
    installDefaultHandlers(this, this.#handlers);
  }

  get state(): SimStationState {
    return this.#state;
  }

  get queuedMessages(): number {
    return this.#outbox.size;
  }

  // ── connection ────────────────────────────────────────────────────────

  async connect(): Promise<BootResult> {
    await this.#open();
    const result = await this.boot('PowerUp');
    if (result.status === 'Accepted') await this.#connectors.reportStatuses(true);
    return result;
  }

  async reconnect(): Promise<void> {
    if (this.#state === 'open') return;
    await this.#open();
    if (!this.#bootAccepted) {
      const result = await this.boot('PowerUp');
      if (result.status !== 'Accepted') return;
    } else {
      this.#startHeartbeat();
    }
    await this.#outbox.replay();
    await this.#connectors.reportStatuses(false);
  }

  goOffline(): void {
    if (this.#state !== 'open' && this.#state !== 'connecting') return;
    this.#setState('offline');
    this.#dropClient(true);
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#bootRetryTimer);
    this.#connectors.stopTimers();
    this.#dropClient(false);
    // A CSMS that never answers the close frame must not hold the caller up.
    await Promise.race([this.#closingClient, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  async #open(): Promise<void> {
    if (this.#state === 'closed') throw simErrors.SIM_CLOSED(`station ${this.id} is closed`);
    if (this.#state === 'connecting') throw simErrors.SIM_BAD_OPTIONS(`station ${this.id} is already connecting`);
    await this.#closingClient;
    this.#setState('connecting');
    let client: RPCClient;
    try {
      client = await openLink({
        url: this.#opts.url.replace(/\/+$/, ''),
        id: this.id,
        subprotocol: SUBPROTOCOL[this.ocppVersion],
        password: this.#profile === 3 ? undefined : this.#password,
        wsOptions: this.#wsOptions(),
        callTimeoutMs: this.#opts.callTimeoutMs ?? 30_000,
        pingIntervalMs: this.#opts.pingIntervalMs ?? 30_000,
        validators: this.#validators,
        onCall: (action, params) => this.#answer(action, params),
      });
    } catch (err) {
      if (this.#stateNow() === 'connecting') this.#setState(this.#everOpen ? 'offline' : 'idle');
      throw err;
    }
    if (this.#stateNow() !== 'connecting') {
      // closed or taken offline while the handshake ran
      await client.close({ force: true });
      throw simErrors.SIM_OFFLINE(`station ${this.id} went offline while connecting`);
    }
    this.#client = client;
    this.#everOpen = true;
    client.once('close', () => {
      if (this.#client !== client) return;
      this.#client = undefined;
      if (this.#state === 'open') {
        this.#setState('offline');
        clearInterval(this.#heartbeatTimer);
        this.emit('disconnect');
      }
    });
    this.#setState('open');
  }

  #wsOptions(): Record<string, unknown> {
    return transportOptions({
      id: this.id,
      url: this.#opts.url,
      profile: this.#profile,
      tls: this.#opts.tls,
      localAddress: this.#opts.localAddress,
      roots: this.#installed.filter((c) => /^(CSMSRootCertificate|CentralSystemRootCertificate)$/.test(c.certificateType)).map((c) => c.pem),
      certificate: this.#certificate,
      sessionCache: this.#tls,
    });
  }

  /** Forgets the TLS session, so the next connection makes a full handshake (a station that cannot resume). */
  forgetTlsSession(): void {
    this.#tls.session = undefined;
  }

  #dropClient(abrupt: boolean): void {
    const client = this.#client;
    this.#client = undefined;
    clearInterval(this.#heartbeatTimer);
    if (client) {
      // goOffline models a lost network, so no close handshake; close() says goodbye.
      this.#closingClient = client.close(abrupt ? { force: true } : { code: 1000, reason: 'Station shutting down' }).catch(() => undefined);
    }
  }

  /** The state after an await; a plain read would keep TypeScript's narrowing from before it. */
  #stateNow(): SimStationState {
    return this.#state;
  }

  #setState(next: SimStationState): void {
    if (next === this.#state) return;
    const previous = this.#state;
    this.#state = next;
    this.emit('state', next, previous);
  }

  // ── sending ───────────────────────────────────────────────────────────

  async #callNow(out: Outgoing): Promise<any> {
    return this.#outbox.transmit({ action: out.action, build: () => out.payload }, false);
  }

  async call(action: string, payload: unknown, opts: { validate?: boolean } = {}): Promise<unknown> {
    if (opts.validate !== false) {
      if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
        throw simErrors.SIM_INVALID_MESSAGE(`${action}: the payload must be a JSON object`);
      }
      return this.#callNow({ action, payload: payload as Record<string, unknown> });
    }
    if (this.#state !== 'open' || !this.#client) throw simErrors.SIM_OFFLINE(`station ${this.id} is ${this.#state}`);
    return callUnchecked(this.#client, action, payload, this.#opts.callTimeoutMs ?? 30_000);
  }

  sendRaw(text: string): void {
    if (this.#state !== 'open' || !this.#client) throw simErrors.SIM_OFFLINE(`station ${this.id} is ${this.#state}`);
    this.#client.sendRaw(text);
  }

  // ── station behaviour ─────────────────────────────────────────────────

  async boot(reason = 'PowerUp'): Promise<BootResult> {
    clearTimeout(this.#bootRetryTimer);
    const res = await this.#callNow(this.#dialect.bootNotification(this.#info(), reason));
    const result = this.#dialect.bootResult(res);
    this.emit('boot', result);
    if (result.status === 'Accepted') {
      this.#bootAccepted = true;
      if (this.#opts.heartbeatIntervalMs === undefined) this.#heartbeatMs = result.interval * 1000;
      // The configured interval is what the CSMS set at boot (2.0.1 B01.FR.04).
      const variable = this.variables.byKey16('HeartbeatInterval') ?? this.variables.byName('OCPPCommCtrlr', 'HeartbeatInterval');
      if (variable) variable.value = String(Math.round((this.#heartbeatMs ?? 0) / 1000));
      this.#startHeartbeat();
    } else {
      // Pending/Rejected: retry after the interval the CSMS asked for (2.0.1 B02/B03).
      const waitMs = (result.interval > 0 ? result.interval : 60) * 1000;
      this.#bootRetryTimer = setTimeout(() => {
        if (this.#state === 'open') this.boot(reason).catch((error) => this.emit('failure', { action: 'BootNotification', error }));
      }, waitMs).unref();
    }
    return result;
  }

  #info() {
    return {
      vendor: this.#opts.vendor ?? 'evguard',
      model: this.#opts.model ?? 'SimStation',
      firmwareVersion: this.#firmwareVersion,
      serialNumber: this.#opts.serialNumber ?? `SIM-${this.id}`.slice(0, 25),
    };
  }

  #startHeartbeat(): void {
    clearInterval(this.#heartbeatTimer);
    const ms = this.#heartbeatMs ?? 0;
    if (ms <= 0) return;
    this.#heartbeatTimer = setInterval(() => {
      if (this.#state === 'open') this.heartbeat().catch((error) => this.emit('failure', { action: 'Heartbeat', error }));
    }, ms).unref();
  }

  async heartbeat(): Promise<void> {
    await this.#callNow({ action: 'Heartbeat', payload: {} });
  }

  async authorize(idToken: string): Promise<string> {
    const res = await this.#callNow(this.#dialect.authorize(idToken, 'ISO14443'));
    return this.#dialect.authorizeStatus(res);
  }

  statusNotification(connectorId: number, status: ConnectorStatus): Promise<void> {
    return this.#connectors.statusNotification(connectorId, status);
  }

  reportStatus(connectorId: number): Promise<void> {
    return this.#connectors.reportStatus(connectorId);
  }

  startCharging(opts: StartChargingOptions): Promise<StartChargingResult> {
    return this.#connectors.start(opts);
  }

  sendMeterValues(connectorId: number, trigger?: 'Trigger'): Promise<void> {
    return this.#connectors.sendMeterValues(connectorId, trigger);
  }

  async stopCharging(connectorId: number, reason = 'Local'): Promise<void> {
    try {
      await this.#connectors.stop(connectorId, reason);
    } finally {
      if (this.#resetWhenIdle && !this.#connectors.busy()) {
        this.#resetWhenIdle = false;
        this.afterReply(() => this.reset(false));
      }
    }
  }

  async securityEvent(type: string, techInfo?: string): Promise<void> {
    const at = this.#now();
    // 2.0.1 A04.FR.02: security events are queued while offline like transaction messages.
    await this.#outbox.transmit({ action: 'SecurityEventNotification', build: () => this.#dialect.securityEvent(type, techInfo, at).payload }, true);
  }

  meterReading(connectorId: number): number {
    return this.#connectors.meterReading(connectorId);
  }

  transactionId(connectorId: number): string | undefined {
    return this.#connectors.transactionId(connectorId);
  }

  // ── certificates ──────────────────────────────────────────────────────

  async requestCertificate(): Promise<void> {
    const organization = this.variables.get('SecurityCtrlr', 'OrganizationName')
      ?? this.variables.byKey16('CpoName')?.value ?? this.#opts.organization ?? 'evguard';
    const { csrPem, keyPem } = await createStationCsr(this.id, organization);
    this.#pendingKey = keyPem;
    const res = await this.#callNow(this.#dialect.signCertificate(csrPem));
    if (res.status !== 'Accepted') throw simErrors.SIM_CSR_REJECTED(`SignCertificate for ${this.id} was ${String(res.status)}`);
  }

  certificate(): CertificateAndKey | undefined {
    return this.#certificate ? { ...this.#certificate } : undefined;
  }

  acceptCertificateChain(chain: string): 'Accepted' | 'Rejected' {
    const key = this.#pendingKey;
    const refusal = key ? refuseSignedChain(chain, key, this.id, this.#now()) : 'no certificate signing request is pending';
    if (refusal || !key) {
      this.emit('certificateRejected', refusal);
      // 2.0.1 A02.FR.06: report the refused certificate as a security event.
      this.afterReply(() => this.securityEvent('InvalidChargingStationCertificate', refusal?.slice(0, 255)));
      return 'Rejected';
    }
    this.#certificate = { cert: chain, key };
    this.#pendingKey = undefined;
    this.emit('certificate', this.certificate());
    return 'Accepted';
  }

  installedCertificates(): InstalledCertificate[] {
    return this.#installed;
  }

  // ── CSMS → station ────────────────────────────────────────────────────

  handle(action: string, fn: IncomingHandler): void {
    if (typeof fn !== 'function') throw simErrors.SIM_BAD_OPTIONS('a handler must be a function');
    this.#handlers.set(action, fn);
  }

  async #answer(action: string, params: unknown): Promise<unknown> {
    const handler = this.#handlers.get(action);
    if (!handler) throw createRPCError('NotImplemented', `${action} is not supported by this station`);
    this.emit('incoming', { action, params });
    return handler(params);
  }

  afterReply(task: () => Promise<unknown>): void {
    // setImmediate runs after the CALLRESULT for the current call has been written.
    setImmediate(() => {
      if (this.#state === 'closed') return;
      task().catch((error) => this.emit('failure', { action: 'afterReply', error }));
    });
  }

  hasTransaction(connectorId: number): boolean {
    return this.#connectors.hasTransaction(connectorId);
  }

  isOperative(connectorId: number): boolean {
    return this.#connectors.isOperative(connectorId);
  }

  connectorOfTransaction(transactionId: string): number | undefined {
    return this.#connectors.ofTransaction(transactionId);
  }

  freeConnector(): number | undefined {
    return this.#connectors.free();
  }

  setOperative(connectorId: number, operative: boolean): Promise<void> {
    return this.#connectors.setOperative(connectorId, operative);
  }

  setChargingLimit(connectorId: number, limitW: number | undefined): void {
    this.#connectors.setChargingLimit(connectorId, limitW);
  }

  get model(): string {
    return this.#opts.model ?? 'SimStation';
  }

  get firmwareVersion(): string {
    return this.#firmwareVersion;
  }

  get firmwareOptions() {
    return this.#opts.firmware;
  }

  /** After a firmware installation: reboot and report the new version (BootNotification reason FirmwareUpdate). */
  async rebootInto(version: string): Promise<void> {
    this.#firmwareVersion = version;
    await this.reset(true, false, 'FirmwareUpdate');
  }

  /** Reboot: end transactions, drop the link, come back with BootNotification (reason RemoteReset). */
  async reset(hard: boolean, whenIdle = false, bootReason = 'RemoteReset'): Promise<void> {
    if (whenIdle && this.#connectors.busy()) {
      this.#resetWhenIdle = true;
      return;
    }
    const reason = this.ocppVersion === '1.6' ? (hard ? 'HardReset' : 'SoftReset') : hard ? 'ImmediateReset' : 'Reboot';
    for (const c of this.#connectors.withTransaction()) await this.stopCharging(c, reason).catch(() => undefined);
    this.emit('reset', { hard });
    this.#setState('offline');
    this.#dropClient(false);
    this.#bootAccepted = false;
    await this.#open();
    const result = await this.boot(bootReason);
    if (result.status === 'Accepted') {
      await this.#outbox.replay();
      await this.#connectors.reportStatuses(true);
    }
  }

  #onVariableChange(name: string, value: string): void {
    if (name === 'HeartbeatInterval') {
      this.#heartbeatMs = Number(value) * 1000;
      if (this.#state === 'open' && this.#bootAccepted) this.#startHeartbeat();
    } else if (name === 'TxUpdatedInterval' || name === 'MeterValueSampleInterval') {
      this.#meterIntervalMs = Number(value) * 1000;
    } else if (name === 'BasicAuthPassword' || name === 'AuthorizationKey') {
      this.#password = value;
    } else if (name === 'SecurityProfile') {
      // Takes effect on the next connection, as the 1.6 security whitepaper describes.
      this.#profile = Number(value) as 1 | 2 | 3;
    }
  }
}
