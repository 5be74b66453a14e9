/** Helpers the transaction suites share. */

/** A 2.x TransactionEvent with one register (and optionally power) sample at `at`. */
export function txEvent(transactionId: string, seqNo: number, eventType: 'Started' | 'Updated' | 'Ended', at: string, wh: number, extra: Record<string, unknown> = {}) {
  return {
    eventType,
    timestamp: at,
    triggerReason: eventType === 'Started' ? 'Authorized' : eventType === 'Ended' ? 'EVDeparted' : 'MeterValuePeriodic',
    seqNo,
    transactionInfo: { transactionId, ...(eventType === 'Ended' ? { stoppedReason: 'EVDisconnected' } : {}) },
    evse: { id: 1, connectorId: 1 },
    meterValue: [{ timestamp: at, sampledValue: [{ value: wh, measurand: 'Energy.Active.Import.Register', unitOfMeasure: { unit: 'Wh' } }] }],
    ...extra,
  };
}

/** Minutes after a recent whole hour, so timestamps are plausible whenever the test runs. */
export function clock(): (minute: number, second?: number) => string {
  const base = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
  return (minute, second = 0) => new Date(base + minute * 60_000 + second * 1000).toISOString();
}
