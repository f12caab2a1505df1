// A local upstream speaking the OpenAI-compatible, Anthropic and Gemini
// protocols, so the real SDKs can be pointed at it with a base URL:
//   OpenAI-compatible  {url}/openai/v1        OpenRouter  {url}/openrouter/api/v1
//   Anthropic          {url}/anthropic        Gemini      {url}/gemini
// Scripted behaviour comes from the key or the `x-sim-script` header (script.ts).
// Every request is recorded, with whether the client closed it before the end.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { anthropicProtocol } from './anthropic.protocol.js';
import { geminiProtocol } from './gemini.protocol.js';
import { openAiProtocol } from './openai.protocol.js';
import type { SimExchange, SimProtocol } from './protocol.js';
import { parseScript, scriptOfKey } from './script.js';

export interface RecordedRequest {
  protocol: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  /** The credential the request carried (for assertions that a key went only where it should). */
  key: string | undefined;
  /** The client went away before the response was complete. */
  closedByClient: boolean;
  completed: boolean;
}

const PROTOCOLS: SimProtocol[] = [openAiProtocol('openai', '/openai/v1'), openAiProtocol('openrouter', '/openrouter/api/v1'), anthropicProtocol, geminiProtocol];

export interface Simulator {
  url: string;
  baseUrls: { openai: string; openrouter: string; anthropic: string; gemini: string };
  requests: RecordedRequest[];
  /** Every request to one protocol's base URL answers `status` (an upstream outage) until called again without one. */
  setOutage(protocol: keyof Simulator['baseUrls'], status?: number): void;
  stop(): Promise<void>;
}

export async function startSimulator(port = 0, host = '127.0.0.1'): Promise<Simulator> {
  const requests: RecordedRequest[] = [];
  const attempts = new Map<string, number>();
  const outages = new Map<string, number>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const protocol = PROTOCOLS.find((p) => url.pathname.startsWith(`${p.prefix}/`));
    if (!protocol) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown path"}');

    const raw = await readBody(req);
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return void res.writeHead(400).end('{"error":"invalid JSON"}');
    }
    const key = protocol.key(req, url);
    const scriptText = String(req.headers['x-sim-script'] ?? '') || scriptOfKey(key ?? '');
    const record: RecordedRequest = {
      protocol: protocol.name,
      method: req.method ?? 'GET',
      path: url.pathname,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body,
      key,
      closedByClient: false,
      completed: false,
    };
    requests.push(record);
    res.on('close', () => {
      if (!res.writableFinished) record.closedByClient = true;
    });
    res.on('finish', () => (record.completed = true));

    let framesSent = 0;
    let stalled = false;
    const exchange: SimExchange = {
      req,
      res,
      url,
      path: url.pathname.slice(protocol.prefix.length),
      body,
      script: parseScript(scriptText),
      key,
      pause: (ms) =>
        new Promise((resolve) => {
          if (res.destroyed) return resolve(false);
          const closed = () => {
            clearTimeout(timer);
            resolve(false);
          };
          const timer = setTimeout(() => {
            res.off('close', closed);
            resolve(!res.destroyed);
          }, ms);
          res.once('close', closed);
        }),
      send: (frame) => {
        if (res.destroyed || stalled) return false;
        const { resetAfter, stallAfter, malformed } = exchange.script;
        if (framesSent === resetAfter) {
          res.socket?.resetAndDestroy();
          return false;
        }
        if (framesSent === stallAfter) {
          stalled = true; // nothing more is written; the client's idle deadline ends it
          return false;
        }
        res.write(frame);
        framesSent++;
        if (malformed && framesSent === 2) res.write('event: content_block_delta\ndata: {"this is": not JSON\n\n');
        return true;
      },
      startStream: () => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.flushHeaders();
      },
      json: (status, value, headers = {}) => {
        if (!res.destroyed) res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
      },
    };

    const { script } = exchange;
    if (script.hang) return; // the client's timeout or abort ends it
    if (script.delayMs && !(await exchange.pause(script.delayMs))) return;
    if (script.redirect) return void res.writeHead(302, { location: script.redirect }).end();
    if (!key && !protocol.isPublic?.(req.method ?? '', exchange.path)) return protocol.error(exchange, 401, 'No API key provided');
    const failing = script.fail && bump(attempts, `${scriptText}|${key}|${exchange.path}`) <= script.fail.times ? script.fail.status : undefined;
    const status = script.status ?? outages.get(protocol.name) ?? failing;
    if (status) return protocol.error(exchange, status, `Simulated ${status}`);
    try {
      await protocol.handle(exchange);
    } catch (error) {
      if (!res.headersSent) protocol.error(exchange, 500, `Simulator failure: ${(error as Error).message}`);
      else res.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const url = `http://${host}:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrls: { openai: `${url}/openai/v1`, openrouter: `${url}/openrouter/api/v1`, anthropic: `${url}/anthropic`, gemini: `${url}/gemini` },
    requests,
    setOutage: (protocol, status) => void (status ? outages.set(protocol, status) : outages.delete(protocol)),
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function bump(counts: Map<string, number>, key: string): number {
  const next = (counts.get(key) ?? 0) + 1;
  counts.set(key, next);
  return next;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
