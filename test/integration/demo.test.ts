// `npm run demo` as a newcomer runs it: the whole story in the terminal, then a
// console URL and a token that work, until Ctrl-C.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type GatewayProcess, spawnEntry } from '../testkit/process.js';
import { expectNoSecret } from '../testkit/server.js';

const DEMO_KEYS = ['sk-demo-openai-4f9a7c21e8b3d605', 'sk-ant-demo-0b1c2d3e4f5a6b7c', 'AIza-demo-9e8d7c6b5a4f3e2d1c0b'];
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gateway-demo-'));
  dirs.push(dir);
  return dir;
}

async function waitFor(demo: GatewayProcess, text: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!demo.transcript.includes(text)) {
    if (demo.child.exitCode !== null || Date.now() > deadline) throw new Error(`"${text}" never printed:\n${demo.transcript}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('npm run demo', () => {
  it('is the script that runs src/cli/demo.ts after building the console', async () => {
    const { scripts } = JSON.parse(await readFile(path.resolve(import.meta.dirname, '../../package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.demo).toMatch(/npm run console:build --silent && tsx src\/cli\/demo\.ts$/);
  });

  it('tells the story, prints a working console URL and token, and stops on Ctrl-C', async () => {
    const dataDir = path.join(await tempDir(), 'demo');
    const demo = spawnEntry('src/cli/demo.ts', { DEMO_DATA_DIR: dataDir, DATABASE_URL: undefined, REDIS_URL: undefined });
    await waitFor(demo, 'Ctrl-C stops the gateway and the simulator.');
    const out = demo.transcript;

    // Three protocols, each key validated by the simulator and shown masked.
    expect(out).toMatch(/OpenAI +OPENAI +key ••••d605 +ACTIVE/);
    expect(out).toMatch(/Claude +ANTHROPIC +key ••••ze=5 +ACTIVE/);
    expect(out).toMatch(/Gemini +GEMINI +key ••••1c0b +ACTIVE/);
    expect(out).toContain('agent "support" → Claude · claude-3-5-haiku-latest');
    expect(out).toContain('agent "research" → Gemini · gemini-2.0-flash');
    // The streamed answer, then its route and the provider's token counts.
    expect(out).toMatch(/Echo: How do I rotate an API key\?.*lorem ipsum/);
    expect(out).toMatch(/\(Claude · claude-3-5-haiku-latest; \d+ prompt \+ \d+ completion tokens\)/);
    // The failover: the default's attempts failed, the fallback answered, and the ledger shows the chain.
    expect(out).toContain('(fellBack: true)');
    expect(out).toMatch(/first +OpenAI +FAILED +PROVIDER_UNAVAILABLE/);
    expect(out).toMatch(/fallback +Claude +SUCCEEDED/);
    // The usage report as a table.
    expect(out).toMatch(/provider \/ model +requests +failed +tokens +cost \(USD\)/);
    expect(out).toMatch(/OpenAI · gpt-4o-mini +4 +4 /);
    expect(out).toMatch(/total +6 +4 /);
    // The limit, and the admin's alerts arriving over the subscription.
    expect(out).toContain('🔔 alert LIMIT_WARNING (WARNING)');
    expect(out).toContain('🔔 alert LIMIT_REACHED (CRITICAL)');
    expect(out).toMatch(/call \d+: refused before any upstream request: .*\(LIMIT_EXCEEDED\)/);
    for (const key of DEMO_KEYS) expectNoSecret(out, key.split('#')[0]!.slice(0, -4));

    const consoleUrl = /(http:\/\/\S+\/console\/)/.exec(out)![1]!;
    const token = /^(eyJ[\w-]+\.[\w-]+\.[\w-]+)$/m.exec(out)![1]!;
    expect((await fetch(consoleUrl)).status).toBe(200);
    const viewer = await fetch(consoleUrl.replace('/console/', '/graphql'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ viewer { workspaceId role } providers { label } }' }),
    });
    expect(await viewer.json()).toEqual({
      data: { viewer: { workspaceId: 'demo', role: 'OWNER' }, providers: [{ label: 'OpenAI' }, { label: 'Claude' }, { label: 'Gemini' }] },
    });

    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    // The story runs under tsx, compiled on the fly: about 12 s on an idle machine, more on a busy CI runner (waitFor allows 90 s).
  }, 120_000);

  it('refuses to reset a directory it did not create, and leaves it as it was', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'precious.txt'), 'not the demo’s');
    const demo = spawnEntry('src/cli/demo.ts', { DEMO_DATA_DIR: dir, DATABASE_URL: undefined, REDIS_URL: undefined });
    expect(await demo.exited).toBe(1);
    expect(demo.transcript).toContain('holds files the demo did not create');
    expect(await readFile(path.join(dir, 'precious.txt'), 'utf8')).toBe('not the demo’s');
  });
});
