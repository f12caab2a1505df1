// Benchmarks run the gateway, the simulator and the peers they compare with as
// processes of their own, so each one's CPU time can be read from /proc
// without the load generator's.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
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

/**
 * Starts `node <entry>` (through tsx when it is TypeScript) and waits for a line matching `ready` that contains a URL.
 * Source maps are enabled only for a bundle that has one: without a map they cost stack traces for nothing.
 * `nodeOptions` come first (V8 flags: the gateway's young generation).
 */
export async function startChild(entry: string, args: string[], env: Record<string, string | undefined>, ready: RegExp, nodeOptions: readonly string[] = []): Promise<Child> {
  const profile = env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${env.PROFILE_DIR}`] : [];
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : existsSync(path.resolve(ROOT, `${entry}.map`)) ? ['--enable-source-maps'] : [];
  const child = spawn(process.execPath, [...nodeOptions, ...profile, ...loader, entry, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
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
      const stat = procStat(child.pid!)!;
      return (stat.utime + stat.stime) / TICKS_PER_SECOND;
    },
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

interface ProcStat {
  command: string;
  parent: number;
  /** Clock ticks of the process itself, and of its children it has waited for. */
  utime: number;
  stime: number;
  cutime: number;
  cstime: number;
}

/** /proc/<pid>/stat, or undefined when no such process is visible (gone, or in another PID namespace). */
function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(') ');
  const fields = text.slice(close + 2).split(' ');
  const tick = (i: number) => Number(fields[i]);
  return { command: text.slice(text.indexOf('(') + 1, close), parent: tick(1), utime: tick(11), stime: tick(12), cutime: tick(13), cstime: tick(14) };
}

/**
 * The CPU of a whole Postgres server, found from one of its backends' pid (`SELECT pg_backend_pid()`): the
 * postmaster and its live children (backends, WAL writer, checkpointer...), plus the children it has reaped, so
 * a connection that closes meanwhile still counts. Undefined when the server's processes are not visible here.
 */
export function postgresCpu(backendPid: number): (() => number) | undefined {
  const postmaster = procStat(backendPid)?.parent;
  if (postmaster === undefined || procStat(postmaster)?.command !== 'postgres') return undefined;
  return () => {
    let ticks = 0;
    for (const entry of readdirSync('/proc')) {
      const pid = Number(entry);
      const stat = Number.isInteger(pid) ? procStat(pid) : undefined;
      if (!stat || (pid !== postmaster && stat.parent !== postmaster)) continue;
      ticks += stat.utime + stat.stime + (pid === postmaster ? stat.cutime + stat.cstime : 0);
    }
    return ticks / TICKS_PER_SECOND;
  };
}

/** A TCP port free on 127.0.0.1 right now, for a program that cannot be told to take port 0 and say which it got. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
