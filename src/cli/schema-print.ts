// `npm run schema:print` writes schema/schema.graphql; `npm run schema:check` (`--check`) fails when it differs.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printedSchema, SCHEMA_FILE, schemaDrift } from '../graphql/print-schema.js';

const file = process.argv[3] ?? SCHEMA_FILE;
if (process.argv[2] === '--check') {
  const drift = schemaDrift(await readFile(file, 'utf8').catch(() => ''));
  if (drift) {
    console.error(drift);
    process.exitCode = 1;
  } else console.log('schema/schema.graphql is up to date');
} else {
  await writeFile(file, printedSchema());
  console.log(`Wrote ${path.relative(process.cwd(), file)}`);
}
