// The fetch the provider SDKs are given, over node:http and node:https.
// Node's own fetch (undici's WHATWG implementation) spends about 0.6 ms of CPU
// a call on these machines before the SDK does anything (a bare proxy through
// it: 1.0 ms a call; through node:http: 0.45 ms). Provider calls need little of
// it: a method, headers, a string or bytes body, an abort signal, and an answer
// whose body streams with backpressure. That is all this does. It follows no
// redirect (the caller decides), keeps connections alive per origin, lets
// `lookup` vet every connection's addresses, and bounds the length of a line.
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';

/** A provider sent one line (an SSE event, a JSON body) longer than the gateway will hold in memory. */
export class UpstreamLineTooLong extends Error {
  constructor(maxBytes: number) {
    super(`sent a line longer than ${maxBytes} bytes`);
    this.name = 'UpstreamLineTooLong';
  }
}

export interface HttpFetchOptions {
  /** Resolves a host name for a new connection; may refuse it. */
  lookup: LookupFunction;
  /**
   * The SDKs buffer a line until its newline: without a bound, one endless line
   * from a provider would take all the memory there is. Past this many bytes
   * without a newline the body fails with UpstreamLineTooLong.
   */
  maxLineBytes: number;
}

const NULL_BODY_STATUS = new Set([204, 205, 304]);
const DECODERS: Partial<Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress>> = {
  gzip: zlib.createGunzip,
  'x-gzip': zlib.createGunzip,
  deflate: zlib.createInflate,
  br: zlib.createBrotliDecompress,
};

export function createHttpFetch({ lookup, maxLineBytes }: HttpFetchOptions): typeof fetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo', lookup }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo', lookup }),
  };

  return ((input: string | URL | Request, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const agent = agents[url.protocol as keyof typeof agents];
      if (!agent) return reject(new TypeError(`fetch: ${url.protocol} is not supported`));
      const signal = init.signal ?? undefined;
      if (signal?.aborted) return reject(signal.reason);
      const method = (init.method ?? 'GET').toUpperCase();
      const headers = plainHeaders(init.headers);
      const body = requestBody(init.body);
      if (body !== undefined) headers['content-length'] = String(body.byteLength);

      // Whatever ends the exchange first (abort, connection error, the body's end) ends it for good.
      let fail: (error: unknown) => void = (error) => reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
      const onAbort = () => {
        request.destroy();
        fail(signal!.reason);
      };
      const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent }, (response) => {
        const status = response.statusCode ?? 0;
        const responseHeaders = new Headers();
        for (let i = 0; i < response.rawHeaders.length; i += 2) responseHeaders.append(response.rawHeaders[i], response.rawHeaders[i + 1]);
        const responseInit = { status, statusText: response.statusMessage, headers: responseHeaders };
        if (method === 'HEAD' || NULL_BODY_STATUS.has(status)) {
          response.resume();
          response.once('end', () => signal?.removeEventListener('abort', onAbort));
          return resolve(new Response(null, responseInit));
        }
        const decoder = DECODERS[(response.headers['content-encoding'] ?? '').trim().toLowerCase()];
        const source: Readable = decoder ? response.pipe(decoder()) : response;
        if (decoder) response.once('error', (error) => source.destroy(error));
        const stream = bodyStream(source, maxLineBytes, (ended) => {
          signal?.removeEventListener('abort', onAbort);
          // A body read to its end leaves the connection to the pool; any other end closes it.
          if (!ended) request.destroy();
        });
        fail = stream.fail;
        resolve(new Response(stream.body, responseInit));
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      request.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        fail(error);
      });
      request.end(body);
    })) as typeof fetch;
}

/**
 * A response body as a ReadableStream that reads the socket only as fast as it
 * is consumed. `release` runs once: when the body ended (true), failed or was cancelled.
 */
function bodyStream(source: Readable, maxLineBytes: number, release: (ended: boolean) => void) {
  let lineBytes = 0;
  let settled = false;
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const settle = (ended: boolean, end: () => void) => {
    if (settled) return;
    settled = true;
    release(ended);
    end();
  };
  const fail = (error: unknown) => settle(false, () => controller.error(error));
  const body = new ReadableStream<Uint8Array>({
    start(streamController) {
      controller = streamController;
      source.on('data', (chunk: Buffer) => {
        let start = 0;
        for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
          if (lineBytes + newline - start > maxLineBytes) return fail(new UpstreamLineTooLong(maxLineBytes));
          lineBytes = 0;
          start = newline + 1;
        }
        lineBytes += chunk.length - start;
        if (lineBytes > maxLineBytes) return fail(new UpstreamLineTooLong(maxLineBytes));
        controller.enqueue(chunk);
        if ((controller.desiredSize ?? 0) <= 0) source.pause();
      });
      source.once('end', () => settle(true, () => controller.close()));
      source.once('error', fail);
      source.once('close', () => fail(new Error('the connection closed before the body ended')));
    },
    pull() {
      source.resume();
    },
    cancel() {
      settle(false, () => undefined);
    },
  });
  return { body, fail };
}

function plainHeaders(headers: HeadersInit | undefined): Record<string, string> {
  const plain: Record<string, string> = {};
  if (!headers) return plain;
  const entries = headers instanceof Headers || Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [name, value] of entries) plain[name.toLowerCase()] = value;
  return plain;
}

function requestBody(body: BodyInit | null | undefined): Uint8Array | undefined {
  if (body == null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('fetch: only string and byte bodies are supported');
}
