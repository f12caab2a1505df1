// Benchmarks run the gateway and the simulator as their own processes, so the
// gateway's CPU time can be read from /proc without the load generator's.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface Child {
  process: ChildProcess;
  url: string;
  /** User + system CPU seconds so far. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** Starts `node <entry>` (through tsx when it is TypeScript) and waits for a line matching `ready` that contains a URL. */
export async function startChild(entry: string, args: string[], env: Record<string, string | undefined>, ready: RegExp): Promise<Child> {
  const node = [...(env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${env.PROFILE_DIR}`] : []), ...(entry.endsWith('.ts') ? ['--import', 'tsx'] : ['--enable-source-maps'])];
  const child = spawn(process.execPath, [...node, entry, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = ready.exec(output);
      if (match) resolve(match[1]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${output}`)));
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    process: child,
    url,
    cpuSeconds: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
      return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
