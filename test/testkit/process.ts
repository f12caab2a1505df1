// The real entry points (the server bundle, src/cli/demo.ts) as child processes, as `npm start` and `npm run demo` run them.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { START_FLAGS } from './start-flags.js';

const ROOT = path.resolve(import.meta.dirname, '../..');

export interface GatewayProcess {
  child: ChildProcess;
  /** stdout and stderr lines so far. */
  readonly output: string[];
  /** stdout and stderr as written so far. */
  readonly transcript: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** The gateway as `npm start` runs it: the bundle global-setup built. */
export function spawnGateway(env: Record<string, string | undefined>): GatewayProcess {
  return spawnEntry('dist/server/main.js', env);
}

export function spawnEntry(entry: string, env: Record<string, string | undefined>, args: string[] = []): GatewayProcess {
  const inherited = { ...process.env };
  // The embedded default: a test of `npm start` must not pick up CI's Postgres or Redis.
  delete inherited.DATABASE_URL;
  delete inherited.REDIS_URL;
  delete inherited.NODE_ENV;
  // A bundle runs with the flags of package.json's start script.
  const child = spawn(process.execPath, [...(entry.endsWith('.ts') ? ['--import', 'tsx'] : START_FLAGS), entry, ...args], {
    cwd: ROOT,
    env: { ...inherited, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let transcript = '';
  const collect = (chunk: Buffer) => (transcript += chunk.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    get transcript() {
      return transcript;
    },
    get output() {
      return transcript.split('\n').filter(Boolean);
    },
  };
}

/** Waits for the "listening" log line and returns the base URL and the start-up time it reported. */
export async function listening(gateway: GatewayProcess, timeoutMs = 60_000): Promise<{ url: string; startupMs: number }> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const line of gateway.output) {
      if (!line.includes('gateway listening')) continue;
      const entry = JSON.parse(line) as { url: string; startupMs: number };
      return { url: entry.url.replace(/\/graphql$/, ''), startupMs: entry.startupMs };
    }
    if (gateway.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gateway did not start:\n${gateway.output.join('\n')}`);
}

/** A development token as `npm run token` mints it, signed with the secret the gateway created in `dataDir`. */
export function mintDevToken(dataDir: string, args = ['--workspace', 'acme', '--user', 'alice', '--role', 'owner']): string {
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir };
  delete env.NODE_ENV;
  return execFileSync(process.execPath, ['--import', 'tsx', 'src/cli/token.ts', ...args], { cwd: ROOT, env })
    .toString()
    .trim();
}
