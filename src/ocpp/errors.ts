/**
 * OCPP-J RPC error codes and the spelling each version uses on the wire.
 * Domain errors (EvguardError) are translated to CALLERRORs in one table here.
 */
import { createRPCError } from 'ocpp-rpc';
import { defineErrors, EvguardError } from '../errors.js';

import type { OcppVersion } from '../model/ocpp-version.js';

export type { OcppVersion };

export type RpcErrorCode =
  | 'FormatViolation'
  | 'GenericError'
  | 'InternalError'
  | 'MessageTypeNotSupported'
  | 'NotImplemented'
  | 'NotSupported'
  | 'OccurrenceConstraintViolation'
  | 'PropertyConstraintViolation'
  | 'ProtocolError'
  | 'RpcFrameworkError'
  | 'SecurityError'
  | 'TypeConstraintViolation';

/**
 * OCPP 1.6J §4.2.3 knows neither RpcFrameworkError nor MessageTypeNotSupported
 * and spells FormatViolation "FormationViolation" (kept by its errata);
 * "OccurenceConstraintViolation" is the 1.6 text's spelling, corrected to
 * "OccurrenceConstraintViolation" by the 1.6 errata, which we follow.
 */
const V16_SPELLING: Partial<Record<string, string>> = {
  FormatViolation: 'FormationViolation',
  OccurenceConstraintViolation: 'OccurrenceConstraintViolation',
  RpcFrameworkError: 'ProtocolError',
  MessageTypeNotSupported: 'NotSupported',
  InternalError: 'InternalError',
};

/** 2.0.1 and 2.1 spelling for codes that other peers (or libraries) send in 1.6 form. */
const V2_SPELLING: Partial<Record<string, string>> = {
  FormationViolation: 'FormatViolation',
  OccurenceConstraintViolation: 'OccurrenceConstraintViolation',
};

export function wireErrorCode(version: OcppVersion, code: string): string {
  return (version === '1.6' ? V16_SPELLING[code] : V2_SPELLING[code]) ?? code;
}

export interface RpcError extends Error {
  rpcErrorCode: string;
  details?: Record<string, unknown>;
}

export function ocppError(code: RpcErrorCode, message: string, details: Record<string, unknown> = {}): RpcError {
  return createRPCError(code, message, details) as RpcError;
}

/** Which CALLERROR a domain failure becomes. Anything unlisted is an InternalError with a generic text. */
const DOMAIN_TO_RPC: Record<string, RpcErrorCode> = {
  STATION_NOT_ACCEPTED: 'SecurityError',
  STATION_QUARANTINED: 'SecurityError',
  MESSAGE_RATE_EXCEEDED: 'SecurityError',
  MESSAGE_ID_REUSED: 'RpcFrameworkError',
  TRANSACTION_NOT_ISSUED: 'SecurityError',
  TRANSACTION_UNKNOWN: 'PropertyConstraintViolation',
  NOT_SUPPORTED: 'NotSupported',
  VALIDATION_FAILED: 'PropertyConstraintViolation',
};

export function toRpcError(err: unknown): RpcError {
  if (err && typeof err === 'object' && 'rpcErrorCode' in err) return err as RpcError;
  if (err instanceof EvguardError) {
    const code = DOMAIN_TO_RPC[err.code];
    if (code) return ocppError(code, err.message, { code: err.code });
  }
  return ocppError('InternalError', 'The CSMS could not process this message');
}

/** What the API says when a command to a station cannot be sent or is refused. */
export const gatewayErrors = defineErrors({
  STATION_OFFLINE: { status: 409, message: 'The station is not connected' },
  STATION_CALL_REJECTED: { status: 502, message: 'The station answered with a CALLERROR' },
  STATION_CALL_TIMEOUT: { status: 504, message: 'The station did not answer in time' },
  OCPP_PAYLOAD_INVALID: { status: 400, message: 'The payload does not match the OCPP schema for this action' },
  OCPP_ACTION_UNKNOWN: { status: 400, message: 'The action does not exist in the station\'s OCPP version' },
  MESSAGE_RATE_EXCEEDED: { status: 429, message: 'Message rate limit exceeded' },
  MESSAGE_ID_REUSED: { status: 400, message: 'The message id was already used on this connection' },
});
