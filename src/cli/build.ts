// `npm run build`, and so every `npm start`: the Prisma client, the console
// (codegen, then esbuild) and the server bundle. Skipped when nothing they are
// built from changed since the last build that succeeded: that build left a hash
// of every input in dist/, and reading the inputs again takes a fraction of a
// second where building takes many (prisma generate and codegen above all).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BUILD_STAMP } from '../build-stamp.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
/** What the build reads: files, and folders taken whole. */
const INPUTS = ['package.json', 'package-lock.json', 'codegen.ts', 'prisma.config.ts', 'prisma/schema.prisma', 'schema/schema.graphql', 'src'];
/** What the build writes inside src/, which is not an input. */
const GENERATED = ['src/generated', 'src/console/app/generated'];
/** One file of each output: a build that lost one of them is not up to date. */
const OUTPUTS = ['src/generated/prisma/client.ts', 'src/console/app/generated/index.ts', 'dist/console/app.js', 'dist/server/main.js'];

async function inputFiles(): Promise<string[]> {
  const files: string[] = [];
  for (const input of INPUTS) {
    const entries = await readdir(path.join(ROOT, input), { recursive: true, withFileTypes: true }).catch(() => undefined);
    if (!entries) {
      files.push(input);
      continue;
    }
    for (const entry of entries) {
      const file = path.relative(ROOT, path.join(entry.parentPath, entry.name));
      if (entry.isFile() && !GENERATED.some((dir) => file.startsWith(`${dir}${path.sep}`))) files.push(file);
    }
  }
  return files.sort();
}

async function inputsHash(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await inputFiles())
    hash
      .update(`${file}\0`)
      .update(await readFile(path.join(ROOT, file)))
      .update('\0');
  return hash.digest('hex');
}

const hash = await inputsHash();
const built = OUTPUTS.every((file) => existsSync(path.join(ROOT, file)));
if (built && (await readFile(BUILD_STAMP, 'utf8').catch(() => '')) === hash) {
  console.log('build: up to date (nothing it is built from changed)');
} else {
  const npmRun = (script: string) => execFileSync('npm', ['run', '--silent', script], { cwd: ROOT, stdio: 'inherit' });
  npmRun('prisma:generate');
  npmRun('codegen');
  // Loaded only here: the check above is what every `npm start` pays.
  const [{ buildConsole }, { buildServer }] = await Promise.all([import('../console/build.js'), import('../build-server.js')]);
  await Promise.all([buildConsole(), buildServer()]);
  await writeFile(BUILD_STAMP, hash);
  console.log('build: Prisma client, console and server built');
}
