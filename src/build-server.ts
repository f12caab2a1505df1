// The gateway's bundler step: src/main.ts and everything it imports from src/
// bundled by esbuild into dist/server/main.js, which `npm start` and the Docker
// image run with plain node. Packages stay in node_modules. Running the
// TypeScript through tsx instead costs about 0.5 ms of CPU a chat call (tsx
// keeps function names with a helper call on every closure) and seconds of
// start-up. dist/server/ sits as deep as src/<module>/, so the paths modules
// resolve from import.meta.dirname (prisma/, dist/console/) hold in both.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { forgetBuildStamp } from './build-stamp.js';

export const SERVER_DIR = path.resolve(import.meta.dirname, '../dist/server');
export const SERVER_ENTRY = path.join(SERVER_DIR, 'main.js');

/** Bundles the server; each file is written under a temporary name and renamed, so a starting process never reads half a file. */
export async function buildServer(): Promise<{ bytes: number }> {
  await Promise.all([forgetBuildStamp(), mkdir(SERVER_DIR, { recursive: true })]);
  const result = await build({
    entryPoints: { main: path.resolve(import.meta.dirname, 'main.ts') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    outdir: SERVER_DIR,
    write: false,
    logLevel: 'silent',
  });
  let bytes = 0;
  for (const output of result.outputFiles) {
    const temporary = `${output.path}.${process.pid}.tmp`;
    await writeFile(temporary, output.contents);
    await rename(temporary, output.path);
    if (output.path === SERVER_ENTRY) bytes = output.contents.byteLength;
  }
  // Again once written: a whole build may have left its stamp, of other sources, while this one ran.
  await forgetBuildStamp();
  return { bytes };
}
