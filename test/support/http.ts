/** HTTP helpers for tests of the node's edge. */
import http from 'node:http';

/**
 * Sends only the head of a POST that announces a body of `contentLength`
 * bytes, and resolves with the status the server answers before any body
 * byte. A server that reads bodies before it authenticates waits instead;
 * after 5 s this gives up with an error (a hang guard, not a timing check).
 */
export function statusBeforeBody(port: number, p: string, o: { contentType: string; contentLength: number; headers?: Record<string, string> }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', headers: { 'content-type': o.contentType, 'content-length': String(o.contentLength), ...o.headers } });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode!);
      req.destroy();
    });
    req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    req.flushHeaders();
    setTimeout(() => (req.destroy(), reject(new Error('no answer before the body was sent'))), 5000).unref();
  });
}
