// The schema as the code builds it, and whether schema/schema.graphql still says the same
// (`npm run schema:print` and `schema:check`, src/cli/schema-print.ts; the drift test).
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
