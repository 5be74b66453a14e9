/**
 * Pre-upgrade checks that need no state: the path must be
 * `/ocpp/<stationId>` with a valid OCPP identity.
 */
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { isValidStationId } from '../model/station-id.js';

export { isValidStationId };

export type PathCheck = { ok: true; stationId: string } | { ok: false; status: 400 | 404; message: string };

export function parseStationPath(url: string): PathCheck {
  const path = url.split('?')[0]!;
  const m = /^\/ocpp\/([^/]+)$/.exec(path);
  if (!m) return { ok: false, status: 404, message: 'OCPP endpoint is /ocpp/<stationId>' };
  let id: string;
  try {
    id = decodeURIComponent(m[1]!);
  } catch {
    return { ok: false, status: 400, message: 'Station id is not valid percent-encoding' };
  }
  if (!isValidStationId(id)) {
    return { ok: false, status: 400, message: 'Station id must be 1–48 characters of A–Z a–z 0–9 * - _ = + | @ . (not ".." or "." alone)' };
  }
  return { ok: true, stationId: id };
}

export function refuseUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const body = JSON.stringify({ error: { code: status === 503 ? 'BUSY' : 'UPGRADE_REFUSED', message } });
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`,
    );
  }
  socket.destroy();
}
