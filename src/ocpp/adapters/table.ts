import type { StationContext } from '../../model/station.js';

/** One handler per OCPP action of a version, built by that version's adapter. */
export type ActionHandler = (ctx: StationContext, params: any) => Promise<unknown>;
export type HandlerTable = Readonly<Record<string, ActionHandler>>;
