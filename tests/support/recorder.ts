/** A tiny HTTP server that records every request and answers 202: a stand-in endpoint to kick. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded { path: string; auth: string | undefined; body: unknown }

export async function startRecorder(): Promise<{ origin: string; received: Recorded[]; stop(): Promise<void> }> {
  const received: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      received.push({ path: req.url ?? '', auth: req.headers.authorization, body: JSON.parse(body || 'null') });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":true}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}
