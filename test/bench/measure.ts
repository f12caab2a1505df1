// Small helpers for benchmarks: timings, percentiles, and a table of ratios
// against a baseline measured in the same run.

export interface Sample {
  name: string;
  /** Per-operation times in microseconds. */
  micros: number[];
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs `op` `iterations` times after `warmup` runs, timing each. */
export async function measure(name: string, iterations: number, op: () => unknown, warmup = Math.min(200, iterations)): Promise<Sample> {
  for (let i = 0; i < warmup; i++) await op();
  const micros: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const started = process.hrtime.bigint();
    await op();
    micros.push(Number(process.hrtime.bigint() - started) / 1000);
  }
  return { name, micros };
}

export function report(title: string, baseline: Sample, samples: Sample[]): void {
  const row = (s: Sample) => {
    const p50 = percentile(s.micros, 50);
    const p99 = percentile(s.micros, 99);
    const ratio = p50 / percentile(baseline.micros, 50);
    return `  ${s.name.padEnd(44)} p50 ${fmt(p50).padStart(10)}  p99 ${fmt(p99).padStart(10)}  ×${ratio.toPrecision(3).padStart(7)} of baseline`;
  };
  console.log(`\n${title}\n  baseline: ${baseline.name}`);
  for (const sample of [baseline, ...samples]) console.log(row(sample));
}

function fmt(micros: number): string {
  return micros >= 1000 ? `${(micros / 1000).toFixed(2)} ms` : `${micros.toFixed(1)} µs`;
}

/** One call as a load generator saw it: its whole time and, for a stream, the time to its first content. */
export interface Timing {
  totalMs: number;
  firstChunkMs?: number;
}

/** Reads the CPU seconds used so far by what a loop measures (one process, or several summed). */
export type CpuMeter = () => number;

const noCpu: CpuMeter = () => 0;

/** `concurrency` clients, each calling back to back, for `calls` calls in all. */
export async function closedLoop<T extends Timing>(call: () => Promise<T>, concurrency: number, calls: number, cpu: CpuMeter = noCpu) {
  const timings: T[] = [];
  let next = 0;
  const cpuBefore = cpu();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) timings.push(await call());
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { timings, rps: timings.length / seconds, cpuPerCallUs: ((cpu() - cpuBefore) / timings.length) * 1e6 };
}

/** Sends at a fixed rate whatever the answers do; latency counts from the scheduled send. */
export async function openLoop(call: () => Promise<unknown>, rps: number, seconds: number, cpu: CpuMeter = noCpu) {
  const latencies: number[] = [];
  const total = rps * seconds;
  const started = performance.now();
  const cpuBefore = cpu();
  await Promise.all(
    Array.from({ length: total }, async (_, i) => {
      const scheduled = started + (i * 1000) / rps;
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, scheduled - performance.now())));
      await call();
      latencies.push(performance.now() - scheduled);
    }),
  );
  return { latencies, cpuPerCallUs: ((cpu() - cpuBefore) / total) * 1e6 };
}
