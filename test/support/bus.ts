import type { Bus } from '../../src/bus/index.js';

/**
 * Publishes what the bus's types forbid: a malformed payload or topic, as a
 * peer node (or a bug) could put on the wire. Robustness tests only.
 */
export function publishUntyped(bus: Bus, topic: string, data: unknown, stationId?: string): void {
  (bus.publish as unknown as (topic: string, data: unknown, stationId?: string) => void).call(bus, topic, data, stationId);
}
