// `npm run build`, which every `npm start` runs first, in a copy of the project
// (so the bundle the other tests run is left alone): a second run with nothing
// changed writes nothing, and a changed input is built again.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCES = ['package.json', 'package-lock.json', 'codegen.ts', 'prisma.config.ts', 'tsconfig.json', 'prisma', 'schema', 'src'];
const GENERATED = [path.join('src', 'generated'), path.join('src', 'console', 'app', 'generated')];
const OUTPUTS = ['src/generated/prisma/client.ts', 'src/console/app/generated/index.ts', 'dist/console/app.js', 'dist/server/main.js'];

let project: string;

beforeAll(async () => {
  project = await mkdtemp(path.join(tmpdir(), 'gateway-build-'));
  for (const source of SOURCES) {
    await cp(path.join(ROOT, source), path.join(project, source), {
      recursive: true,
      filter: (from) => !GENERATED.some((dir) => from.startsWith(path.join(ROOT, dir))),
    });
  }
  await symlink(path.join(ROOT, 'node_modules'), path.join(project, 'node_modules'));
});
afterAll(async () => {
  await rm(project, { recursive: true, force: true });
});

async function build(): Promise<string> {
  const { stdout } = await run('npm', ['run', '--silent', 'build'], { cwd: project, timeout: 240_000 });
  return stdout;
}

async function modified(): Promise<number[]> {
  return Promise.all(OUTPUTS.map(async (file) => (await stat(path.join(project, file))).mtimeMs));
}

describe('npm run build', () => {
  it('builds once, writes nothing while its inputs are unchanged, and builds again when one changes', async () => {
    await build();
    const first = await modified();
    const serverBundle = await readFile(path.join(project, 'dist/server/main.js'), 'utf8');

    expect(await build()).toContain('up to date');
    expect(await modified()).toEqual(first);

    // A changed source file (here the server's entry) is built into the bundle.
    const entry = path.join(project, 'src/main.ts');
    await writeFile(entry, `${await readFile(entry, 'utf8')}\nprocess.title = 'gateway';\n`);
    expect(await build()).not.toContain('up to date');
    expect(await readFile(path.join(project, 'dist/server/main.js'), 'utf8')).not.toBe(serverBundle);
  }, 600_000);

  it("builds again after anything else wrote a bundle: the test runs' setup bundles the sources as they are, which may be gone since", async () => {
    await build();
    const entry = path.join(project, 'src/main.ts');
    const source = await readFile(entry, 'utf8');
    await writeFile(entry, `${source}\nprocess.title = 'a change since undone';\n`);
    await run('npx', ['tsx', '--eval', "import('./src/build-server.ts').then(({ buildServer }) => buildServer())"], { cwd: project, timeout: 120_000 });
    expect(await readFile(path.join(project, 'dist/server/main.js'), 'utf8')).toContain('a change since undone');
    await writeFile(entry, source);

    expect(await build()).not.toContain('up to date');
    expect(await readFile(path.join(project, 'dist/server/main.js'), 'utf8')).not.toContain('a change since undone');

    // The console the gateway serves, bundled the same way, voids the stamp too.
    await run('npx', ['tsx', '--eval', "import('./src/console/build.ts').then(({ buildConsole }) => buildConsole())"], { cwd: project, timeout: 120_000 });
    expect(await build()).not.toContain('up to date');
  }, 600_000);
});
