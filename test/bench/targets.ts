// What `bench:peers` calls: one request, always the same, to one endpoint,
// with one Node HTTP client (kept-alive connections) for every target, so the
// load generator costs every target the same. A call is timed whole and, for a
// stream, to its first piece of content; failures are counted, not thrown.
import { Agent, request } from 'node:http';
import type { CpuMeter, Timing } from './measure.js';

export interface Call extends Timing {
  ok: boolean;
}

export interface Target {
  name: string;
  /** The CPU of what serves it: its process, and for the gateway also Postgres. */
  cpu: CpuMeter[];
  call(): Promise<Call>;
  /** Calls made, and those that failed: another status than 200, no answer or no content, or a broken connection. */
  calls: number;
  failed: number;
  /** Drops its kept-alive connections, so that a measurement starts on fresh ones, none closed by an idle timeout on the way. */
  reconnect(): void;
}

/** What marks a successful answer: a whole answer matching `answer`, or a stream whose text comes to match `token`, its first content. */
export type Expected = { answer: RegExp } | { token: RegExp };

/** POSTs `body` as JSON to `url` with `headers`. */
export function httpTarget(name: string, url: string, headers: Record<string, string>, body: unknown, expected: Expected, cpu: CpuMeter[]): Target {
  const { hostname, port, pathname } = new URL(url);
  const payload = JSON.stringify(body);
  const requestHeaders = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers };
  const token = 'token' in expected ? expected.token : undefined;
  let agent = new Agent({ keepAlive: true });
  const target: Target = {
    name,
    cpu,
    calls: 0,
    failed: 0,
    reconnect: () => {
      agent.destroy();
      agent = new Agent({ keepAlive: true });
    },
    call: () =>
      new Promise<Call>((resolve) => {
        target.calls++;
        const started = performance.now();
        let firstChunkMs: number | undefined;
        let text = '';
        let settled = false;
        const settle = (ok: boolean) => {
          if (settled) return;
          settled = true;
          if (!ok) target.failed++;
          resolve({ totalMs: performance.now() - started, firstChunkMs, ok });
        };
        const req = request({ agent, hostname, port, path: pathname, method: 'POST', headers: requestHeaders }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (firstChunkMs !== undefined) return;
            text += chunk;
            if (token?.test(text)) firstChunkMs = performance.now() - started;
          });
          res.on('end', () => settle(res.statusCode === 200 && (token ? firstChunkMs !== undefined : (expected as { answer: RegExp }).answer.test(text))));
          res.on('close', () => settle(false));
        });
        req.on('error', () => settle(false));
        req.end(payload);
      }),
  };
  return target;
}

/** A stream over a client of its own (graphql-ws): `stream` throws on a failure and times its first content. */
export function streamTarget(name: string, stream: () => Promise<Timing>, cpu: CpuMeter[]): Target {
  const target: Target = {
    name,
    cpu,
    calls: 0,
    failed: 0,
    reconnect: () => {},
    call: async () => {
      target.calls++;
      const started = performance.now();
      try {
        const timing = await stream();
        if (timing.firstChunkMs === undefined) target.failed++;
        return { ...timing, ok: timing.firstChunkMs !== undefined };
      } catch {
        target.failed++;
        return { totalMs: performance.now() - started, ok: false };
      }
    },
  };
  return target;
}
