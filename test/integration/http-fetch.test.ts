// The HTTP client provider requests go through (src/net/http-fetch.ts): the
// fetch the SDKs use and `read`, the chat path's, against a plain local
// server: what the chat tests do not reach through the simulator (compressed
// answers, a reader slower than the server, bodies it refuses), and its abort
// and failure paths.

import { lookup } from 'node:dns';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpClient, UpstreamLineTooLong } from '../../src/net/http-fetch.js';

const MAX_LINE = 1024;
const client = createHttpClient({ lookup, maxLineBytes: MAX_LINE });
const send = client.fetch;
let server: Server;
const GZIP_LINES = gzipSync(`data: ${'q'.repeat(50)}\n\n`.repeat(300_000));

function cutShort(r: ServerResponse, status: number) {
  r.writeHead(status, { 'content-type': 'application/json', 'retry-after': '7', 'content-length': '100' });
  r.write('{"error": {"type": "rate_li');
  setTimeout(() => r.socket?.destroy(), 10);
}
let base: string;
/** Bytes the /endless route managed to write before the socket pushed back, and whether its socket closed. */
let endless = { written: 0, closed: false };

beforeAll(async () => {
  server = createServer((req, res) => {
    const route: Record<string, (res: ServerResponse) => void> = {
      '/gzip': (r) => r.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(gzipSync('{"ok":true}\n')),
      '/echo': (r) => {
        const chunks: Buffer[] = [];
        req
          .on('data', (c: Buffer) => chunks.push(c))
          .on('end', () => r.end(JSON.stringify({ method: req.method, auth: req.headers.authorization, body: Buffer.concat(chunks).toString() })));
      },
      '/long-line': (r) => r.end('x'.repeat(MAX_LINE + 1)),
      '/endless': (r) => {
        endless = { written: 0, closed: false };
        // Writes lines for as long as the socket takes them, then waits for 'drain'.
        const line = `${'y'.repeat(100)}\n`;
        const pump = () => {
          while (r.write(line)) endless.written += line.length;
        };
        r.on('drain', pump).on('close', () => (endless.closed = true));
        pump();
      },
      '/no-content': (r) => r.writeHead(204).end(),
      // An answer whose body the connection cuts short.
      '/cut-429': (r) => cutShort(r, 429),
      '/cut-200': (r) => cutShort(r, 200),
      // A status no fetch Response can carry.
      '/status-600': (r) => r.writeHead(600).end('{}'),
      // Lines that compress about a thousand to one: the decoder has output in hand when the reader stops.
      '/gzip-lines': (r) => r.writeHead(200, { 'content-encoding': 'gzip' }).end(GZIP_LINES),
    };
    (route[req.url ?? ''] ?? ((r) => r.writeHead(404).end()))(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('the provider fetch', () => {
  it('sends method, headers and body, and answers with status and JSON', async () => {
    const response = await send(`${base}/echo`, { method: 'POST', headers: { Authorization: 'Bearer t' }, body: '{"q":1}' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ method: 'POST', auth: 'Bearer t', body: '{"q":1}' });
  });

  it('decodes a compressed answer', async () => {
    expect(await (await send(`${base}/gzip`)).json()).toEqual({ ok: true });
  });

  it('answers 204 with no body', async () => {
    const response = await send(`${base}/no-content`);
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
  });

  it('refuses a body it does not send (a stream) before connecting', async () => {
    await expect(send(`${base}/echo`, { method: 'POST', body: new ReadableStream() })).rejects.toThrow('only string and byte bodies');
  });

  it('fails the body with UpstreamLineTooLong once a line outgrows the bound', async () => {
    const response = await send(`${base}/long-line`);
    await expect(response.text()).rejects.toBeInstanceOf(UpstreamLineTooLong);
  });

  it('reads no faster than the body is consumed, and an abort mid-body ends it with the reason and closes the connection', async () => {
    const abort = new AbortController();
    const response = await send(`${base}/endless`, { signal: abort.signal });
    const reader = response.body!.getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The server is held back by the socket, not by memory in the gateway: a few hundred KB at most.
    expect(endless.written).toBeLessThan(4 * 1024 * 1024);
    const reason = new Error('client left');
    abort.abort(reason);
    await expect(reader.read()).rejects.toBe(reason);
    await expect.poll(() => endless.closed).toBe(true);
  });

  it('rejects with the abort reason when aborted before the answer, and with "fetch failed" when the connection is refused', async () => {
    await expect(send(`${base}/echo`, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
    const refused = await send('http://127.0.0.1:1/').catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  });
});

describe('an upstream that misbehaves', () => {
  it('fails a fetch whose status no Response can carry, without taking the process down', async () => {
    await expect(send(`${base}/status-600`)).rejects.toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    expect(await client.read(`${base}/status-600`)).toMatchObject({ status: 600 });
  });

  it('stops a compressed body at once when it is aborted or cancelled mid-stream (nothing reaches a closed stream)', async () => {
    const uncaught: unknown[] = [];
    const record = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', record);
    try {
      for (let i = 0; i < 60; i++) {
        const abort = new AbortController();
        const reader = (await send(`${base}/gzip-lines`, { signal: abort.signal })).body!.getReader();
        for (let n = 0; n < 5 + (i % 20); n++) await reader.read();
        if (i % 2) abort.abort(new Error('client left'));
        else await reader.cancel();
        await reader.read().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off('uncaughtException', record);
    }
    expect(uncaught).toEqual([]);
  });
});

describe("the provider client's read (the whole body, no Response)", () => {
  it('sends method, headers and body, and answers with status, raw headers and text', async () => {
    const answer = await client.read(`${base}/echo`, { method: 'POST', headers: { Authorization: 'Bearer t' }, body: '{"q":1}' });
    expect(answer.status).toBe(200);
    expect(answer.rawHeaders).toContain('Content-Length');
    expect(JSON.parse(answer.text)).toEqual({ method: 'POST', auth: 'Bearer t', body: '{"q":1}' });
  });

  it('decodes a compressed answer, and answers 204 with no text', async () => {
    expect((await client.read(`${base}/gzip`)).text).toBe('{"ok":true}\n');
    expect(await client.read(`${base}/no-content`)).toMatchObject({ status: 204, text: '' });
  });

  it('fails with UpstreamLineTooLong once a line, or the body it holds whole, outgrows the bound, and closes the connection', async () => {
    await expect(client.read(`${base}/long-line`)).rejects.toBeInstanceOf(UpstreamLineTooLong);
    // Lines of 100 bytes, without end: each is within the bound, the body is not.
    await expect(client.read(`${base}/endless`)).rejects.toBeInstanceOf(UpstreamLineTooLong);
    await expect.poll(() => endless.closed).toBe(true);
  });

  it('ends an endless body with the abort reason and closes the connection', async () => {
    const abort = new AbortController();
    const reading = client.read(`${base}/endless`, { signal: abort.signal });
    await expect.poll(() => endless.written).toBeGreaterThan(0);
    const reason = new Error('client left');
    abort.abort(reason);
    await expect(reading).rejects.toBe(reason);
    await expect.poll(() => endless.closed).toBe(true);
  });

  it('answers an error status whose body was cut short with the status and its headers (no text), and fails a 2xx so cut', async () => {
    const refused = await client.read(`${base}/cut-429`);
    expect(refused).toMatchObject({ status: 429, text: '' });
    expect(refused.rawHeaders).toContain('retry-after');
    await expect(client.read(`${base}/cut-200`)).rejects.toThrow(/aborted|closed before the body ended/);
  });

  it('rejects with the abort reason when aborted before the answer, and with "fetch failed" when the connection is refused', async () => {
    await expect(client.read(`${base}/echo`, { signal: AbortSignal.abort('early') })).rejects.toBe('early');
    const refused = await client.read('http://127.0.0.1:1/').catch((error: unknown) => error);
    expect(refused).toMatchObject({ name: 'TypeError', message: 'fetch failed', cause: { code: 'ECONNREFUSED' } });
  });
});
