/**
 * Simulators for tests, benchmarks, the demo and the security probe.
 * createSimStation: one charging station, a real OCPP-J client (1.6, 2.0.1 or
 * 2.1; security profiles 1–3) over real WebSockets/TLS. runFleet: many of them.
 */
export { createSimStation } from './station.js';
export { runFleet, versionPlan } from './fleet.js';
export type { Fleet, FleetOptions, FleetStats } from './fleet.js';
export { createSimValidator, createSimValidators, SUBPROTOCOL } from './schemas.js';
export type { SimValidator } from './schemas.js';
export { simErrors } from './errors.js';
export type { SimErrorCode } from './errors.js';
export type {
  BootResult, CallRecord, CertificateAndKey, ConnectorStatus, IncomingHandler, OcppVersion, SecurityProfile,
  SimStation, SimStationOptions, SimStationState, SimTlsOptions, StartChargingOptions, StartChargingResult,
} from './types.js';
export { createSimEv, createSimSecc, ocspRequestData, chainPem, ISO15118_2_SCHEMA } from './ev.js';
export type { SimEv, SimEvOptions, SimContract, ContractInstallation, OcspRequestData } from './ev.js';
export type { SimSecc } from './types.js';
export { listenSecc, openV2gChannel } from './ev-session.js';
export type { SeccServer, SeccServerOptions, V2gChannel, V2gMessage } from './ev-session.js';
export type { ChargeOptions, ChargingSession } from './ev.js';
