// `npm run demo`: the simulator and the gateway on a fresh embedded database,
// a short story told through the public API, then the console's URL and a
// token. Runs until Ctrl-C. DEMO_DATA_DIR (default ./data/demo) is reset on
// every run; PORT (default 4000) is the gateway's port.
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { signToken } from '../auth/dev-token.js';
import { ConfigError, loadConfig } from '../config.js';
import { demoClient } from '../demo/client.js';
import { type Terminal, tellStory } from '../demo/story.js';
import { type RunningGateway, startGateway } from '../gateway.js';
import { createLogger } from '../logging/logger.js';
import { type Simulator, startSimulator } from '../simulator/simulator.js';

const MARKER = '.byok-demo';
const WORKSPACE = { workspace: 'demo', user: 'ada', role: 'owner' };

const bold = (text: string) => (process.stdout.isTTY ? `\x1b[1m${text}\x1b[0m` : text);
const terminal: Terminal = {
  heading: (text) => process.stdout.write(`\n${bold(text)}\n`),
  line: (text = '') => process.stdout.write(`${text ? `  ${text}` : ''}\n`),
  write: (text) => process.stdout.write(text),
};

/** The demo's own directory, emptied: never a directory the demo did not create. */
async function resetDemoDir(dir: string): Promise<void> {
  if (existsSync(dir) && (await readdir(dir)).length > 0 && !existsSync(path.join(dir, MARKER))) {
    throw new ConfigError([`DEMO_DATA_DIR: ${dir} holds files the demo did not create; choose an empty or new directory`]);
  }
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MARKER), 'Created by npm run demo, and emptied by it on every run.\n');
}

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env.DEMO_DATA_DIR ?? 'data/demo');
  let simulator: Simulator | undefined;
  let gateway: RunningGateway | undefined;
  const stop = async () => {
    await gateway?.stop();
    await simulator?.stop();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(0)));

  try {
    await resetDemoDir(dataDir);
    // Development mode on the embedded database, whatever DATABASE_URL or REDIS_URL the shell has.
    const config = loadConfig({
      ...process.env,
      NODE_ENV: 'development',
      DATA_DIR: dataDir,
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      PORT: process.env.PORT ?? '4000',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      CHAT_RETRY_BASE_MS: process.env.CHAT_RETRY_BASE_MS ?? '100',
    });
    simulator = await startSimulator(0);
    terminal.heading('BYOK gateway demo');
    terminal.line(`provider simulator on ${simulator.url} (OpenAI-compatible, Anthropic and Gemini protocols; no real key anywhere)`);
    gateway = await startGateway(config, createLogger(config.logLevel));
    terminal.line(`gateway on ${gateway.url}/graphql, embedded database in ${path.relative(process.cwd(), dataDir) || dataDir}`);

    const token = await signToken(config.jwt, WORKSPACE, '12h');
    const client = demoClient(gateway.url, token);
    await tellStory(client, simulator, terminal);

    terminal.heading('The console');
    terminal.line(`${gateway.url}/console/`);
    terminal.line(`sign in with this token (owner of workspace "${WORKSPACE.workspace}", valid 12 hours):`);
    terminal.line();
    process.stdout.write(`${token}\n\n`);
    terminal.line(`add more keys against the simulator: ${Object.values(simulator.baseUrls).join('  ')}`);
    terminal.line('Ctrl-C stops the gateway and the simulator.');
  } catch (error) {
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    console.error(
      error instanceof ConfigError
        ? error.message
        : inUse
          ? `port ${process.env.PORT ?? 4000} is in use: run PORT=<another port> npm run demo`
          : `demo failed: ${(error as Error).message}`,
    );
    await stop();
    process.exit(1);
  }
}

await main();
