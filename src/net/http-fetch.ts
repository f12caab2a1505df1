// The HTTP client provider requests go through, over node:http and node:https.
// Node's own fetch (undici's WHATWG implementation) spends about 0.6 ms of CPU
// a call on these machines before the SDK does anything (a bare proxy through
// it: 1.0 ms a call; through node:http: 0.45 ms). Provider calls need little of
// it: a method, headers, a string or bytes body, an abort signal, and an answer
// whose body streams with backpressure. That is all this does: a fetch for the
// SDKs, and `read` for the chat path's JSON answers, which needs no Response at
// all. It follows no redirect (the caller decides), keeps connections alive per
// origin, lets `lookup` vet every connection's addresses, and bounds the length
// of a line.
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

export interface HttpClientOptions {
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
/** As a fetch body's text() reads: a byte-order mark dropped, malformed bytes replaced. */
const UTF8 = new TextDecoder();
const DECODERS: Partial<Record<string, () => zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress>> = {
  gzip: zlib.createGunzip,
  'x-gzip': zlib.createGunzip,
  deflate: zlib.createInflate,
  br: zlib.createBrotliDecompress,
};

/** An answer read to its end: what the hot path needs of a JSON answer, without web streams (see `HttpClient.read`). */
export interface HttpText {
  status: number;
  /** A 2xx status, as a Response's `ok`. */
  ok: boolean;
  /** Header names and values in turn, as sent. */
  rawHeaders: string[];
  text: string;
}

export interface HttpClient {
  /**
   * The request, answered once its whole body is in (bounded as one line). Same connections and failures as `fetch`, without
   * the Response, Headers and ReadableStream a fetch answer is made of (about 50 µs of CPU a call).
   */
  read(input: string | URL, init?: RequestInit): Promise<HttpText>;
  /** The fetch the SDKs are given: its answer's body streams with backpressure. */
  fetch: typeof fetch;
}

/** How a body reaches whoever reads it: each chunk, its end, or why it failed. */
interface BodySink {
  chunk(chunk: Buffer): void;
  end(): void;
  error(error: unknown): void;
}

export function createHttpClient({ lookup, maxLineBytes }: HttpClientOptions): HttpClient {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, scheduling: 'lifo', lookup }),
    'https:': new https.Agent({ keepAlive: true, scheduling: 'lifo', lookup }),
  };

  /**
   * Sends the request; `answer` makes what the call resolves to from the response's head and its body (null for a
   * body-less answer), and returns how a failure after that (an abort, the connection's) reaches its reader.
   */
  const exchange = <T>(
    input: string | URL | Request,
    init: RequestInit,
    answer: (response: http.IncomingMessage, body: Readable | null, release: (ended: boolean) => void) => { value: T | Promise<T>; fail(error: unknown): void },
  ) =>
    new Promise<T>((resolve, reject) => {
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
      // A body read to its end leaves the connection to the pool; any other end closes it.
      const release = (ended: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        if (!ended) request.destroy();
      };
      const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent }, (response) => {
        let source: Readable | null = null;
        if (method === 'HEAD' || NULL_BODY_STATUS.has(response.statusCode ?? 0)) {
          response.resume();
          response.once('end', () => release(true));
        } else {
          const decoder = DECODERS[(response.headers['content-encoding'] ?? '').trim().toLowerCase()];
          source = decoder ? response.pipe(decoder()) : response;
          if (decoder) response.once('error', (error) => source!.destroy(error));
        }
        let reading: ReturnType<typeof answer>;
        try {
          reading = answer(response, source, release);
        } catch (error) {
          // A head the answer cannot be made of (a status no Response carries): the exchange ends here.
          release(false);
          return reject(new TypeError('fetch failed', { cause: error }));
        }
        fail = reading.fail;
        resolve(reading.value);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      request.once('error', (error) => {
        signal?.removeEventListener('abort', onAbort);
        fail(error);
      });
      request.end(body);
    });

  return {
    read: (input, init = {}) =>
      exchange(input, init, (response, source, release) => {
        let fail: (error: unknown) => void = () => undefined;
        const value = new Promise<HttpText>((resolve, reject) => {
          const status = response.statusCode ?? 0;
          const ok = status >= 200 && status < 300;
          const { rawHeaders } = response;
          if (!source) return resolve({ status, ok, rawHeaders, text: '' });
          // The body is held whole, so it is bounded whole: a JSON answer is one line however it is laid out.
          const chunks: Buffer[] = [];
          let bytes = 0;
          const body = readBody(source, maxLineBytes, release, {
            chunk(chunk) {
              bytes += chunk.length;
              if (bytes > maxLineBytes) body.fail(new UpstreamLineTooLong(maxLineBytes));
              else chunks.push(chunk);
            },
            end: () => resolve({ status, ok, rawHeaders, text: UTF8.decode(Buffer.concat(chunks)) }),
            // An error answer is its status and headers: a body lost on the way (cut, undecodable, too long) leaves them.
            error: (error) => (ok || init.signal?.aborted ? reject(error) : resolve({ status, ok, rawHeaders, text: '' })),
          });
          fail = body.fail;
        });
        return { value, fail };
      }),
    fetch: ((input: string | URL | Request, init: RequestInit = {}) =>
      exchange(input, init, (response, source, release) => {
        const stream = source ? bodyStream(source, maxLineBytes, release) : null;
        const value = new Response(stream?.body ?? null, { status: response.statusCode ?? 0, statusText: response.statusMessage, headers: headersOf(response.rawHeaders) });
        return { value, fail: stream?.fail ?? (() => undefined) };
      })) as typeof fetch,
  };
}

/** Headers from node's raw list (names and values in turn). */
export function headersOf(rawHeaders: string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i < rawHeaders.length; i += 2) headers.append(rawHeaders[i], rawHeaders[i + 1]);
  return headers;
}

/**
 * Reads `source` into `sink`, each line bounded by `maxLineBytes`. `release` runs once: when the body ended
 * (true), failed or was dropped. Returns how to fail the body (the sink hears it) or drop it (it hears nothing).
 */
function readBody(source: Readable, maxLineBytes: number, release: (ended: boolean) => void, sink: BodySink) {
  let lineBytes = 0;
  let settled = false;
  const settle = (ended: boolean, then: () => void) => {
    if (settled) return;
    settled = true;
    release(ended);
    // A decoder keeps its output coming after the connection is gone: it stops here too.
    if (!ended) source.destroy();
    then();
  };
  const fail = (error: unknown) => settle(false, () => sink.error(error));
  source.on('data', (chunk: Buffer) => {
    if (settled) return;
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      if (lineBytes + newline - start > maxLineBytes) return fail(new UpstreamLineTooLong(maxLineBytes));
      lineBytes = 0;
      start = newline + 1;
    }
    lineBytes += chunk.length - start;
    if (lineBytes > maxLineBytes) return fail(new UpstreamLineTooLong(maxLineBytes));
    sink.chunk(chunk);
  });
  source.once('end', () => settle(true, () => sink.end()));
  source.once('error', fail);
  // 'close' follows every end: an Error (and its stack) is made only when nothing ended the body first.
  source.once('close', () => {
    if (!settled) fail(new Error('the connection closed before the body ended'));
  });
  return { fail, drop: () => settle(false, () => undefined) };
}

/** A response body as a ReadableStream that reads the socket only as fast as it is consumed. */
function bodyStream(source: Readable, maxLineBytes: number, release: (ended: boolean) => void) {
  let body!: ReturnType<typeof readBody>;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      body = readBody(source, maxLineBytes, release, {
        chunk(chunk) {
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 0) <= 0) source.pause();
        },
        end: () => controller.close(),
        error: (error) => controller.error(error),
      });
    },
    pull() {
      source.resume();
    },
    cancel() {
      body.drop();
    },
  });
  return { body: stream, fail: body.fail };
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
