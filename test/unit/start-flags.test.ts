// The gateway runs with the same node flags wherever it is started as `npm start` starts it.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { START_FLAGS, START_V8_FLAGS } from '../testkit/start-flags.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe("npm start's node flags", () => {
  it('are read from the start script, the young generation among them', () => {
    expect(START_FLAGS).toContain('--max-semi-space-size=32');
    expect(START_V8_FLAGS).not.toContain('--enable-source-maps');
  });

  it("are the Docker image's", () => {
    const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
    expect(JSON.parse(cmd ?? 'null')).toEqual(['node', ...START_FLAGS, 'dist/server/main.js']);
  });

  it("are soak:calls' V8 flags (its gateway runs in the soak's own process)", () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    for (const flag of START_V8_FLAGS) expect(scripts['soak:calls']).toContain(` ${flag} `);
  });
});
