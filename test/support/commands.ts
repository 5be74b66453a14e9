import { stationCommands } from '../../src/ocpp/commands/index.js';
import type { ChargingProfileSpec } from '../../src/model/commands.js';
import type { OcppVersion } from '../../src/model/ocpp-version.js';

export interface SentCall { stationId: string; action: string; payload: Record<string, unknown>; opts?: { timeoutMs?: number } }

/**
 * The real version adapters over a send that records each call and answers
 * with `answer(action, payload)` (default: `{ status: 'Accepted' }`).
 */
export function recordingCommands(answer: (action: string, payload: Record<string, unknown>) => unknown = () => ({ status: 'Accepted' })) {
  const sent: SentCall[] = [];
  const commands = stationCommands(async (stationId, action, payload, opts) => {
    sent.push({ stationId, action, payload, ...(opts ? { opts } : {}) });
    const a = answer(action, payload);
    if (a instanceof Error) throw a;
    return a;
  });
  return { commands, sent };
}

/** The SetChargingProfile payload a version's adapter sends for `profile`. */
export async function profilePayload(version: OcppVersion, profile: ChargingProfileSpec): Promise<Record<string, unknown>> {
  const { commands, sent } = recordingCommands();
  await commands(version).setChargingProfile('S', profile);
  return sent[0]!.payload;
}
