/**
 * What the gateway tells the node (its hooks) and what it keeps of a live
 * session: shared by the gateway and each session's Connection.
 */
import type { StationContext } from '../model/station.js';
import type { HandshakeDecision, HandshakeFacts } from '../model/handshake.js';

export interface GatewayHooks {
  authenticate(facts: HandshakeFacts): Promise<HandshakeDecision>;
  /** A second authenticated connection claimed a station whose session is alive. */
  duplicateRefused(facts: HandshakeFacts): void;
  /** Every handshake that got as far as authentication, with how it ended (metrics). */
  handshake?(facts: HandshakeFacts, result: HandshakeDecision): void;
  /** Cluster mode: does another node hold a live session for this station? (It pings it; a dead one there is closed.) */
  heldElsewhere?(stationId: string, probeMs: number): Promise<boolean>;
  /** Dispatches one validated CALL from a station; must throw an RPC or Evguard error to refuse. */
  dispatch(ctx: StationContext, action: string, params: unknown): Promise<unknown>;
  connected(ctx: StationContext): void;
  disconnected(ctx: StationContext, code: number, reason: string): void;
  /** A frame or CALL was malformed, replayed or over the rate; `kind` is a CSMS security-event type. */
  misbehaved(ctx: StationContext, kind: 'InvalidMessage' | 'ReplayedMessageId' | 'RateLimited', detail: string, occurrences?: number): void;
  /**
   * Runs before every CSMS→station CALL, after its payload passed the schema: a
   * guard (e.g. the grid's power limits) may hold the call back a while or throw
   * an Evguard error to refuse it, so nothing reaches the station.
   */
  beforeCall?(ctx: StationContext, action: string, payload: unknown): Promise<void>;
}

export interface Session extends StationContext {
  readonly connectedAt: string;
  readonly client: any;
}
