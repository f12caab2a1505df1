// The node flags `npm start` runs the bundle with, read from package.json's start script
// (`node <flags> dist/server/main.js`): what tests and benchmarks start the bundle with. The Dockerfile and
// `npm run soak:calls` cannot read them from here; test/unit/start-flags.test.ts holds them to the same.
import { readFileSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');

function startFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const flags = /\bnode((?: --\S+)*) dist\/server\/main\.js/.exec(scripts.start)?.[1];
  if (flags === undefined) throw new Error(`package.json's start script does not run "node [flags] dist/server/main.js": ${scripts.start}`);
  return flags.split(' ').filter(Boolean);
}

export const START_FLAGS: readonly string[] = startFlags();
/** The V8 flags among them (the others, like source maps, are Node's). */
export const START_V8_FLAGS: readonly string[] = START_FLAGS.filter((flag) => flag !== '--enable-source-maps');
