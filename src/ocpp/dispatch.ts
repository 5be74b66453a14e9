/**
 * Incoming dispatch: a validated CALL from a station goes to its version's
 * adapter (src/ocpp/adapters), after the admission check, and its outcome is
 * counted. An action the version defines but no adapter handles is answered
 * NotSupported.
 */
import type { StationContext, StationDomain } from '../model/station.js';
import type { OcppVersion } from '../model/ocpp-version.js';
import type { HandlerTable } from './adapters/table.js';
import { v16Handlers } from './adapters/v16.js';
import { v2Handlers } from './adapters/v2.js';
import { ocppError } from './errors.js';

export interface DispatchDeps {
  /** The station may send this action now (registered, accepted, not quarantined …); throws to refuse. */
  admit(ctx: StationContext, action: string): Promise<void>;
  /** Starts counting one call; the returned function records whether it succeeded. */
  observe?(action: string, version: OcppVersion): (ok: boolean) => void;
}

export type Dispatch = (ctx: StationContext, action: string, params: unknown) => Promise<unknown>;

export function createDispatch(domain: StationDomain, deps: DispatchDeps): Dispatch {
  const tables: Record<OcppVersion, HandlerTable> = { '1.6': v16Handlers(domain), '2.0.1': v2Handlers(domain), '2.1': v2Handlers(domain) };
  return async (ctx, action, params) => {
    const done = deps.observe?.(action, ctx.version);
    try {
      const handler = tables[ctx.version]?.[action];
      if (!handler) throw ocppError('NotSupported', `${action} is recognised but not supported by this CSMS`);
      await deps.admit(ctx, action);
      const answer = await handler(ctx, params);
      done?.(true);
      return answer;
    } catch (err) {
      done?.(false);
      throw err;
    }
  };
}
