/**
 * A simulated charging station: a real OCPP-J client over a real WebSocket
 * (TLS and client certificates included) that boots, sends heartbeats and
 * status changes, runs charging sessions with meter values, goes offline and
 * replays what it queued meanwhile in order, and takes part in the
 * certificate lifecycle. Version differences live in dialect.ts, answers to
 * CSMS calls in handlers.ts.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRPCError, type RPCClient } from 'ocpp-rpc';
import { EvguardError } from '../errors.js';
import { createStationCsr, refuseSignedChain } from './certificates.js';
import { dialectFor, type Dialect, type Outgoing, type TxEventContext, type TxRecord } from './dialect.js';
import { simErrors } from './errors.js';
import { installDefaultHandlers, type InstalledCertificate, type StationControl } from './handlers.js';
import { callFailure, callUnchecked, isLinkLoss, openLink } from './link.js';
import { EnergyMeter } from './meter.js';
import { createSimValidator, SUBPROTOCOL, type SimValidator } from './schemas.js';
import { checkStationOptions } from './options.js';
import type {
  BootResult, CallRecord, CertificateAndKey, ConnectorStatus, IncomingHandler, OcppVersion, SimStation,
  SimStationOptions, SimStationState, StartChargingOptions, StartChargingResult,
} from './types.js';
import { createDeviceModel, type DeviceModel } from './variables.js';

interface ActiveTx extends TxRecord {
  seqNo: number;
  requestedPowerW: number;
  meterTimer?: NodeJS.Timeout;
}

interface Connector {
  id: number;
  status: ConnectorStatus;
  /** Last status the CSMS heard; a difference after reconnect is reported. */
  reported?: ConnectorStatus;
  operative: boolean;
  meter: EnergyMeter;
  limitW?: number;
  tx?: ActiveTx;
}

/** A transaction-related message; built at send time so a 1.6 id learnt on replay is used. */
interface Pending {
  order: number;
  action: string;
  build: () => Record<string, unknown>;
  onResult?: (res: any) => void;
}

const QUEUED = Symbol('queued');

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
  readonly #validator: SimValidator;
  readonly #validators: readonly SimValidator[];
  readonly #connectors: Connector[];
  readonly #handlers = new Map<string, IncomingHandler>();
  readonly #queue: Pending[] = [];
  readonly #now: () => Date;
  #state: SimStationState = 'idle';
  #client?: RPCClient;
  #closingClient?: Promise<unknown>;
  #order = 0;
  #replaying = false;
  #bootAccepted = false;
  #everOpen = false;
  #heartbeatMs?: number;
  #heartbeatTimer?: NodeJS.Timeout;
  #bootRetryTimer?: NodeJS.Timeout;
  #meterIntervalMs?: number;
  #password?: string;
  #profile: 1 | 2 | 3;
  #certificate?: CertificateAndKey;
  #pendingKey?: string;
  #installed: InstalledCertificate[] = [];
  #resetWhenIdle = false;

  constructor(opts: SimStationOptions) {
    super();
    checkStationOptions(opts);
    this.#opts = opts;
    this.id = opts.id;
    this.ocppVersion = opts.ocppVersion;
    this.connectorCount = opts.connectors ?? 1;
    this.#dialect = dialectFor(opts.ocppVersion);
    this.#validators = opts.validators ?? [createSimValidator(opts.ocppVersion)];
    const validator = this.#validators.find((v) => v.subprotocol === SUBPROTOCOL[opts.ocppVersion]);
    if (!validator) throw simErrors.SIM_BAD_OPTIONS(`no validator for ${SUBPROTOCOL[opts.ocppVersion]} in options.validators`);
    this.#validator = validator;
    this.#now = opts.now ?? (() => new Date());
    this.#password = opts.password;
    this.#profile = opts.securityProfile;
    this.#meterIntervalMs = opts.meterIntervalMs;
    this.#heartbeatMs = opts.heartbeatIntervalMs;
    const startMs = this.#now().getTime();
    this.#connectors = Array.from({ length: this.connectorCount }, (_, i) => ({
      id: i + 1,
      status: 'Available' as ConnectorStatus,
      operative: true,
      meter: new EnergyMeter(0, startMs),
    }));
    this.variables = createDeviceModel({
      version: opts.ocppVersion,
      connectors: this.connectorCount,
      heartbeatIntervalS: Math.round((opts.heartbeatIntervalMs ?? 0) / 1000),
      meterIntervalS: Math.round((opts.meterIntervalMs ?? 0) / 1000),
      securityProfile: opts.securityProfile,
      organization: opts.organization ?? 'evguard',
      id: opts.id,
    }, (entry) => this.#onVariableChange(entry.variable ?? entry.key16 ?? '', entry.value));
    installDefaultHandlers(this, this.#handlers);
  }

  get state(): SimStationState {
    return this.#state;
  }

  get queuedMessages(): number {
    return this.#queue.length;
  }

  // ── connection ────────────────────────────────────────────────────────

  async connect(): Promise<BootResult> {
    await this.#open();
    const result = await this.boot('PowerUp');
    if (result.status === 'Accepted') await this.#reportStatuses(true);
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
    await this.#replay();
    await this.#reportStatuses(false);
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
    for (const c of this.#connectors) clearInterval(c.tx?.meterTimer);
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
    const o: Record<string, unknown> = {};
    if (this.#opts.localAddress) o.localAddress = this.#opts.localAddress;
    if (!this.#opts.url.startsWith('wss:')) {
      if (this.#profile > 1) throw simErrors.SIM_BAD_OPTIONS(`security profile ${this.#profile} needs a wss:// url`);
      return o;
    }
    const tls = this.#opts.tls ?? {};
    const roots = this.#installed.filter((c) => /^(CSMSRootCertificate|CentralSystemRootCertificate)$/.test(c.certificateType));
    const ca = [...(tls.ca === undefined ? [] : [tls.ca].flat()), ...roots.map((c) => c.pem)];
    if (ca.length > 0) o.ca = ca;
    if (tls.rejectUnauthorized !== undefined) o.rejectUnauthorized = tls.rejectUnauthorized;
    if (tls.servername) o.servername = tls.servername;
    if (this.#profile === 3) {
      const pair = this.#certificate ?? (tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : undefined);
      if (!pair) throw simErrors.SIM_NO_CLIENT_CERTIFICATE(`station ${this.id} has no client certificate for security profile 3`);
      o.cert = pair.cert;
      o.key = pair.key;
    }
    return o;
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

  /** Sends now, or queues a transaction message while offline (OCPP 2.0.1 E04, 1.6 §4.7). */
  async #transmit(entry: Omit<Pending, 'order'>, queueable: boolean): Promise<unknown> {
    if (this.#state === 'closed') throw simErrors.SIM_CLOSED(`station ${this.id} is closed`);
    const pending: Pending = { ...entry, order: this.#order++ };
    if (this.#state !== 'open' || this.#replaying || this.#queue.length > 0) {
      if (!queueable) throw simErrors.SIM_OFFLINE(`${entry.action}: station ${this.id} is ${this.#state}`);
      this.#checkEarly(pending);
      this.#queue.push(pending);
      return QUEUED;
    }
    const client = this.#client!;
    try {
      return await this.#send(client, pending, false);
    } catch (err) {
      if (queueable && isLinkLoss(err) && (this.#client !== client || this.#state !== 'open')) {
        this.#requeue(pending);
        return QUEUED;
      }
      throw err instanceof EvguardError ? err : callFailure(entry.action, err, this.#opts.callTimeoutMs ?? 30_000);
    }
  }

  async #send(client: RPCClient, pending: Pending, replayed: boolean): Promise<unknown> {
    const payload = pending.build();
    this.#checkPayload(pending.action, payload);
    const started = performance.now();
    let ok = false;
    try {
      const res = await client.call(pending.action, payload);
      ok = true;
      pending.onResult?.(res);
      return res;
    } finally {
      const record: CallRecord = { action: pending.action, ms: performance.now() - started, ok, replayed };
      this.emit('call', record);
    }
  }

  #checkPayload(action: string, payload: unknown): void {
    try {
      this.#validator.validate(`urn:${action}.req`, payload);
    } catch (err) {
      throw simErrors.SIM_INVALID_MESSAGE(`${action}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Rejects a message that could never be valid now, not at replay time; a 1.6 id not yet known is checked later. */
  #checkEarly(pending: Pending): void {
    let payload: Record<string, unknown>;
    try {
      payload = pending.build();
    } catch {
      return;
    }
    this.#checkPayload(pending.action, payload);
  }

  #requeue(pending: Pending): void {
    const at = this.#queue.findIndex((p) => p.order > pending.order);
    if (at < 0) this.#queue.push(pending);
    else this.#queue.splice(at, 0, pending);
  }

  async #replay(): Promise<void> {
    this.#replaying = true;
    let sent = 0;
    try {
      while (this.#queue.length > 0 && this.#state === 'open' && this.#client) {
        const client = this.#client;
        const pending = this.#queue.shift()!;
        try {
          await this.#send(client, pending, true);
          sent++;
        } catch (err) {
          if (isLinkLoss(err) && this.#client !== client) {
            this.#requeue(pending);
            break;
          }
          // OCPP lets a station give up on a message the CSMS keeps refusing; keep going with the rest.
          this.emit('failure', { action: pending.action, error: err, replayed: true });
        }
      }
    } finally {
      this.#replaying = false;
    }
    this.emit('replayed', { sent, left: this.#queue.length });
  }

  async #callNow(out: Outgoing): Promise<any> {
    return this.#transmit({ action: out.action, build: () => out.payload }, false);
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
      firmwareVersion: this.#opts.firmwareVersion ?? '1.0.0',
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

  async statusNotification(connectorId: number, status: ConnectorStatus): Promise<void> {
    const connector = this.#connector(connectorId);
    connector.status = status;
    await this.#sendStatus(connector);
  }

  async #sendStatus(connector: Connector): Promise<void> {
    const status = connector.status;
    await this.#callNow(this.#dialect.statusNotification(connector.id, status, connector.tx !== undefined, this.#now()));
    connector.reported = status;
  }

  /** Status reports are not queued: the CSMS gets the current state on reconnect instead. */
  async reportStatus(connectorId: number): Promise<void> {
    const connector = this.#connector(connectorId);
    if (this.#state !== 'open') return;
    await this.#sendStatus(connector);
  }

  async #setStatus(connector: Connector, status: ConnectorStatus): Promise<void> {
    connector.status = status;
    await this.reportStatus(connector.id).catch((error) => this.emit('failure', { action: 'StatusNotification', error }));
  }

  async #reportStatuses(all: boolean): Promise<void> {
    for (const c of this.#connectors) {
      if (all || c.reported !== c.status) await this.reportStatus(c.id);
    }
  }

  async authorize(idToken: string): Promise<string> {
    const res = await this.#callNow(this.#dialect.authorize(idToken, 'ISO14443'));
    return this.#dialect.authorizeStatus(res);
  }

  async startCharging(opts: StartChargingOptions): Promise<StartChargingResult> {
    const connector = this.#connector(opts.connectorId);
    if (connector.tx) throw simErrors.SIM_CONNECTOR_BUSY(`connector ${connector.id} already has transaction ${connector.tx.localId}`);
    if (!connector.operative) throw simErrors.SIM_CONNECTOR_BUSY(`connector ${connector.id} is Unavailable`);
    if (typeof opts.idToken !== 'string' || opts.idToken.length === 0) throw simErrors.SIM_BAD_OPTIONS('idToken must be a non-empty string');
    const tx: ActiveTx = {
      localId: randomUUID(),
      connectorId: connector.id,
      idToken: opts.idToken,
      idTokenType: opts.idTokenType ?? 'ISO14443',
      remoteStartId: opts.remoteStartId,
      seqNo: 0,
      requestedPowerW: opts.powerW ?? this.#opts.maxPowerW ?? 22_000,
    };
    const ctx = this.#txContext(connector, tx);
    connector.tx = tx;
    // 1.6 reports the steps of plugging in (Preparing, then Charging); 2.x only Occupied.
    await this.#setStatus(connector, this.ocppVersion === '1.6' ? 'Preparing' : 'Occupied');
    let res: unknown;
    try {
      res = await this.#transmit({
        action: this.ocppVersion === '1.6' ? 'StartTransaction' : 'TransactionEvent',
        build: () => this.#dialect.transactionStarted(tx, ctx, opts.remoteStartId !== undefined).payload,
        onResult: (r) => {
          const { csmsId } = this.#dialect.startResult(r);
          if (csmsId !== undefined) tx.csmsId = csmsId;
        },
      }, true);
    } catch (err) {
      connector.tx = undefined;
      await this.#setStatus(connector, 'Available');
      throw err;
    }
    connector.meter.setPower(ctx.at.getTime(), this.#powerFor(connector));
    if (this.#meterIntervalMs && this.#meterIntervalMs > 0) {
      tx.meterTimer = setInterval(() => {
        this.sendMeterValues(connector.id).catch((error) => this.emit('failure', { action: 'MeterValues', error }));
      }, this.#meterIntervalMs).unref();
    }
    const status = res === QUEUED ? 'Queued' : this.#dialect.startResult(res).status;
    const transactionId = this.ocppVersion === '1.6' && tx.csmsId !== undefined ? String(tx.csmsId) : tx.localId;
    this.emit('transaction', { event: 'started', connectorId: connector.id, transactionId });
    if (this.ocppVersion === '1.6') await this.#setStatus(connector, 'Charging');
    if (status !== 'Accepted' && status !== 'Queued') await this.stopCharging(connector.id, 'DeAuthorized');
    return { transactionId, idTokenStatus: status };
  }

  #txContext(connector: Connector, tx: ActiveTx): TxEventContext {
    const at = this.#now();
    return { at, reading: connector.meter.read(at.getTime()), seqNo: tx.seqNo++, offline: this.#state !== 'open' };
  }

  async sendMeterValues(connectorId: number, trigger?: 'Trigger'): Promise<void> {
    const connector = this.#connector(connectorId);
    const tx = connector.tx;
    if (!tx) {
      const at = this.#now();
      await this.#callNow(this.#dialect.meterValues(connector.id, connector.meter.read(at.getTime()), at));
      return;
    }
    const ctx = this.#txContext(connector, tx);
    await this.#transmit({
      action: this.ocppVersion === '1.6' ? 'MeterValues' : 'TransactionEvent',
      build: () => this.#dialect.transactionUpdated(tx, ctx, trigger ?? 'MeterValuePeriodic').payload,
    }, true);
  }

  async stopCharging(connectorId: number, reason = 'Local'): Promise<void> {
    const connector = this.#connector(connectorId);
    const tx = connector.tx;
    if (!tx) throw simErrors.SIM_NO_TRANSACTION(`connector ${connector.id} has no transaction`);
    clearInterval(tx.meterTimer);
    const ctx = this.#txContext(connector, tx);
    connector.meter.setPower(ctx.at.getTime(), 0);
    connector.tx = undefined;
    let failure: unknown;
    await this.#transmit({
      action: this.ocppVersion === '1.6' ? 'StopTransaction' : 'TransactionEvent',
      build: () => this.#dialect.transactionEnded(tx, ctx, reason).payload,
    }, true).catch((err) => { failure = err; });
    this.emit('transaction', { event: 'ended', connectorId: connector.id, transactionId: tx.csmsId !== undefined ? String(tx.csmsId) : tx.localId });
    if (this.ocppVersion === '1.6') await this.#setStatus(connector, 'Finishing');
    await this.#setStatus(connector, connector.operative ? 'Available' : 'Unavailable');
    if (this.#resetWhenIdle && this.#connectors.every((c) => !c.tx)) {
      this.#resetWhenIdle = false;
      this.afterReply(() => this.reset(false));
    }
    if (failure) throw failure;
  }

  async securityEvent(type: string, techInfo?: string): Promise<void> {
    const at = this.#now();
    // 2.0.1 A04.FR.02: security events are queued while offline like transaction messages.
    await this.#transmit({ action: 'SecurityEventNotification', build: () => this.#dialect.securityEvent(type, techInfo, at).payload }, true);
  }

  meterReading(connectorId: number): number {
    return this.#connector(connectorId).meter.read(this.#now().getTime()).energyWh;
  }

  transactionId(connectorId: number): string | undefined {
    const tx = this.#connector(connectorId).tx;
    if (!tx) return undefined;
    return this.ocppVersion === '1.6' && tx.csmsId !== undefined ? String(tx.csmsId) : tx.localId;
  }

  #connector(connectorId: number): Connector {
    const connector = Number.isInteger(connectorId) ? this.#connectors[connectorId - 1] : undefined;
    if (!connector) throw simErrors.SIM_UNKNOWN_CONNECTOR(`station ${this.id} has connectors 1..${this.connectorCount}, not ${String(connectorId)}`);
    return connector;
  }

  #powerFor(connector: Connector): number {
    const requested = connector.tx?.requestedPowerW ?? 0;
    return Math.min(requested, this.#opts.maxPowerW ?? 22_000, connector.limitW ?? Infinity);
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
    return this.#connectors[connectorId - 1]?.tx !== undefined;
  }

  isOperative(connectorId: number): boolean {
    return this.#connectors[connectorId - 1]?.operative ?? false;
  }

  connectorOfTransaction(transactionId: string): number | undefined {
    return this.#connectors.find((c) => c.tx && (c.tx.localId === transactionId || String(c.tx.csmsId) === transactionId))?.id;
  }

  freeConnector(): number | undefined {
    return this.#connectors.find((c) => !c.tx && c.operative)?.id;
  }

  async setOperative(connectorId: number, operative: boolean): Promise<void> {
    const targets = connectorId === 0 ? this.#connectors : [this.#connector(connectorId)];
    for (const c of targets) {
      c.operative = operative;
      if (!c.tx) await this.#setStatus(c, operative ? 'Available' : 'Unavailable');
    }
  }

  setChargingLimit(connectorId: number, limitW: number | undefined): void {
    const targets = connectorId === 0 ? this.#connectors : [this.#connector(connectorId)];
    const nowMs = this.#now().getTime();
    for (const c of targets) {
      c.limitW = limitW;
      if (c.tx) c.meter.setPower(nowMs, this.#powerFor(c));
    }
    this.emit('chargingLimit', { connectorId, limitW });
  }

  /** Reboot: end transactions, drop the link, come back with BootNotification (reason RemoteReset). */
  async reset(hard: boolean, whenIdle = false): Promise<void> {
    if (whenIdle && this.#connectors.some((c) => c.tx)) {
      this.#resetWhenIdle = true;
      return;
    }
    const reason = this.ocppVersion === '1.6' ? (hard ? 'HardReset' : 'SoftReset') : hard ? 'ImmediateReset' : 'Reboot';
    for (const c of this.#connectors) if (c.tx) await this.stopCharging(c.id, reason).catch(() => undefined);
    this.emit('reset', { hard });
    this.#setState('offline');
    this.#dropClient(false);
    this.#bootAccepted = false;
    await this.#open();
    const result = await this.boot('RemoteReset');
    if (result.status === 'Accepted') {
      await this.#replay();
      await this.#reportStatuses(true);
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
