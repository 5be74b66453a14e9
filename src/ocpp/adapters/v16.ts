/**
 * OCPP 1.6J (with the 1.6 security extension) onto the internal model.
 */
import type { AuthorizationResult, StationDomain } from '../../model/station.js';
import type { HandlerTable } from './table.js';
import { samplesV16 } from './meter.js';

/** 1.6 idTagInfo knows no "Unknown": an unknown tag is Invalid (OCPP 1.6 §7.1 AuthorizationStatus). */
function idTagInfo(a: AuthorizationResult) {
  const status = a.status === 'Unknown' ? 'Invalid' : a.status;
  return a.expiresAt ? { status, expiryDate: a.expiresAt } : { status };
}

export function v16Handlers(domain: StationDomain): HandlerTable {
  return {
    async BootNotification(ctx, p) {
      const r = await domain.boot(ctx, {
        vendor: p.chargePointVendor,
        model: p.chargePointModel,
        serialNumber: p.chargePointSerialNumber ?? p.chargeBoxSerialNumber,
        firmwareVersion: p.firmwareVersion,
      });
      return { status: r.status, currentTime: r.currentTime, interval: r.intervalS };
    },
    async Heartbeat(ctx) {
      return domain.heartbeat(ctx);
    },
    async StatusNotification(ctx, p) {
      await domain.connectorStatus(ctx, {
        evseId: p.connectorId,
        connectorId: p.connectorId,
        status: p.status,
        errorCode: p.errorCode,
        timestamp: p.timestamp ?? new Date().toISOString(),
      });
      return {};
    },
    async Authorize(ctx, p) {
      return { idTagInfo: idTagInfo(await domain.authorize(ctx, { idToken: p.idTag, tokenType: 'Central' })) };
    },
    async StartTransaction(ctx, p) {
      const r = await domain.transactionEvent(ctx, {
        kind: 'Started',
        // A retransmitted StartTransaction (offline queue) carries the same
        // connector, tag, register and timestamp: it must map to the same id.
        dedupKey: `start:${p.connectorId}:${p.idTag}:${p.meterStart}:${p.timestamp}`,
        timestamp: p.timestamp,
        evseId: p.connectorId,
        connectorId: p.connectorId,
        idToken: { idToken: p.idTag, type: 'Central' },
        energyRegisterWh: p.meterStart,
        meter: [],
      });
      return { transactionId: Number(r.transactionId), idTagInfo: idTagInfo(r.authorization ?? { status: 'Accepted' }) };
    },
    async MeterValues(ctx, p) {
      const samples = samplesV16(p.meterValue);
      if (p.transactionId === undefined) {
        await domain.meterValues(ctx, p.connectorId, samples);
        return {};
      }
      await domain.transactionEvent(ctx, {
        kind: 'Updated',
        transactionId: String(p.transactionId),
        idIssuedByCsms: true,
        dedupKey: `meter:${p.meterValue?.[0]?.timestamp ?? ''}`,
        timestamp: p.meterValue?.[0]?.timestamp ?? new Date().toISOString(),
        evseId: p.connectorId,
        connectorId: p.connectorId,
        meter: samples,
      });
      return {};
    },
    async StopTransaction(ctx, p) {
      const r = await domain.transactionEvent(ctx, {
        kind: 'Ended',
        transactionId: String(p.transactionId),
        idIssuedByCsms: true,
        dedupKey: 'stop',
        timestamp: p.timestamp,
        idToken: p.idTag ? { idToken: p.idTag, type: 'Central' } : undefined,
        energyRegisterWh: p.meterStop,
        stoppedReason: p.reason ?? 'Local',
        meter: samplesV16(p.transactionData),
      });
      return r.authorization ? { idTagInfo: idTagInfo(r.authorization) } : {};
    },
    async SecurityEventNotification(ctx, p) {
      await domain.securityEvent(ctx, { type: p.type, timestamp: p.timestamp, techInfo: p.techInfo });
      return {};
    },
    async SignCertificate(ctx, p) {
      return { status: await domain.signCertificate(ctx, { csr: p.csr, certificateType: 'ChargingStationCertificate' }) };
    },
    async FirmwareStatusNotification(ctx, p) {
      await domain.firmwareStatus(ctx, { status: p.status, signed: false });
      return {};
    },
    async SignedFirmwareStatusNotification(ctx, p) {
      await domain.firmwareStatus(ctx, { status: p.status, requestId: p.requestId, signed: true });
      return {};
    },
    async LogStatusNotification(ctx, p) {
      await domain.report(ctx, 'LogStatusNotification', p);
      return {};
    },
    async DiagnosticsStatusNotification(ctx, p) {
      await domain.report(ctx, 'DiagnosticsStatusNotification', p);
      return {};
    },
    async DataTransfer(ctx, p) {
      await domain.report(ctx, 'DataTransfer', p);
      return { status: 'UnknownVendorId' };
    },
  };
}
