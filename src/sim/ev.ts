/**
 * An electric vehicle and the ISO 15118 side of a simulated station (SECC),
 * for Plug & Charge tests, the demo and the probe.
 *
 * The vehicle holds an OEM provisioning key and certificate (CN = PCID),
 * asks for a contract through the station (CertificateInstallationReq, which
 * the station forwards to the CSMS as OCPP Get15118EVCertificate), checks
 * the CPS signature on the answer, decrypts the contract key and then
 * authorises with its contract (PaymentDetailsReq, which the station turns
 * into OCPP Authorize with iso15118CertificateHashData).
 *
 * No EXI codec: messages use the JSON rendering that docs/trust.md describes
 * (base64 of UTF-8 JSON, a detached ECDSA signature over the RFC 8785
 * canonical JSON of the body). The vehicle talks to the SECC object in
 * process; the SECC talks OCPP to the CSMS over the station's real link.
 */
import { canonicalJson } from '../canonical-json.js';
import { createDecipheriv, createHash, createPrivateKey, createPublicKey, diffieHellman, sign, verify, X509Certificate, type KeyObject } from 'node:crypto';
import * as pkijs from 'pkijs';
import { createStationCsr, pemBlocks, toPem } from './certificates.js';
import { simErrors } from './errors.js';
import { openV2gChannel } from './ev-session.js';
import type { SimSecc } from './types.js';
import type { SimStation } from './types.js';

/** The ISO 15118-2 message set namespace a station reports in Get15118EVCertificate. */
export const ISO15118_2_SCHEMA = 'urn:iso:15118:2:2013:MsgDef';


const derOf = (pem: string) => Buffer.from(new X509Certificate(pem).raw).toString('base64');
const pemOf = (der: string) => toPem('CERTIFICATE', Buffer.from(der, 'base64'));

export interface OcspRequestData {
  hashAlgorithm: 'SHA256';
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
  responderURL: string;
}

/**
 * OCPP OCSPRequestDataType for each certificate of a chain (leaf first) whose
 * issuer is also in the chain: issuer DN and issuer key hashed with SHA-256.
 */
export function ocspRequestData(chain: string[], responderUrl = ''): OcspRequestData[] {
  const certs = chain.map((der) => pkijs.Certificate.fromBER(Buffer.from(der, 'base64')));
  const out: OcspRequestData[] = [];
  for (let i = 0; i + 1 < certs.length && out.length < 4; i++) {
    const cert = certs[i]!;
    const issuer = certs[i + 1]!;
    const aia = new X509Certificate(Buffer.from(chain[i]!, 'base64')).infoAccess ?? '';
    out.push({
      hashAlgorithm: 'SHA256',
      issuerNameHash: createHash('sha256').update(Buffer.from(cert.issuer.toSchema().toBER(false))).digest('hex'),
      issuerKeyHash: createHash('sha256').update(Buffer.from(issuer.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)).digest('hex'),
      serialNumber: Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^0+(?=.)/, ''),
      responderURL: (/OCSP - URI:(\S+)/.exec(aia)?.[1] ?? responderUrl).slice(0, 512),
    });
  }
  return out;
}

// ── the station side ────────────────────────────────────────────────────

/** The charging station's ISO 15118 front end, relaying to the CSMS over the station's OCPP 2.x link. */
export function createSimSecc(station: SimStation, opts: { responderUrl?: string } = {}): SimSecc {
  if (station.ocppVersion === '1.6') throw simErrors.SIM_BAD_OPTIONS('Plug & Charge messages need an OCPP 2.0.1 or 2.1 station');
  return {
    async certificateInstallation(exiRequest, action = 'Install') {
      const res: any = await station.call('Get15118EVCertificate', { iso15118SchemaVersion: ISO15118_2_SCHEMA, action, exiRequest });
      return { status: res.status, exiResponse: res.exiResponse, reasonCode: res.statusInfo?.reasonCode };
    },
    async paymentDetails(req) {
      const hashData = ocspRequestData(req.ContractSignatureCertChain, opts.responderUrl);
      const res: any = await station.call('Authorize', { idToken: { idToken: req.eMAID.slice(0, 36), type: 'eMAID' }, iso15118CertificateHashData: hashData });
      const accepted = res.idTokenInfo?.status === 'Accepted' && (res.certificateStatus ?? 'Accepted') === 'Accepted';
      // ISO 15118-2 [V2G2-xxx]: a contract the backend refuses ends the session with a FAILED response code.
      const code = accepted ? 'OK' : res.certificateStatus === 'CertificateRevoked' ? 'FAILED_CertificateRevoked' : res.certificateStatus === 'CertificateExpired' ? 'FAILED_CertificateExpired' : 'FAILED';
      return { ResponseCode: code, idTokenStatus: res.idTokenInfo?.status, certificateStatus: res.certificateStatus };
    },
    async certificateStatus(chain) {
      const [data] = ocspRequestData(chain, opts.responderUrl);
      if (!data) throw simErrors.SIM_BAD_OPTIONS('the chain needs the certificate and its issuer');
      const res: any = await station.call('GetCertificateStatus', { ocspRequestData: data });
      return { status: res.status, ocspResult: res.ocspResult, reasonCode: res.statusInfo?.reasonCode };
    },
  };
}

// ── the vehicle ─────────────────────────────────────────────────────────

export interface SimEvOptions {
  /** Provisioning certificate id: 17–18 alphanumerics, the CN of the OEM provisioning certificate. */
  pcid: string;
  /** The V2G root the vehicle trusts; when set, the CPS chain of an installation response must lead to it. */
  v2gRootPem?: string;
}

export interface SimContract {
  emaid: string;
  /** Base64 DER, leaf first, as ContractSignatureCertChain. */
  chain: string[];
  key: KeyObject;
}

export interface ContractInstallation {
  responseCode: string;
  /** The OCPP status the station saw (Accepted / Failed) and its reason code. */
  ocppStatus: string;
  reasonCode?: string;
  emaid?: string;
}

export interface ChargeOptions {
  /** EVCCID: the vehicle's MAC address as 12 hex digits. */
  evccId?: string;
  mode?: 'DC' | 'AC';
  /** State of charge at plug-in and the target, in percent (DC reports it in every CurrentDemand). */
  startSoc?: number;
  targetSoc?: number;
  /** Energy the EV asks for, in Wh, and seconds until departure. */
  energyWh?: number;
  departureS?: number;
  /** CurrentDemand / ChargingStatus rounds before the EV stops. */
  rounds?: number;
}

export interface ChargingSession {
  /** 'completed', or the ResponseCode (or refusal) that ended the session. */
  outcome: string;
  emaid?: string;
  evseId?: string;
  soc: number;
  meterReadingWh?: number;
  /** Every request and response name, in order, as exchanged. */
  transcript: string[];
}

export interface SimEv {
  readonly pcid: string;
  /** A fresh P-256 provisioning key and a CSR with CN = PCID, for the OEM CA. */
  provisioningCsr(): Promise<string>;
  /** The OEM provisioning chain (PEM, leaf first) issued for the last CSR. */
  setProvisioningCertificate(chainPem: string): void;
  installContract(secc: SimSecc): Promise<ContractInstallation>;
  contract(): SimContract | undefined;
  /** Plug & Charge authorisation with the installed contract. */
  authorize(secc: SimSecc): Promise<{ ResponseCode: string; idTokenStatus: string; certificateStatus?: string }>;
  /** A whole ISO 15118-2 Plug & Charge session over TLS with a SECC (see ev-session.ts); installs a contract first when it has none. */
  charge(target: { host?: string; port: number; v2gRootPem: string }, opts?: ChargeOptions): Promise<ChargingSession>;
}

export function createSimEv(opts: SimEvOptions): SimEv {
  if (!/^[A-Za-z0-9]{17,18}$/.test(opts.pcid)) throw simErrors.SIM_BAD_OPTIONS('pcid must be 17–18 letters or digits');
  let provisioningKey: KeyObject | undefined;
  let provisioningChain: string[] | undefined;
  let installed: SimContract | undefined;

  function checkCpsChain(chain: unknown, body: unknown, signature: unknown): string | undefined {
    if (!Array.isArray(chain) || chain.length === 0 || typeof signature !== 'string') return 'the response carries no CPS chain or signature';
    const certs = chain.map((der) => new X509Certificate(Buffer.from(String(der), 'base64')));
    if (!verify('sha256', Buffer.from(canonicalJson(body)), certs[0]!.publicKey, Buffer.from(signature, 'base64'))) return 'the CPS signature does not verify';
    for (let i = 0; i + 1 < certs.length; i++) if (!certs[i]!.verify(certs[i + 1]!.publicKey)) return `CPS certificate ${i} is not signed by the next`;
    if (opts.v2gRootPem && !certs.at(-1)!.verify(new X509Certificate(opts.v2gRootPem).publicKey)) return 'the CPS chain does not lead to the trusted V2G root';
    return undefined;
  }

  /** ISO 15118-2 8.4.3.3.2: ECDH with DHpublickey, SP 800-56A KDF (SHA-256, 0x01, 'U', 'V'), AES-128-CBC, IV in front. */
  function decryptContractKey(encryptedB64: string, dhPublicB64: string, contractLeaf: X509Certificate): KeyObject {
    const point = Buffer.from(dhPublicB64, 'base64');
    if (point.length !== 65 || point[0] !== 4) throw new Error('DHpublickey is not an uncompressed P-256 point');
    const ephemeral = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') }, format: 'jwk' });
    const z = diffieHellman({ privateKey: provisioningKey!, publicKey: ephemeral });
    const kek = createHash('sha256').update(Buffer.from([0, 0, 0, 1])).update(z).update(Buffer.from([0x01, 0x55, 0x56])).digest().subarray(0, 16);
    const data = Buffer.from(encryptedB64, 'base64');
    const decipher = createDecipheriv('aes-128-cbc', kek, data.subarray(0, 16)).setAutoPadding(false);
    const d = Buffer.concat([decipher.update(data.subarray(16)), decipher.final()]);
    const pub = contractLeaf.publicKey.export({ format: 'jwk' });
    const key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: pub.x!, y: pub.y!, d: d.toString('base64url') }, format: 'jwk' });
    // The decrypted scalar must belong to the certificate: sign and verify once.
    const probe = Buffer.from('contract key check');
    if (!verify('sha256', probe, contractLeaf.publicKey, sign('sha256', probe, key))) throw new Error('the decrypted key does not match the contract certificate');
    return key;
  }

  function installationRequest() {
    if (!provisioningKey || !provisioningChain) throw simErrors.SIM_BAD_OPTIONS('the vehicle has no provisioning certificate yet');
    const body = { Id: 'req1', OEMProvisioningCertificateChain: provisioningChain, ListOfRootCertificateIDs: [] };
    return { CertificateInstallationReq: body, Signature: sign('sha256', Buffer.from(canonicalJson(body)), provisioningKey).toString('base64') };
  }

  /** Checks a CertificateInstallationRes envelope and keeps the contract it carries. */
  function acceptInstallation(parsed: any): { responseCode: string; emaid?: string } {
    const answer = parsed?.CertificateInstallationRes ?? {};
    if (answer.ResponseCode !== 'OK') return { responseCode: String(answer.ResponseCode ?? 'FAILED') };
    const refusal = checkCpsChain(answer.SAProvisioningCertificateChain, answer, parsed.Signature);
    if (refusal) return { responseCode: `EV_REFUSED: ${refusal}` };
    const chain: string[] = answer.ContractSignatureCertChain;
    const leaf = new X509Certificate(Buffer.from(chain[0]!, 'base64'));
    const key = decryptContractKey(answer.ContractSignatureEncryptedPrivateKey, answer.DHpublickey, leaf);
    installed = { emaid: answer.eMAID, chain, key };
    return { responseCode: 'OK', emaid: answer.eMAID };
  }

  return {
    pcid: opts.pcid,
    async provisioningCsr() {
      const { csrPem, keyPem } = await createStationCsr(opts.pcid, 'OEM');
      provisioningKey = createPrivateKey(keyPem);
      provisioningChain = undefined;
      return csrPem;
    },
    setProvisioningCertificate(chainPem) {
      const blocks = pemBlocks(chainPem);
      if (!provisioningKey || blocks.length === 0 || !new X509Certificate(blocks[0]!).checkPrivateKey(provisioningKey)) {
        throw simErrors.SIM_BAD_OPTIONS('the provisioning certificate is not for the key of the last CSR');
      }
      provisioningChain = blocks.map(derOf);
    },
    async installContract(secc) {
      const res = await secc.certificateInstallation(Buffer.from(JSON.stringify(installationRequest())).toString('base64'));
      const parsed = JSON.parse(Buffer.from(res.exiResponse, 'base64').toString('utf8'));
      return { ocppStatus: res.status, reasonCode: res.reasonCode, ...acceptInstallation(parsed) };
    },
    async charge(target, opts = {}) {
      const transcript: string[] = [];
      let soc = opts.startSoc ?? 30;
      const channel = await openV2gChannel(target);
      const exchange = async (body: Record<string, unknown>) => {
        transcript.push(Object.keys(body)[0]!);
        const res = await channel.exchange(body);
        transcript.push(Object.keys(res)[0]!);
        return res;
      };
      const code = (res: Record<string, any>) => String(Object.values(res)[0]?.ResponseCode ?? 'FAILED');
      const done = (outcome: string, extra: Partial<ChargingSession> = {}): ChargingSession => {
        channel.close();
        return { outcome, soc, transcript, emaid: installed?.emaid, ...extra };
      };
      try {
        const setup = await exchange({ SessionSetupReq: { EVCCID: (opts.evccId ?? '0A1B2C3D4E5F').toUpperCase() } });
        if (!code(setup).startsWith('OK')) return done(code(setup));
        const evseId = setup.SessionSetupRes.EVSEID as string;
        const services = await exchange({ ServiceDiscoveryReq: {} });
        if (!services.ServiceDiscoveryRes?.PaymentOptionList?.includes('Contract')) return done('EV_REFUSED: the SECC offers no contract payment');
        const selection = await exchange({ PaymentServiceSelectionReq: { SelectedPaymentOption: 'Contract', SelectedServiceList: [{ ServiceID: 1 }] } });
        if (code(selection) !== 'OK') return done(code(selection));
        if (!installed) {
          const res = await exchange(installationRequest());
          const outcome = acceptInstallation(res);
          if (outcome.responseCode !== 'OK') return done(outcome.responseCode);
        }
        const contract = installed!;
        const details = await exchange({ PaymentDetailsReq: { eMAID: contract.emaid, ContractSignatureCertChain: contract.chain } });
        if (code(details) !== 'OK') return done(code(details), { evseId });
        for (let i = 0; i < 10; i++) {
          const body = { Id: 'ID1', GenChallenge: details.PaymentDetailsRes.GenChallenge };
          const auth = await exchange({ AuthorizationReq: body, Signature: sign('sha256', Buffer.from(canonicalJson(body)), contract.key).toString('base64') });
          if (code(auth) !== 'OK') return done(code(auth), { evseId });
          if (auth.AuthorizationRes.EVSEProcessing === 'Finished') break;
        }
        const dc = (opts.mode ?? 'DC') === 'DC';
        const departure = opts.departureS ?? 3 * 3600;
        const energy = opts.energyWh ?? 20_000;
        const params = await exchange(dc
          ? { ChargeParameterDiscoveryReq: { RequestedEnergyTransferMode: 'DC_extended', DC_EVChargeParameter: { DepartureTime: departure, DC_EVStatus: { EVReady: true, EVRESSSOC: soc }, EVMaximumCurrentLimit: 125, EVMaximumPowerLimit: 50_000, EVMaximumVoltageLimit: 450, EVEnergyRequest: energy, FullSOC: 100 } } }
          : { ChargeParameterDiscoveryReq: { RequestedEnergyTransferMode: 'AC_three_phase_core', AC_EVChargeParameter: { DepartureTime: departure, EAmount: energy, EVMaxVoltage: 400, EVMaxCurrent: 16, EVMinCurrent: 6 } } });
        if (code(params) !== 'OK') return done(code(params), { evseId });
        const start = await exchange({ PowerDeliveryReq: { ChargeProgress: 'Start', SAScheduleTupleID: 1 } });
        if (code(start) !== 'OK') return done(code(start), { evseId });
        let meterReadingWh: number | undefined;
        const target = opts.targetSoc ?? 80;
        for (let round = 0; round < (opts.rounds ?? 3); round++) {
          soc = Math.min(target, soc + Math.ceil((target - (opts.startSoc ?? 30)) / (opts.rounds ?? 3)));
          const status = await exchange(dc
            ? { CurrentDemandReq: { DC_EVStatus: { EVReady: true, EVRESSSOC: soc }, EVTargetCurrent: 100, EVTargetVoltage: 400, ChargingComplete: soc >= target } }
            : { ChargingStatusReq: {} });
          if (code(status) !== 'OK') return done(code(status), { evseId });
          const res = status.CurrentDemandRes ?? status.ChargingStatusRes;
          meterReadingWh = res.MeterInfo?.MeterReading;
          if (res.ReceiptRequired) {
            const body = { Id: 'ID2', SessionID: 'current', SAScheduleTupleID: 1, MeterInfo: res.MeterInfo };
            const receipt = await exchange({ MeteringReceiptReq: body, Signature: sign('sha256', Buffer.from(canonicalJson(body)), contract.key).toString('base64') });
            if (code(receipt) !== 'OK') return done(code(receipt), { evseId });
          }
        }
        const stop = await exchange({ PowerDeliveryReq: { ChargeProgress: 'Stop', SAScheduleTupleID: 1 } });
        if (code(stop) !== 'OK') return done(code(stop), { evseId });
        const end = await exchange({ SessionStopReq: { ChargingSession: 'Terminate' } });
        return done(code(end) === 'OK' ? 'completed' : code(end), { evseId, meterReadingWh });
      } catch (err) {
        return done(`EV_ERROR: ${(err as Error).message}`);
      }
    },
    contract: () => installed && { ...installed, chain: [...installed.chain] },
    async authorize(secc) {
      if (!installed) throw simErrors.SIM_BAD_OPTIONS('the vehicle has no contract certificate');
      return secc.paymentDetails({ eMAID: installed.emaid, ContractSignatureCertChain: installed.chain });
    },
  };
}

/** PEM of a base64 DER chain (leaf first), for OpenSSL and Node's X509Certificate. */
export function chainPem(chain: string[]): string {
  return chain.map(pemOf).join('');
}
