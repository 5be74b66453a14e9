/**
 * Strict-mode validators for the simulator's RPC client: every CALL and
 * CALLRESULT the simulator sends or receives is checked against the official
 * OCA schemas, so the simulator never emits invalid OCPP. They are the node's
 * own validators (src/ocpp/validator.ts: each schema compiled on first use,
 * the 2.1 `$id` mismatch of ocpp-rpc 2.2.1 handled), so a fleet of thousands
 * of stations shares one cheap set and both ends apply the same rules.
 */
import { createValidator, SUBPROTOCOLS, type OcppValidator } from '../ocpp/validator.js';
import type { OcppVersion } from '../model/ocpp-version.js';

export const SUBPROTOCOL: Record<OcppVersion, string> = SUBPROTOCOLS;

export type SimValidator = OcppValidator;

export function createSimValidator(version: OcppVersion): SimValidator {
  return createValidator(version);
}

/** One validator per version, for `strictModeValidators` of a client or a test server. */
export function createSimValidators(): SimValidator[] {
  return (['1.6', '2.0.1', '2.1'] as const).map(createSimValidator);
}
