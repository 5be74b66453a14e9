/**
 * The OCPP versions evguard speaks. Declared here, outside src/ocpp, so that
 * the transport, the domain modules, the simulators and the probe share one
 * type without the domain importing transport code.
 */
export const OCPP_VERSIONS = ['1.6', '2.0.1', '2.1'] as const;
export type OcppVersion = (typeof OCPP_VERSIONS)[number];

/** Whether a stored or received string names a version evguard speaks. */
export function isOcppVersion(v: unknown): v is OcppVersion {
  return typeof v === 'string' && (OCPP_VERSIONS as readonly string[]).includes(v);
}
