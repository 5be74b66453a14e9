/**
 * The outgoing version adapters (src/model/commands.ts): one StationCommands
 * per OCPP version, bound to the node's call path. The composition root
 * builds this once and hands it to the domain modules as their `commands`.
 */
import type { CommandsFor, SendCall, StationCommands } from '../../model/commands.js';
import type { OcppVersion } from '../../model/ocpp-version.js';
import { v16Commands } from './v16.js';
import { v2Commands } from './v2.js';

export { v16Commands } from './v16.js';
export { v2Commands } from './v2.js';

export function stationCommands(send: SendCall): CommandsFor {
  const byVersion: Record<OcppVersion, StationCommands> = { '1.6': v16Commands(send), '2.0.1': v2Commands('2.0.1', send), '2.1': v2Commands('2.1', send) };
  return (version) => {
    const commands = byVersion[version];
    if (!commands) throw new Error(`no command adapter for OCPP ${String(version).slice(0, 10)}`);
    return commands;
  };
}
