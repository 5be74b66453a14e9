/**
 * Meter value normalisation shared by all versions: units to Wh / W, the
 * default measurand, and signed meter data.
 */
import type { MeterSample } from '../../model/station.js';

const DEFAULT_MEASURAND = 'Energy.Active.Import.Register';

/** Scale factors to the base unit of each unit OCPP allows. */
const UNIT_SCALE: Record<string, [string, number]> = {
  Wh: ['Wh', 1],
  kWh: ['Wh', 1000],
  varh: ['varh', 1],
  kvarh: ['varh', 1000],
  W: ['W', 1],
  kW: ['W', 1000],
  VA: ['VA', 1],
  kVA: ['VA', 1000],
  var: ['var', 1],
  kvar: ['var', 1000],
};

export function normaliseUnit(value: number, unit: string | undefined, measurand: string, multiplier = 0): { value: number; unit: string } {
  const fallback = measurand.startsWith('Energy') ? 'Wh' : measurand.startsWith('Power') ? 'W' : measurand === 'SoC' ? 'Percent' : '';
  const [base, scale] = UNIT_SCALE[unit ?? fallback] ?? [unit ?? fallback, 1];
  return { value: value * scale * 10 ** multiplier, unit: base };
}

/** 1.6 MeterValue: values are strings; signed data arrives with format "SignedData". */
export function samplesV16(meterValue: any[] | undefined): MeterSample[] {
  const out: MeterSample[] = [];
  for (const mv of meterValue ?? []) {
    for (const sv of mv.sampledValue ?? []) {
      const measurand = sv.measurand ?? DEFAULT_MEASURAND;
      if (sv.format === 'SignedData') {
        out.push({ timestamp: mv.timestamp, measurand, value: NaN, unit: sv.unit ?? '', context: sv.context, phase: sv.phase, signed: { signedMeterData: sv.value } });
        continue;
      }
      const raw = Number(sv.value);
      if (!Number.isFinite(raw)) continue;
      const { value, unit } = normaliseUnit(raw, sv.unit, measurand);
      out.push({ timestamp: mv.timestamp, measurand, value, unit, context: sv.context, phase: sv.phase });
    }
  }
  return out;
}

/** 2.0.1 / 2.1 MeterValue: numeric values with unitOfMeasure {unit, multiplier}; signedMeterValue beside. */
export function samplesV2(meterValue: any[] | undefined): MeterSample[] {
  const out: MeterSample[] = [];
  for (const mv of meterValue ?? []) {
    for (const sv of mv.sampledValue ?? []) {
      const measurand = sv.measurand ?? DEFAULT_MEASURAND;
      const { value, unit } = normaliseUnit(sv.value, sv.unitOfMeasure?.unit, measurand, sv.unitOfMeasure?.multiplier ?? 0);
      const sample: MeterSample = { timestamp: mv.timestamp, measurand, value, unit, context: sv.context, phase: sv.phase };
      if (sv.signedMeterValue) sample.signed = { ...sv.signedMeterValue };
      out.push(sample);
    }
  }
  return out;
}
