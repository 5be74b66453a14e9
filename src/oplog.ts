/**
 * The operational log: one structured line per event an operator or a SIEM
 * needs (stations connecting, refused or locked out, alerts and automatic
 * actions, campaign steps, certificate revocations), taken from the bus in
 * this one place rather than from the modules that cause them. Every line
 * has `event` and, where there is one, `stationId`.
 *
 * Levels keep `info` readable on a busy node: routine traffic (boots,
 * transactions, station-reported events) is `debug`; refusals, lock-outs,
 * alerts of medium severity and up, automatic actions, halts and revocations
 * are `warn`. A burst of one kind (a reconnect storm, a password-guessing
 * flood) is logged line by line up to `burst` per window, then as one
 * summary line at the window's end.
 */
import type { Logger } from 'pino';
import type { Bus, BusEvent } from './bus/index.js';
import { Topics } from './bus/events.js';
import type { Alert } from './monitor/events.js';

type Level = 'debug' | 'info' | 'warn';

/** Handshake refusals the station policy and the gateway record as security events. */
const REFUSALS = new Set(['UnknownStation', 'InvalidStationCredentials', 'SecurityProfileDowngrade', 'ClientCertificateRejected', 'BlockedByIndicator', 'DuplicateIdentity']);

export interface OperationalLogOptions {
  /** Lines of one kind logged one by one per window. Default 20. */
  burst?: number;
  windowMs?: number;
}

export function followOperations(bus: Bus, log: Logger, opts: OperationalLogOptions = {}): () => void {
  const burst = opts.burst ?? 20;
  const windowMs = opts.windowMs ?? 10_000;
  const windows = new Map<string, { logged: number; dropped: number; level: Level; timer: NodeJS.Timeout }>();

  function line(level: Level, event: string, fields: Record<string, unknown>, msg: string) {
    if (!log.isLevelEnabled(level)) return;
    let w = windows.get(event);
    if (!w) {
      const timer = setTimeout(() => {
        windows.delete(event);
        if (w!.dropped > 0) log[w!.level]({ event, suppressed: w!.dropped, windowS: windowMs / 1000 }, `${w!.dropped} more ${event} in the last ${windowMs / 1000} s (not logged one by one)`);
      }, windowMs);
      timer.unref();
      w = { logged: 0, dropped: 0, level, timer };
      windows.set(event, w);
    }
    if (w.logged >= burst) {
      w.dropped++;
      return;
    }
    w.logged++;
    log[level]({ event, ...fields }, msg);
  }

  /** Actions already logged per alert, so a changed alert logs only what is new (bounded). */
  const seenActions = new Map<string, number>();
  const alertSeverity = (s: string): Level => (s === 'low' ? 'info' : 'warn');

  function onAlert(e: BusEvent<Alert>) {
    const a = e.data;
    if (!a || typeof a.id !== 'string') return;
    const base = { alertId: a.id, stationId: a.stationId, detector: a.detector, severity: a.severity };
    if (e.topic === Topics.alertRaised) line(alertSeverity(a.severity), 'alert.raised', { ...base, title: a.title }, `alert raised: ${a.title}`);
    else if (a.state !== 'open') line('info', `alert.${a.state}`, base, `alert ${a.state}: ${a.title}`);
    const actions = a.actions ?? [];
    const seen = seenActions.get(a.id) ?? 0;
    for (const act of actions.slice(seen)) {
      line('warn', 'action.automatic', { ...base, action: act.kind, outcome: act.outcome, until: act.until }, `automatic action ${act.kind} (${act.outcome}) for alert ${a.title}`);
    }
    seenActions.delete(a.id);
    seenActions.set(a.id, Math.max(seen, actions.length));
    if (seenActions.size > 10_000) seenActions.delete(seenActions.keys().next().value!);
  }

  const subscriptions = [
    bus.subscribe(Topics.stationConnected, (e) => {
      const c = e.data;
      line('info', 'station.connected', { stationId: c.stationId, ocppVersion: c.ocppVersion, securityProfile: c.securityProfile, remoteAddress: c.remoteAddress }, 'station connected');
    }),
    bus.subscribe(Topics.stationDisconnected, (e) => {
      const d = e.data;
      line('info', 'station.disconnected', { stationId: d.stationId, code: d.code, reason: d.reason || undefined }, 'station disconnected');
    }),
    bus.subscribe(Topics.stationBooted, (e) => {
      const b = e.data;
      line(b.status === 'Accepted' ? 'debug' : 'info', 'station.booted', { stationId: b.stationId, status: b.status, vendor: b.vendor, model: b.model, firmwareVersion: b.firmwareVersion, reason: b.reason }, `station booted (${b.status})`);
    }),
    bus.subscribe(Topics.securityEvent, (e) => {
      const s = e.data;
      if (!s || typeof s.type !== 'string') return;
      const fields = { stationId: s.stationId, remoteAddress: s.remoteAddress, type: s.type, techInfo: s.techInfo };
      if (s.source === 'csms' && REFUSALS.has(s.type)) line('warn', 'station.refused', fields, `station refused: ${s.type}`);
      else if (s.type === 'GridCommandRefused') line('warn', 'grid.refused', fields, 'grid guard refused a command');
      else if (s.source === 'csms') line('warn', 'security.observed', fields, `security event: ${s.type}`);
      else line(s.critical ? 'warn' : 'debug', 'security.reported', fields, `station reported ${s.type}`);
    }),
    bus.subscribe(Topics.monitorLockout, (e) => {
      const l = e.data;
      if (l?.op === 'set') line('warn', 'lockout.set', { stationId: l.stationId, remoteAddress: l.remoteAddress, until: l.until, reason: l.reason }, `locked out ${l.stationId ?? l.remoteAddress} until ${l.until}`);
      else if (l?.op === 'lift') line('info', 'lockout.lifted', { stationId: l.stationId, remoteAddress: l.remoteAddress }, 'lock-out lifted');
    }),
    bus.subscribe(Topics.alertRaised, onAlert),
    bus.subscribe(Topics.alertChanged, onAlert),
    bus.subscribe(Topics.firmwareCampaign, (e) => {
      const c = e.data;
      line(c.state === 'halted' ? 'warn' : 'info', 'campaign.state', { campaignId: c.campaignId, state: c.state, from: c.from, firmwareId: c.firmwareId, haltReason: c.haltReason }, `campaign ${c.state}${c.haltReason ? `: ${c.haltReason}` : ''}`);
    }),
    bus.subscribe(Topics.certificateRevoked, (e) => {
      const r = e.data;
      line('warn', 'certificate.revoked', { stationId: r.stationId, serial: r.serialHex, kind: r.kind, reason: r.reason }, `certificate revoked (${r.reason ?? 'unspecified'})`);
    }),
    bus.subscribe(Topics.certificateIssued, (e) => {
      const r = e.data;
      line('info', 'certificate.issued', { stationId: r.stationId, serial: r.serialHex, certificateType: r.certificateType, notAfter: r.notAfter }, 'certificate issued');
    }),
    bus.subscribe(Topics.certificateExpiring, (e) => {
      const r = e.data;
      line('warn', 'certificate.expiring', { stationId: r.stationId, serial: r.serialHex, kind: r.kind, notAfter: r.notAfter }, 'certificate expiring');
    }),
    bus.subscribe(Topics.transactionChanged, (e) => {
      const t = e.data;
      if (t.eventType === 'Updated') return;
      line('debug', `transaction.${t.eventType.toLowerCase()}`, { stationId: t.stationId, transactionId: t.transactionId, connectorId: t.connectorId, energyWh: t.energyWh }, `transaction ${t.eventType.toLowerCase()}`);
    }),
  ];

  return () => {
    for (const unsubscribe of subscriptions) unsubscribe();
    for (const w of windows.values()) clearTimeout(w.timer);
    windows.clear();
  };
}
