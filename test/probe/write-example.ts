/**
 * Regenerates the example report kept in docs/examples/: the probe run against
 * ocpp-rpc's RPCServer (a third-party OCPP library server from npm) set up as
 * its README shows. Run: node --import tsx test/probe/write-example.ts
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { startOcppRpcServer } from './ocpp-rpc-server.js';
import { runProbe, renderHtml, renderJson, renderSarif, renderTerminal, DEFAULT_OPTIONS } from '../../src/probe/index.js';

const server = await startOcppRpcServer();
try {
  const report = await runProbe({ ...DEFAULT_OPTIONS, url: server.url, password: 'example-password-123', otherStationId: 'EVGPROBE02', otherPassword: 'example-password-456', aggressive: true, slowSeconds: 5 });
  // The port is ephemeral; name the target for what it is.
  const named = JSON.parse(JSON.stringify(report).split(server.url).join('ws://ocpp-rpc-example/ocpp'));
  named.notes.push('Target: ocpp-rpc 2.2.1 RPCServer, strictMode, protocols ocpp2.0.1 and ocpp1.6, an auth callback that accepts every station (its README example), handlers for BootNotification, Heartbeat, StatusNotification, Authorize, TransactionEvent and DataTransfer.');
  const dir = new URL('../../docs/examples/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  writeFileSync(new URL('probe-ocpp-rpc.json', dir), renderJson(named));
  writeFileSync(new URL('probe-ocpp-rpc.sarif', dir), renderSarif(named));
  writeFileSync(new URL('probe-ocpp-rpc.html', dir), renderHtml(named));
  writeFileSync(new URL('probe-ocpp-rpc.txt', dir), renderTerminal(named));
  process.stdout.write(renderTerminal(named));
} finally {
  await server.close();
}
