// `npm run schema:print` writes schema/schema.graphql; `npm run schema:check` fails when it differs.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { printSchema } from 'graphql';
import { schema } from './schema.js';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../schema/schema.graphql');

export function printedSchema(): string {
  return `${printSchema(schema)}\n`;
}

/** Empty when `fileText` is what the code prints; otherwise a one-line reason. */
export function schemaDrift(fileText: string): string {
  if (fileText === printedSchema()) return '';
  return 'schema/schema.graphql differs from the schema the code builds: run `npm run schema:print` and commit it';
}

if (import.meta.url === `file://${process.argv[1]}`) {
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
}
