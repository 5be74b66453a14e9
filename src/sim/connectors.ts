/**
 * The station's connectors: status, availability, charging limits, energy
 * meters and the transaction on each. Transaction messages go through the
 * outbox, so they queue while offline; status reports do not queue, and the
 * CSMS instead hears the current status of whatever changed when the link
 * comes back (2.0.1 B04/G01).
 */
import { randomUUID } from 'node:crypto';
import type { Dialect, TxEventContext, TxRecord } from './dialect.js';
import { simErrors } from './errors.js';
import { EnergyMeter } from './meter.js';
import { QUEUED, type Outbox } from './outbox.js';
import type { ConnectorStatus, OcppVersion, StartChargingOptions, StartChargingResult } from './types.js';

interface ActiveTx extends TxRecord {
  seqNo: number;
  requestedPowerW: number;
  meterTimer?: NodeJS.Timeout;
}

interface Connector {
  id: number;
  status: ConnectorStatus;
  /** Last status the CSMS heard. */
  reported?: ConnectorStatus;
  operative: boolean;
  meter: EnergyMeter;
  limitW?: number;
  tx?: ActiveTx;
}

export interface ConnectorsHost {
  readonly id: string;
  readonly ocppVersion: OcppVersion;
  readonly dialect: Dialect;
  readonly outbox: Outbox;
  readonly maxPowerW: number;
  now(): Date;
  online(): boolean;
  meterIntervalMs(): number | undefined;
  emit(event: string, ...args: unknown[]): boolean;
}

export class Connectors {
  readonly #host: ConnectorsHost;
  readonly #list: Connector[];
  readonly #v16: boolean;

  constructor(host: ConnectorsHost, count: number) {
    this.#host = host;
    this.#v16 = host.ocppVersion === '1.6';
    const startMs = host.now().getTime();
    this.#list = Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      status: 'Available' as ConnectorStatus,
      operative: true,
      meter: new EnergyMeter(0, startMs),
    }));
  }

  #get(connectorId: number): Connector {
    const connector = Number.isInteger(connectorId) ? this.#list[connectorId - 1] : undefined;
    if (!connector) throw simErrors.SIM_UNKNOWN_CONNECTOR(`station ${this.#host.id} has connectors 1..${this.#list.length}, not ${String(connectorId)}`);
    return connector;
  }

  #targets(connectorId: number): Connector[] {
    return connectorId === 0 ? this.#list : [this.#get(connectorId)];
  }

  #failure(action: string) {
    return (error: unknown) => void this.#host.emit('failure', { action, error });
  }

  // ── status ────────────────────────────────────────────────────────────

  async statusNotification(connectorId: number, status: ConnectorStatus): Promise<void> {
    const connector = this.#get(connectorId);
    connector.status = status;
    await this.#sendStatus(connector);
  }

  async #sendStatus(connector: Connector): Promise<void> {
    const status = connector.status;
    const out = this.#host.dialect.statusNotification(connector.id, status, connector.tx !== undefined, this.#host.now());
    await this.#host.outbox.transmit({ action: out.action, build: () => out.payload }, false);
    connector.reported = status;
  }

  /** Sends the connector's status if online; offline it is reported on reconnect instead. */
  async reportStatus(connectorId: number): Promise<void> {
    const connector = this.#get(connectorId);
    if (this.#host.online()) await this.#sendStatus(connector);
  }

  /** All statuses after boot, or only those that changed while offline. */
  async reportStatuses(all: boolean): Promise<void> {
    for (const c of this.#list) {
      if (all || c.reported !== c.status) await this.reportStatus(c.id);
    }
  }

  async #setStatus(connector: Connector, status: ConnectorStatus): Promise<void> {
    connector.status = status;
    await this.reportStatus(connector.id).catch(this.#failure('StatusNotification'));
  }

  async setOperative(connectorId: number, operative: boolean): Promise<void> {
    for (const c of this.#targets(connectorId)) {
      c.operative = operative;
      if (!c.tx) await this.#setStatus(c, operative ? 'Available' : 'Unavailable');
    }
  }

  setChargingLimit(connectorId: number, limitW: number | undefined): void {
    const nowMs = this.#host.now().getTime();
    for (const c of this.#targets(connectorId)) {
      c.limitW = limitW;
      if (c.tx) c.meter.setPower(nowMs, this.#powerFor(c));
    }
    this.#host.emit('chargingLimit', { connectorId, limitW });
  }

  #powerFor(connector: Connector): number {
    return Math.min(connector.tx?.requestedPowerW ?? 0, this.#host.maxPowerW, connector.limitW ?? Infinity);
  }

  // ── transactions ──────────────────────────────────────────────────────

  async start(opts: StartChargingOptions): Promise<StartChargingResult> {
    const { dialect, outbox } = this.#host;
    const connector = this.#get(opts.connectorId);
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
      requestedPowerW: opts.powerW ?? this.#host.maxPowerW,
    };
    const ctx = this.#context(connector, tx);
    connector.tx = tx;
    // 1.6 reports the steps of plugging in (Preparing, then Charging); 2.x only Occupied.
    await this.#setStatus(connector, this.#v16 ? 'Preparing' : 'Occupied');
    let res: unknown;
    try {
      res = await outbox.transmit({
        action: this.#v16 ? 'StartTransaction' : 'TransactionEvent',
        build: () => dialect.transactionStarted(tx, ctx, opts.remoteStartId !== undefined).payload,
        onResult: (r) => {
          const { csmsId } = dialect.startResult(r);
          if (csmsId !== undefined) tx.csmsId = csmsId;
        },
      }, true);
    } catch (err) {
      connector.tx = undefined;
      await this.#setStatus(connector, 'Available');
      throw err;
    }
    connector.meter.setPower(ctx.at.getTime(), this.#powerFor(connector));
    const every = this.#host.meterIntervalMs();
    if (every && every > 0) {
      tx.meterTimer = setInterval(() => void this.sendMeterValues(connector.id).catch(this.#failure('MeterValues')), every).unref();
    }
    const status = res === QUEUED ? 'Queued' : dialect.startResult(res).status;
    const transactionId = this.#publicId(tx);
    this.#host.emit('transaction', { event: 'started', connectorId: connector.id, transactionId });
    if (this.#v16) await this.#setStatus(connector, 'Charging');
    if (status !== 'Accepted' && status !== 'Queued') await this.stop(connector.id, 'DeAuthorized');
    return { transactionId, idTokenStatus: status };
  }

  #context(connector: Connector, tx: ActiveTx): TxEventContext {
    const at = this.#host.now();
    return { at, reading: connector.meter.read(at.getTime()), seqNo: tx.seqNo++, offline: !this.#host.online() };
  }

  /** The 1.6 CSMS id once known, else the station's own id (the only id in 2.x). */
  #publicId(tx: ActiveTx): string {
    return this.#v16 && tx.csmsId !== undefined ? String(tx.csmsId) : tx.localId;
  }

  async sendMeterValues(connectorId: number, trigger?: 'Trigger'): Promise<void> {
    const { dialect, outbox } = this.#host;
    const connector = this.#get(connectorId);
    const tx = connector.tx;
    if (!tx) {
      const at = this.#host.now();
      const out = dialect.meterValues(connector.id, connector.meter.read(at.getTime()), at);
      await outbox.transmit({ action: out.action, build: () => out.payload }, false);
      return;
    }
    const ctx = this.#context(connector, tx);
    await outbox.transmit({
      action: this.#v16 ? 'MeterValues' : 'TransactionEvent',
      build: () => dialect.transactionUpdated(tx, ctx, trigger ?? 'MeterValuePeriodic').payload,
    }, true);
  }

  async stop(connectorId: number, reason = 'Local'): Promise<void> {
    const connector = this.#get(connectorId);
    const tx = connector.tx;
    if (!tx) throw simErrors.SIM_NO_TRANSACTION(`connector ${connector.id} has no transaction`);
    clearInterval(tx.meterTimer);
    const ctx = this.#context(connector, tx);
    connector.meter.setPower(ctx.at.getTime(), 0);
    connector.tx = undefined;
    let failure: unknown;
    await this.#host.outbox.transmit({
      action: this.#v16 ? 'StopTransaction' : 'TransactionEvent',
      build: () => this.#host.dialect.transactionEnded(tx, ctx, reason).payload,
    }, true).catch((err) => { failure = err; });
    this.#host.emit('transaction', { event: 'ended', connectorId: connector.id, transactionId: this.#publicId(tx) });
    if (this.#v16) await this.#setStatus(connector, 'Finishing');
    await this.#setStatus(connector, connector.operative ? 'Available' : 'Unavailable');
    // The physical session has ended either way; the caller still learns the CSMS refused the message.
    if (failure) throw failure;
  }

  // ── queries ───────────────────────────────────────────────────────────

  meterReading(connectorId: number): number {
    return this.#get(connectorId).meter.read(this.#host.now().getTime()).energyWh;
  }

  transactionId(connectorId: number): string | undefined {
    const tx = this.#get(connectorId).tx;
    return tx ? this.#publicId(tx) : undefined;
  }

  hasTransaction(connectorId: number): boolean {
    return this.#list[connectorId - 1]?.tx !== undefined;
  }

  busy(): boolean {
    return this.#list.some((c) => c.tx);
  }

  withTransaction(): number[] {
    return this.#list.filter((c) => c.tx).map((c) => c.id);
  }

  isOperative(connectorId: number): boolean {
    return this.#list[connectorId - 1]?.operative ?? false;
  }

  ofTransaction(transactionId: string): number | undefined {
    return this.#list.find((c) => c.tx && (c.tx.localId === transactionId || String(c.tx.csmsId) === transactionId))?.id;
  }

  free(): number | undefined {
    return this.#list.find((c) => !c.tx && c.operative)?.id;
  }

  stopTimers(): void {
    for (const c of this.#list) clearInterval(c.tx?.meterTimer);
  }
}
