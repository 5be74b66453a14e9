export { createGateway, type Gateway, type GatewayHooks, type HandshakeFacts, type HandshakeDecision, type Session } from './gateway.js';
export { gatewayErrors } from './errors.js';
export { isValidStationId } from './handshake.js';
export { createValidator, SUBPROTOCOLS, VERSION_OF_SUBPROTOCOL, type OcppValidator } from './validator.js';
export { ocppError, toRpcError, wireErrorCode, type OcppVersion, type RpcErrorCode } from './errors.js';
export { v16Handlers } from './adapters/v16.js';
export { v2Handlers } from './adapters/v2.js';
export type * from '../model/station.js';
export type { HandlerTable, ActionHandler } from './adapters/table.js';
