/**
 * A node process of its own for one test, in a fresh data directory, killed
 * and removed when the test ends; and a station registered on it with a
 * password. For tests that must see the process itself (exits, memory).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startNodeProcess, type NodeProcess } from '../cluster/processes.js';

export async function startScratchNode(t: { after(fn: () => unknown): void }, name: string, adminToken: string, config?: object): Promise<NodeProcess> {
  const dataDir = mkdtempSync(path.join(tmpdir(), `evguard-${name}-`));
  const configFile = path.join(dataDir, 'config.json');
  if (config) writeFileSync(configFile, JSON.stringify(config));
  const node = await startNodeProcess({ nodeId: name, cluster: name, dataDir, adminToken, extraArgs: config ? ['--config', configFile] : [] });
  t.after(async () => {
    node.kill('SIGKILL');
    await node.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  return node;
}

/** Registers a security-profile-1 station with `password`. */
export async function registerStation(node: NodeProcess, id: string, password: string): Promise<void> {
  const res = await node.api('POST', '/api/v1/stations', { id, securityProfile: 1, password });
  assert.equal(res.status, 201, JSON.stringify(res.body));
}
