import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLocalBus, type Bus, type BusEvent } from '../../src/bus/index.js';
import { migrate, openDatabase, type Database } from '../../src/store/index.js';
import { createIntel, intelMigrations, type Intel, type IntelConfig, type ShareableAlert } from '../../src/intel/index.js';

export const FIRMWARE = 'ab'.repeat(32);
export const FINGERPRINT = 'cd'.repeat(32);
export const SERIAL = '0A:1B:2C:3D';
export const ADDRESS = '203.0.113.7';

export function sampleAlerts(): ShareableAlert[] {
  return [
    {
      id: 'alert-1', detector: 'firmware-integrity', severity: 'critical', title: 'Unsigned firmware image offered to CS-0001',
      description: 'Station CS-0001 was offered an image that no trusted key signed', stationId: 'CS-0001', createdAt: '2024-05-01T10:00:00.000Z',
      evidence: { firmwareSha256: FIRMWARE.toUpperCase(), malware: 'ChargeJack', cve: 'CVE-2023-12345' },
    },
    {
      id: 'alert-2', detector: 'tls-auth', severity: 'high', title: 'Client certificate from a compromised key', stationId: 'CS-0002',
      createdAt: '2024-05-01T11:00:00.000Z',
      evidence: { certificateSerialHex: SERIAL, certificateSha256Fingerprint: FINGERPRINT, remoteAddress: `::ffff:${ADDRESS}`, idToken: 'RFID-DEADBEEF' },
    },
    {
      id: 'alert-3', detector: 'brute-force', severity: 'low', title: 'Repeated failed logins', stationId: 'CS-0003',
      createdAt: '2024-05-01T12:00:00.000Z', evidence: { remoteAddress: '10.1.2.3' },
    },
  ];
}

export const baseConfig: IntelConfig = {
  organizationName: 'Example Charging Networks',
  pseudonymKey: 'test-pseudonym-key-0123456789',
  pseudonymise: true,
  defaultTlp: 'amber',
};

export interface TestNode {
  intel: Intel;
  bus: Bus;
  database: Database;
  events: BusEvent[];
  close(): Promise<void>;
}

/** A fresh intel instance on its own SQLite data dir. */
export async function openNode(config: Partial<IntelConfig> = {}): Promise<TestNode> {
  const dir = mkdtempSync(path.join(tmpdir(), 'evg-intel-'));
  const database = await openDatabase({ dataDir: dir });
  await migrate(database, intelMigrations);
  const bus = createLocalBus();
  const events: BusEvent[] = [];
  bus.subscribe('intel.*', (e) => events.push(e));
  const intel = await createIntel({ db: database, bus }, { ...baseConfig, ...config });
  return {
    intel, bus, database, events,
    async close() {
      await bus.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
