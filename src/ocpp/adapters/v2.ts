/**
 * OCPP 2.0.1 and 2.1 onto the internal model. 2.1 is a superset of 2.0.1 for
 * every message handled here, so one table serves both.
 */
import type { AuthorizationResult, StationDomain } from '../../model/station.js';
import type { HandlerTable } from './table.js';
import { samplesV2 } from './meter.js';

function idTokenInfo(a: AuthorizationResult) {
  return a.expiresAt ? { status: a.status, cacheExpiryDateTime: a.expiresAt } : { status: a.status };
}

/** Largest exiResponse (Get15118EVCertificate) each 2.x version allows. */
const EXI_RESPONSE_LIMIT: Partial<Record<string, number>> = { '2.0.1': 5600, '2.1': 17_000 };

export function v2Handlers(domain: StationDomain): HandlerTable {
  const table: Record<string, (ctx: any, p: any) => Promise<unknown>> = {
    async BootNotification(ctx, p) {
      const cs = p.chargingStation;
      const r = await domain.boot(ctx, {
        vendor: cs.vendorName,
        model: cs.model,
        serialNumber: cs.serialNumber,
        firmwareVersion: cs.firmwareVersion,
        reason: p.reason,
      });
      return { status: r.status, currentTime: r.currentTime, interval: r.intervalS };
    },
    async Heartbeat(ctx) {
      return domain.heartbeat(ctx);
    },
    async StatusNotification(ctx, p) {
      await domain.connectorStatus(ctx, { evseId: p.evseId, connectorId: p.connectorId, status: p.connectorStatus, timestamp: p.timestamp });
      return {};
    },
    async Authorize(ctx, p) {
      const a = await domain.authorize(ctx, {
        idToken: p.idToken.idToken,
        tokenType: p.idToken.type,
        iso15118CertificateHashData: p.iso15118CertificateHashData,
        certificate: p.certificate,
      });
      return a.certificateStatus ? { idTokenInfo: idTokenInfo(a), certificateStatus: a.certificateStatus } : { idTokenInfo: idTokenInfo(a) };
    },
    async TransactionEvent(ctx, p) {
      const r = await domain.transactionEvent(ctx, {
        kind: p.eventType,
        transactionId: p.transactionInfo.transactionId,
        seqNo: p.seqNo,
        dedupKey: `seq:${p.seqNo}`,
        timestamp: p.timestamp,
        triggerReason: p.triggerReason,
        evseId: p.evse?.id,
        connectorId: p.evse?.connectorId,
        idToken: p.idToken ? { idToken: p.idToken.idToken, type: p.idToken.type } : undefined,
        meter: samplesV2(p.meterValue),
        stoppedReason: p.transactionInfo.stoppedReason,
        chargingState: p.transactionInfo.chargingState,
        offline: p.offline === true,
      });
      // idTokenInfo only when the request carried an idToken (2.0.1 E01.FR.?? / TransactionEventResponse).
      return r.authorization && p.idToken ? { idTokenInfo: idTokenInfo(r.authorization) } : {};
    },
    async MeterValues(ctx, p) {
      await domain.meterValues(ctx, p.evseId, samplesV2(p.meterValue));
      return {};
    },
    async SecurityEventNotification(ctx, p) {
      await domain.securityEvent(ctx, { type: p.type, timestamp: p.timestamp, techInfo: p.techInfo });
      return {};
    },
    async SignCertificate(ctx, p) {
      return { status: await domain.signCertificate(ctx, { csr: p.csr, certificateType: p.certificateType }) };
    },
    async FirmwareStatusNotification(ctx, p) {
      await domain.firmwareStatus(ctx, { status: p.status, requestId: p.requestId, signed: true });
      return {};
    },
    async DataTransfer(ctx, p) {
      await domain.report(ctx, 'DataTransfer', p);
      return { status: 'UnknownVendorId' };
    },
  };
  for (const kind of ['LogStatusNotification', 'NotifyEvent', 'NotifyReport', 'NotifyMonitoringReport', 'NotifyCustomerInformation', 'ReportChargingProfiles', 'NotifyChargingLimit', 'ClearedChargingLimit', 'NotifyDisplayMessages', 'NotifyEVChargingNeeds', 'NotifyEVChargingSchedule', 'ReservationStatusUpdate', 'PublishFirmwareStatusNotification']) {
    table[kind] = async (ctx, p) => {
      await domain.report(ctx, kind, p);
      // NotifyEVChargingNeeds requires a status; every other response here is empty.
      return kind === 'NotifyEVChargingNeeds' ? { status: 'Rejected' } : kind === 'NotifyEVChargingSchedule' ? { status: 'Accepted' } : {};
    };
  }
  if (domain.get15118EVCertificate) {
    const get = domain.get15118EVCertificate.bind(domain);
    table.Get15118EVCertificate = async (ctx, p) => {
      const r = await get(ctx, { schemaVersion: p.iso15118SchemaVersion, action: p.action, exiRequest: p.exiRequest });
      // exiResponse is at most 5600 characters in 2.0.1 and 17000 in 2.1. Two certificate chains in the JSON
      // rendering outgrow the 2.0.1 limit (real EXI would fit): say so rather than send an invalid response.
      const limit = EXI_RESPONSE_LIMIT[ctx.version] ?? 17_000;
      if (r.exiResponse.length > limit) {
        return { status: 'Failed', exiResponse: '', statusInfo: { reasonCode: 'ResponseTooLarge', additionalInfo: `the JSON-rendered response (${r.exiResponse.length} characters) exceeds the OCPP ${ctx.version} exiResponse limit of ${limit}; use OCPP 2.1 for Plug & Charge without an EXI codec` } };
      }
      return r;
    };
  }
  if (domain.getCertificateStatus) {
    const get = domain.getCertificateStatus.bind(domain);
    table.GetCertificateStatus = async (ctx, p) => get(ctx, { ocspRequestData: p.ocspRequestData });
  }
  return table;
}
