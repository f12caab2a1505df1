import { describe, expect, it } from 'vitest';
import { sseData } from '../../src/modules/providers/adapters/sse.js';

const bytes = (text: string) => new TextEncoder().encode(text);

function streamOf(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(chunks: Uint8Array[]): Promise<string[]> {
  const events: string[] = [];
  for await (const data of sseData(streamOf(chunks))) events.push(data);
  return events;
}

/** Wire texts and the event data they carry: each line ending, comments, other fields, multi-line data. */
const STREAMS: Array<[string, string, string[]]> = [
  ['CRLF (Gemini)', 'data: {"a":1}\r\n\r\ndata: {"b":"é"}\r\n\r\n', ['{"a":1}', '{"b":"é"}']],
  ['LF', 'data: one\n\ndata: two\n\n', ['one', 'two']],
  ['CR', 'data: one\r\rdata: two\r\r', ['one', 'two']],
  ['comments, other fields, no space after the colon', ': keep-alive\nevent: x\nid: 1\ndata:tight\n\n', ['tight']],
  ['multi-line data, empty events', '\n\ndata: a\ndata: b\n\nevent: empty\n\n', ['a\nb']],
  ['multi-line data, CRLF', 'data: a\r\ndata: b\r\n\r\n', ['a\nb']],
  ['a value that starts with a colon', 'data::x\n\ndata: :y\n\n', [':x', ':y']],
];

describe('sseData', () => {
  it.each(STREAMS)('%s: the same events however the bytes are cut', async (_name, text, expected) => {
    const all = bytes(text);
    expect(await collect([all])).toEqual(expected);
    for (let cut = 1; cut < all.length; cut++) {
      expect(await collect([all.slice(0, cut), all.slice(cut)]), `cut at byte ${cut}`).toEqual(expected);
    }
    expect(await collect([...all].map((byte) => Uint8Array.of(byte)))).toEqual(expected);
  });

  it.each([
    ['inside an event', bytes('data: {"a":1}\r\n\r\ndata: {"b":')],
    ['after a data line, before its blank line', bytes('data: {"a":1}\r\n')],
    ['inside a character', bytes('data: é').slice(0, -1)],
  ])('a stream that ends %s is an error', async (_name, all) => {
    await expect(collect([all])).rejects.toThrow();
  });
});
