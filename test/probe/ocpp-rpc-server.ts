/**
 * A third-party OCPP server for the probe: ocpp-rpc's RPCServer (from the npm
 * registry) set up the way its README shows, with strict schema validation,
 * an auth callback that accepts every station, and a few handlers.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RPCServer, createRPCError } from 'ocpp-rpc';

export async function startOcppRpcServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = new RPCServer({ protocols: ['ocpp2.0.1', 'ocpp1.6'], strictMode: true });
  server.auth((accept: Function) => accept({ sessionId: 'example' }));
  server.on('client', (client: any) => {
    client.handle('BootNotification', () => ({ status: 'Accepted', interval: 300, currentTime: new Date().toISOString() }));
    client.handle('Heartbeat', () => ({ currentTime: new Date().toISOString() }));
    client.handle('StatusNotification', () => ({}));
    client.handle('Authorize', () => ({ idTokenInfo: { status: 'Accepted' } }));
    client.handle('TransactionEvent', () => ({}));
    client.handle('DataTransfer', () => ({ status: 'Accepted' }));
    client.handle(() => {
      throw createRPCError('NotImplemented');
    });
  });
  const http = createServer();
  http.on('upgrade', server.handleUpgrade);
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  return {
    url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}/ocpp`,
    async close() {
      await server.close({ force: true });
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}
