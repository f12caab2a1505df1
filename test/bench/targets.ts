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
  /** Failed calls by reason: `HTTP 503`, `200 without content` (with the error code the answer carried, if any), `connection error`. */
  failures: Map<string, number>;
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
  const reconnect = () => {
    agent.destroy();
    agent = new Agent({ keepAlive: true });
  };
  return targetOf(
    name,
    cpu,
    reconnect,
    (target) =>
      new Promise<Call>((resolve) => {
        const started = performance.now();
        let firstChunkMs: number | undefined;
        let text = '';
        let settled = false;
        const settle = (failure?: string) => {
          if (settled) return;
          settled = true;
          if (failure) countFailure(target, failure);
          resolve({ totalMs: performance.now() - started, firstChunkMs, ok: !failure });
        };
        const req = request({ agent, hostname, port, path: pathname, method: 'POST', headers: requestHeaders }, (res) => {
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            if (firstChunkMs !== undefined) return;
            text += chunk;
            if (token?.test(text)) firstChunkMs = performance.now() - started;
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return settle(`HTTP ${res.statusCode}`);
            const answered = token ? firstChunkMs !== undefined : (expected as { answer: RegExp }).answer.test(text);
            settle(answered ? undefined : withoutContent(text));
          });
          res.on('close', () => settle('connection error'));
        });
        req.on('error', () => settle('connection error'));
        req.end(payload);
      }),
  );
}

/** A target that has made no call yet; each call is counted on it before `call` makes it. */
function targetOf(name: string, cpu: CpuMeter[], reconnect: () => void, call: (target: Target) => Promise<Call>): Target {
  const target: Target = {
    name,
    cpu,
    calls: 0,
    failed: 0,
    failures: new Map(),
    reconnect,
    call: () => {
      target.calls++;
      return call(target);
    },
  };
  return target;
}

/** A stream over a client of its own (graphql-ws): `stream` throws on a failure and times its first content. */
export function streamTarget(name: string, stream: () => Promise<Timing>, cpu: CpuMeter[]): Target {
  return targetOf(
    name,
    cpu,
    () => {},
    async (target) => {
      const started = performance.now();
      try {
        const timing = await stream();
        if (timing.firstChunkMs === undefined) countFailure(target, '200 without content');
        return { ...timing, ok: timing.firstChunkMs !== undefined };
      } catch (error) {
        countFailure(target, withoutContent(String(error)));
        return { totalMs: performance.now() - started, ok: false };
      }
    },
  );
}

function countFailure(target: Target, reason: string): void {
  target.failed++;
  target.failures.set(reason, (target.failures.get(reason) ?? 0) + 1);
}

/** An answer without the content expected, named by the error code it carries (GraphQL's or OpenAI's), if any. */
function withoutContent(text: string): string {
  const code = /"code":"([\w.-]{1,40})"/.exec(text)?.[1];
  return code ? `200 with ${code}` : '200 without content';
}
