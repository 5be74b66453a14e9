/**
 * The node's Prometheus metrics: what an operator alerts on. Station
 * handshakes by outcome, OCPP version and security profile; authentication
 * failures by reason and profile; lock-outs; alerts by detector and
 * severity; latency of every OCPP action a station sends; build info. `promtool check metrics` passes on the
 * exposition (test/app/metrics.test.ts).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Bus } from './bus/index.js';
import { Topics, type LockoutChanged } from './bus/events.js';
import type { Alert } from './monitor/events.js';
import type { HandshakeDecision, HandshakeFacts } from './model/handshake.js';
import type { GroupCommitStats } from './store/index.js';

/**
 * prom-client's default Node metrics include three gauges named `…_total`
 * (active handles, requests, resources), which Prometheus reserves for
 * counters; the same figures are exposed per type by `nodejs_active_handles`,
 * `…_requests` and `…_resources` (sum them for the totals).
 */
const MISNAMED_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** OCPP handlers answer in milliseconds; the slow tail is the store and scrypt under load. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

const OUTCOME_OF_STATUS: Record<number, string> = { 400: 'bad_request', 401: 'unauthenticated', 403: 'forbidden', 404: 'not_found', 409: 'duplicate', 429: 'locked_out', 503: 'unavailable' };

export type HandshakeResult = HandshakeDecision;

export function createMetrics(opts: { version: string; nodeId: string }) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULTS) registry.removeSingleMetric(name);
  const registers = [registry];

  new Gauge({ name: 'evguard_build_info', help: 'Build of this node (value 1)', labelNames: ['version', 'node_version', 'node_id'], registers })
    .set({ version: opts.version, node_version: process.version, node_id: opts.nodeId }, 1);
  const connected = new Gauge({ name: 'evguard_stations_connected', help: 'Stations with a live OCPP session on this node', registers });
  const calls = new Counter({ name: 'evguard_ocpp_calls_total', help: 'CALLs received from stations', labelNames: ['action'], registers });
  const callLatency = new Histogram({
    name: 'evguard_ocpp_call_duration_seconds', help: 'Time from a station CALL to its answer, by action and OCPP version',
    labelNames: ['action', 'ocpp_version', 'result'], buckets: LATENCY_BUCKETS, registers,
  });
  const handshakes = new Counter({
    name: 'evguard_ocpp_handshakes_total', help: 'OCPP WebSocket handshakes by outcome, OCPP version and security profile (the profile granted, or for a refusal the one the connection attempted: 1 plain, 2 TLS, 3 TLS with a client certificate)',
    labelNames: ['outcome', 'ocpp_version', 'security_profile'], registers,
  });
  const authFailures = new Counter({
    name: 'evguard_station_auth_failures_total', help: 'Station handshakes refused by the authentication policy, by reason and attempted security profile',
    labelNames: ['reason', 'security_profile'], registers,
  });
  const securityEvents = new Counter({ name: 'evguard_security_events_total', help: 'Security events recorded', labelNames: ['type', 'source'], registers });
  const lockouts = new Counter({ name: 'evguard_lockouts_total', help: 'Lock-outs set by automatic responses, by scope (station_address: one station from one address)', labelNames: ['scope'], registers });
  const alerts = new Counter({ name: 'evguard_alerts_total', help: 'Alerts raised, by detector and severity', labelNames: ['detector', 'severity'], registers });

  const tlsHandshakes = new Counter({ name: 'evguard_tls_handshakes_total', help: 'TLS handshakes completed on the TLS port, by whether the client resumed an earlier session (a ticket) instead of a full handshake', labelNames: ['resumed'], registers });

  const attemptedProfile = (f: Pick<HandshakeFacts, 'secure' | 'peerCertificateChain'>) => (!f.secure ? '1' : f.peerCertificateChain?.length ? '3' : '2');

  return {
    registry,
    /** The embedded database's group commits: writes ÷ commits is the mean batch (see src/store/sqlite-group-commit.ts). */
    followDatabase(stats: GroupCommitStats | undefined) {
      if (!stats) return;
      new Counter({ name: 'evguard_db_commits_total', help: 'Commits of the embedded SQLite database (one per event-loop turn that wrote)', registers, collect() { this.reset(); this.inc(stats.commits); } });
      new Counter({ name: 'evguard_db_writes_total', help: 'Writes to the embedded SQLite database acknowledged after a group commit (a database transaction counts once)', registers, collect() { this.reset(); this.inc(stats.writes); } });
    },
    /** One finished handshake (after authentication, duplicate check and claim). */
    handshake(f: Pick<HandshakeFacts, 'secure' | 'peerCertificateChain' | 'version'>, result: HandshakeResult) {
      if (result.accept) {
        handshakes.inc({ outcome: 'accepted', ocpp_version: f.version, security_profile: String(result.securityProfile) });
        return;
      }
      const profile = attemptedProfile(f);
      handshakes.inc({ outcome: OUTCOME_OF_STATUS[result.status] ?? 'refused', ocpp_version: f.version, security_profile: profile });
      if (result.reason && result.reason !== 'LockedOut' && (result.status === 401 || result.status === 403)) authFailures.inc({ reason: result.reason, security_profile: profile });
    },
    /** Starts the clock on one CALL; call the result with whether it was answered with a CALLRESULT. */
    call(action: string, ocppVersion: string): (ok: boolean) => void {
      calls.inc({ action });
      const end = callLatency.startTimer({ action, ocpp_version: ocppVersion });
      return (ok) => end({ result: ok ? 'ok' : 'error' });
    },
    tlsHandshake: (resumed: boolean) => tlsHandshakes.inc({ resumed: String(resumed) }),
    stationConnected: () => connected.inc(),
    stationDisconnected: () => connected.dec(),
    securityEvent: (type: string, source: 'station' | 'csms') => securityEvents.inc({ type, source }),
    /**
     * Lock-outs and alerts follow the bus. In cluster mode the bus is the
     * cluster's, so every node counts the fleet's lock-outs and alerts
     * (aggregate these two with max(), not sum(), across nodes).
     */
    follow(bus: Bus): () => void {
      const subs = [
        bus.subscribe(Topics.monitorLockout, (e) => {
          const l: Partial<LockoutChanged> | undefined = e.data;
          if (l?.op === 'set') lockouts.inc({ scope: l.stationId && l.remoteAddress ? 'station_address' : l.stationId ? 'station' : 'address' });
        }),
        bus.subscribe(Topics.alertRaised, (e) => {
          const a: Partial<Alert> | undefined = e.data;
          if (typeof a?.detector === 'string') alerts.inc({ detector: a.detector, severity: String(a.severity ?? 'unknown') });
        }),
      ];
      return () => subs.forEach((u) => u());
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
