/**
 * The baseline: a bare `ws` echo server over TLS, the practical limit of a
 * Node WebSocket server on this machine. It answers every frame with itself
 * and does nothing else: no validation, no authentication, no storage.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

const [certFile, keyFile, portArg] = process.argv.slice(2);
const server = createServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!) });
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
server.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on('message', (data, binary) => ws.send(data, { binary }))));
server.on('tlsClientError', () => undefined);
server.listen(Number(portArg ?? 0), '127.0.0.1', () => process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
