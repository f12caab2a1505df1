// A local alert channel receiver: records every request it gets and answers
// with the statuses it is told to (then 200), as a webhook endpoint would.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  requests: ReceivedRequest[];
  /** The statuses of the next answers, in order; after them, 200. */
  failNext(...statuses: number[]): void;
  /** Every answer from now on (to paths beginning with `path`, if given) has this status; 200 undoes it. */
  answerAlways(status: number, path?: string): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  let next: number[] = [];
  const always = new Map<string, number>();
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      requests.push({ path, headers: request.headers, body: Buffer.concat(chunks).toString() });
      const status = next.shift() ?? [...always].find(([prefix]) => path.startsWith(prefix))?.[1] ?? 200;
      response.writeHead(status, status >= 300 && status < 400 ? { location: 'http://169.254.169.254/' } : {}).end(status < 300 ? 'ok' : 'no');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext: (...statuses) => void (next = statuses),
    answerAlways: (status, path = '') => void (status === 200 ? always.delete(path) : always.set(path, status)),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * What a receiver of WEBHOOK alerts does with `X-Gateway-Signature` (README, "Alert channels"): the HMAC over
 * "<t>.<body>" must match, and `t` must be recent, so a captured request replayed later is refused.
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !parts.v1) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
