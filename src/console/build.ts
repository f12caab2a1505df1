// The console's bundler step: src/console/app/ (TypeScript, Chart.js, graphql-ws)
// bundled by esbuild into dist/console/, which the gateway serves at /console/.
// `npm run console:build` (src/cli/console-build.ts) runs codegen first (the app imports its typed documents).
import { copyFile, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { build } from 'esbuild';
import { forgetBuildStamp } from '../build-stamp.js';
import { CONSOLE_DIR } from './serve.js';

const SOURCE_DIR = path.resolve(import.meta.dirname, 'app');
const STATIC_FILES = ['index.html', 'console.css', 'favicon.svg'];

/** Bundles the console into `outDir` and returns the bundle's files. Each file is written under a temporary name and renamed, so a server never reads half a file. */
export async function buildConsole(outDir = CONSOLE_DIR): Promise<Array<{ file: string; bytes: number }>> {
  // The console the gateway serves is an output of `npm run build`: writing it here voids that build's stamp.
  const served = path.resolve(outDir) === CONSOLE_DIR;
  await Promise.all([served ? forgetBuildStamp() : undefined, mkdir(outDir, { recursive: true })]);
  const result = await build({
    entryPoints: { app: path.join(SOURCE_DIR, 'main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    define: { 'process.env.NODE_ENV': '"production"' },
    outdir: outDir,
    write: false,
    logLevel: 'silent',
  });
  const written: Array<{ file: string; bytes: number }> = [];
  const temporary = (file: string) => `${file}.${process.pid}.tmp`;
  for (const output of result.outputFiles) {
    await writeFile(temporary(output.path), output.contents);
    await rename(temporary(output.path), output.path);
    written.push({ file: path.basename(output.path), bytes: output.contents.byteLength });
  }
  for (const name of STATIC_FILES) {
    const target = path.join(outDir, name);
    await copyFile(path.join(SOURCE_DIR, name), temporary(target));
    await rename(temporary(target), target);
  }
  if (served) await forgetBuildStamp();
  return written;
}
