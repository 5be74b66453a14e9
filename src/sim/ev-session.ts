/**
 * An ISO 15118-2 charging session between the EV simulator (EVCC) and a
 * simulated station (SECC) over TLS, carrying the data elements of the
 * report's Table 1: SessionSetup (EVCCID), ServiceDiscovery,
 * PaymentServiceSelection, CertificateInstallation when the EV has no
 * contract, PaymentDetails (contract chain → OCPP Authorize), Authorization
 * (signed challenge), ChargeParameterDiscovery (EV limits, energy, departure
 * time → OCPP NotifyEVChargingNeeds), PowerDelivery (→ OCPP transaction),
 * CurrentDemand with state of charge (DC) or ChargingStatus (AC),
 * MeteringReceipt (signed by the contract key) and SessionStop.
 *
 * JSON rendering, no EXI codec: each message is one line of UTF-8 JSON
 * `{ "Header": { "SessionID" }, "Body": { "<Name>Req|Res": { … } } }` over
 * TLS 1.2+ in place of V2GTP over TLS. The SECC authenticates with its V2G
 * (SECC) certificate chain; the EV checks it against the V2G root, as
 * ISO 15118-2 does (server authentication only).
 */
import { randomBytes, verify, X509Certificate } from 'node:crypto';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { canonicalJson } from '../canonical-json.js';
import type { SimSecc } from './types.js';
import { simErrors } from './errors.js';
import type { SimStation } from './types.js';

export interface V2gMessage {
  Header: { SessionID: string };
  Body: Record<string, any>;
}

/** Line framing over a TLS socket: one JSON message per line, at most 64 KiB. */
function lines(socket: TLSSocket, onMessage: (m: V2gMessage) => void, onBad: (why: string) => void) {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > 65_536) return onBad('message too long');
    let at: number;
    while ((at = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, at);
      buffered = buffered.slice(at + 1);
      let parsed: V2gMessage;
      try {
        parsed = JSON.parse(line);
      } catch {
        return onBad('not JSON');
      }
      if (!parsed || typeof parsed !== 'object' || !parsed.Body || typeof parsed.Body !== 'object') return onBad('no Body');
      onMessage(parsed);
    }
  });
}

const send = (socket: TLSSocket, m: V2gMessage) => socket.write(`${JSON.stringify(m)}\n`);

// ── SECC (station side) ────────────────────────────────────────────────

export interface SeccServerOptions {
  /** The SECC certificate chain (PEM, leaf first) and its key: the station's V2GCertificate. */
  cert: string;
  key: string;
  host?: string;
  port?: number;
  connectorId?: number;
  /** EVSEID as ISO 15118 writes it; default derived from the station id. */
  evseId?: string;
}

export interface SeccServer {
  readonly port: number;
  /** Each finished session's outcome: the EMAID, the transaction id and the energy delivered. */
  readonly sessions: { evccId: string; emaid?: string; transactionId?: string; energyWh?: number; outcome: string }[];
  close(): Promise<void>;
}

/** The order a Plug & Charge session follows; a message out of order ends it with FAILED_SequenceError. */
const NEXT: Record<string, string[]> = {
  start: ['SessionSetupReq'],
  SessionSetupReq: ['ServiceDiscoveryReq'],
  ServiceDiscoveryReq: ['PaymentServiceSelectionReq'],
  PaymentServiceSelectionReq: ['CertificateInstallationReq', 'PaymentDetailsReq'],
  CertificateInstallationReq: ['PaymentDetailsReq'],
  PaymentDetailsReq: ['AuthorizationReq'],
  AuthorizationReq: ['AuthorizationReq', 'ChargeParameterDiscoveryReq'],
  ChargeParameterDiscoveryReq: ['PowerDeliveryReq'],
  PowerDeliveryReq: ['CurrentDemandReq', 'ChargingStatusReq', 'SessionStopReq'],
  CurrentDemandReq: ['CurrentDemandReq', 'MeteringReceiptReq', 'PowerDeliveryReq'],
  ChargingStatusReq: ['ChargingStatusReq', 'MeteringReceiptReq', 'PowerDeliveryReq'],
  MeteringReceiptReq: ['CurrentDemandReq', 'ChargingStatusReq', 'PowerDeliveryReq'],
};

export async function listenSecc(station: SimStation, secc: SimSecc, opts: SeccServerOptions): Promise<SeccServer> {
  const connectorId = opts.connectorId ?? 1;
  const evseId = opts.evseId ?? `ZZ*EVG*E${station.id.replace(/[^A-Za-z0-9]/g, '').slice(0, 20)}*${connectorId}`;
  const sessions: SeccServer['sessions'] = [];
  const server = createServer({ cert: opts.cert, key: opts.key, minVersion: 'TLSv1.2' }, (socket) => {
    const sessionId = randomBytes(8).toString('hex').toUpperCase();
    const record: SeccServer['sessions'][number] = { evccId: '', outcome: 'open' };
    sessions.push(record);
    let last = 'start';
    let contractLeaf: X509Certificate | undefined;
    let challenge: string | undefined;
    let maxPowerW = 11_000;
    let queue: Promise<unknown> = Promise.resolve();
    const reply = (name: string, body: Record<string, unknown>) => send(socket, { Header: { SessionID: sessionId }, Body: { [name]: { ResponseCode: 'OK', ...body } } });
    const fail = (name: string, code: string) => {
      record.outcome = code;
      send(socket, { Header: { SessionID: sessionId }, Body: { [name]: { ResponseCode: code } } });
      socket.end();
    };
    const meterInfo = () => ({ MeterID: `${station.id}-${connectorId}`.slice(0, 32), MeterReading: Math.round(station.meterReading(connectorId)) });

    async function handle(name: string, req: any) {
      const res = name.replace(/Req$/, 'Res');
      if (!NEXT[last]?.includes(name)) return fail(res, 'FAILED_SequenceError');
      last = name;
      switch (name) {
        case 'SessionSetupReq':
          record.evccId = String(req.EVCCID ?? '').slice(0, 12);
          return send(socket, { Header: { SessionID: sessionId }, Body: { SessionSetupRes: { ResponseCode: 'OK_NewSessionEstablished', EVSEID: evseId, EVSETimeStamp: Math.floor(Date.now() / 1000) } } });
        case 'ServiceDiscoveryReq':
          return reply(res, {
            PaymentOptionList: ['Contract', 'ExternalPayment'],
            ChargeService: { ServiceID: 1, ServiceCategory: 'EVCharging', FreeService: false, SupportedEnergyTransferMode: ['AC_three_phase_core', 'DC_extended'] },
          });
        case 'PaymentServiceSelectionReq':
          return req.SelectedPaymentOption === 'Contract' ? reply(res, {}) : fail(res, 'FAILED_PaymentSelectionInvalid');
        case 'CertificateInstallationReq': {
          // The EV's signed request goes to the CSMS untouched; its signed answer comes back untouched.
          const exi = Buffer.from(JSON.stringify({ CertificateInstallationReq: req.CertificateInstallationReq, Signature: req.Signature })).toString('base64');
          const r = await secc.certificateInstallation(exi);
          const answer = r.exiResponse ? JSON.parse(Buffer.from(r.exiResponse, 'base64').toString('utf8')) : { CertificateInstallationRes: { ResponseCode: 'FAILED' } };
          return send(socket, { Header: { SessionID: sessionId }, Body: answer });
        }
        case 'PaymentDetailsReq': {
          const chain = req.ContractSignatureCertChain;
          if (!Array.isArray(chain) || typeof req.eMAID !== 'string') return fail(res, 'FAILED');
          const r = await secc.paymentDetails({ eMAID: req.eMAID, ContractSignatureCertChain: chain });
          if (r.ResponseCode !== 'OK') return fail(res, r.ResponseCode);
          record.emaid = req.eMAID;
          contractLeaf = new X509Certificate(Buffer.from(chain[0], 'base64'));
          challenge = randomBytes(16).toString('base64');
          return reply(res, { GenChallenge: challenge, EVSETimeStamp: Math.floor(Date.now() / 1000) });
        }
        case 'AuthorizationReq': {
          // ISO 15118-2 [V2G2-475]: the EV signs the challenge with its contract key.
          const body = req.AuthorizationReq ?? {};
          const ok = body.GenChallenge === challenge && typeof req.Signature === 'string'
            && verify('sha256', Buffer.from(canonicalJson(body)), contractLeaf!.publicKey, Buffer.from(req.Signature, 'base64'));
          return ok ? reply(res, { EVSEProcessing: 'Finished' }) : fail(res, 'FAILED_ChallengeInvalid');
        }
        case 'ChargeParameterDiscoveryReq': {
          const dc = req.DC_EVChargeParameter;
          const ac = req.AC_EVChargeParameter;
          const p = dc ?? ac ?? {};
          // OCPP 2.x K15/K17: the station reports the EV's needs to the CSMS.
          await station.call('NotifyEVChargingNeeds', {
            evseId: connectorId,
            chargingNeeds: dc
              ? { requestedEnergyTransfer: 'DC', departureTime: new Date(Date.now() + (Number(p.DepartureTime) || 0) * 1000).toISOString(), dcChargingParameters: { evMaxCurrent: p.EVMaximumCurrentLimit, evMaxVoltage: p.EVMaximumVoltageLimit, energyAmount: p.EVEnergyRequest, stateOfCharge: p.DC_EVStatus?.EVRESSSOC, fullSoC: p.FullSOC } }
              : { requestedEnergyTransfer: 'AC_three_phase', departureTime: new Date(Date.now() + (Number(p.DepartureTime) || 0) * 1000).toISOString(), acChargingParameters: { energyAmount: p.EAmount, evMinCurrent: p.EVMinCurrent, evMaxCurrent: p.EVMaxCurrent, evMaxVoltage: p.EVMaxVoltage } },
          }).catch(() => undefined);
          maxPowerW = dc ? Math.min(50_000, p.EVMaximumPowerLimit ?? 50_000) : Math.min(11_000, (p.EVMaxCurrent ?? 16) * 230 * 3);
          return reply(res, {
            EVSEProcessing: 'Finished',
            SAScheduleList: [{ SAScheduleTupleID: 1, PMaxSchedule: [{ start: 0, PMax: maxPowerW }] }],
            ...(dc ? { DC_EVSEChargeParameter: { EVSEMaximumPowerLimit: 50_000, EVSEMaximumCurrentLimit: 125, EVSEMaximumVoltageLimit: 500 } } : { AC_EVSEChargeParameter: { EVSENominalVoltage: 230, EVSEMaxCurrent: 16 } }),
          });
        }
        case 'PowerDeliveryReq':
          if (req.ChargeProgress === 'Start') {
            const started = await station.startCharging({ connectorId, idToken: record.emaid!, idTokenType: 'eMAID', powerW: maxPowerW });
            record.transactionId = started.transactionId;
            if (started.idTokenStatus !== 'Accepted') return fail(res, 'FAILED');
            return reply(res, {});
          }
          if (station.transactionId(connectorId)) {
            record.energyWh = station.meterReading(connectorId);
            await station.stopCharging(connectorId, 'StoppedByEV');
          }
          last = 'PowerDeliveryReq';
          return reply(res, {});
        case 'CurrentDemandReq':
          await station.sendMeterValues(connectorId);
          return reply(res, { EVSEID: evseId, SAScheduleTupleID: 1, EVSEPresentVoltage: req.EVTargetVoltage ?? 400, EVSEPresentCurrent: req.EVTargetCurrent ?? 0, MeterInfo: meterInfo(), ReceiptRequired: true });
        case 'ChargingStatusReq':
          await station.sendMeterValues(connectorId);
          return reply(res, { EVSEID: evseId, SAScheduleTupleID: 1, MeterInfo: meterInfo(), ReceiptRequired: true });
        case 'MeteringReceiptReq': {
          const body = req.MeteringReceiptReq ?? {};
          const ok = typeof req.Signature === 'string' && verify('sha256', Buffer.from(canonicalJson(body)), contractLeaf!.publicKey, Buffer.from(req.Signature, 'base64'));
          return ok ? reply(res, {}) : fail(res, 'FAILED_MeteringSignatureNotValid');
        }
        case 'SessionStopReq':
          record.outcome = 'completed';
          reply(res, {});
          socket.end();
          return;
        default:
          return fail(res, 'FAILED_SequenceError');
      }
    }

    lines(socket, (m) => {
      const [name] = Object.keys(m.Body);
      if (!name) return;
      const req = name === 'AuthorizationReq' || name === 'MeteringReceiptReq' ? m.Body : m.Body[name];
      queue = queue.then(() => handle(name, name === 'CertificateInstallationReq' ? m.Body : req)).catch((err) => fail(name.replace(/Req$/, 'Res'), `FAILED: ${(err as Error).message}`.slice(0, 80)));
    }, () => socket.destroy());
    socket.on('error', () => undefined);
  });
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

// ── EVCC (vehicle side) ────────────────────────────────────────────────

/** One request/response exchange on an open session. */
export interface V2gChannel {
  exchange(body: Record<string, unknown>): Promise<Record<string, any>>;
  readonly peerCertificate: X509Certificate;
  close(): void;
}

/** Opens TLS to the SECC and checks its chain against the V2G root (no host name: ISO 15118 has none). */
export function openV2gChannel(target: { host?: string; port: number; v2gRootPem: string }): Promise<V2gChannel> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: target.host ?? '127.0.0.1', port: target.port, ca: target.v2gRootPem, checkServerIdentity: () => undefined, minVersion: 'TLSv1.2' });
    let sessionId = '00';
    const waiting: ((m: V2gMessage | Error) => void)[] = [];
    const failAll = (err: Error) => {
      for (const w of waiting.splice(0)) w(err);
    };
    socket.once('error', (err) => {
      reject(err);
      failAll(err);
    });
    socket.on('close', () => failAll(simErrors.SIM_OFFLINE('the SECC closed the session')));
    lines(socket, (m) => waiting.shift()?.(m), (why) => failAll(simErrors.SIM_INVALID_MESSAGE(`SECC sent ${why}`)));
    socket.once('secureConnect', () => {
      const peer = socket.getPeerX509Certificate();
      if (!peer) return reject(simErrors.SIM_CONNECT_FAILED('the SECC sent no certificate'));
      resolve({
        peerCertificate: peer,
        exchange(body) {
          return new Promise((res, rej) => {
            waiting.push((m) => {
              if (m instanceof Error) return rej(m);
              if (m.Header?.SessionID) sessionId = m.Header.SessionID;
              res(m.Body);
            });
            send(socket, { Header: { SessionID: sessionId }, Body: body });
          });
        },
        close: () => socket.end(),
      });
    });
  });
}
