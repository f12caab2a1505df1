import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logging/logger.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

describe('logger redaction', () => {
  it('censors authorization headers, api keys, keys and secrets wherever they sit', () => {
    const { lines, logger } = capture();
    const secret = 'sk-canary-0123456789abcdef';
    logger.info({ authorization: `Bearer ${secret}` }, 'top');
    logger.info({ req: { headers: { authorization: `Bearer ${secret}` } } }, 'headers');
    logger.info({ input: { apiKey: secret, label: 'mine' } }, 'nested');
    logger.info({ provider: { credentials: { key: secret } } }, 'deeper');
    logger.info({ connectionParams: { authorization: secret } }, 'ws');
    logger.info({ created: { secret, name: 'ci bot' } }, 'a gateway API key');
    const output = lines.join('');
    expect(output).not.toContain('canary');
    expect(output).toContain('"label":"mine"');
    expect(output.match(/\[redacted\]/g)).toHaveLength(6);
  });
});
