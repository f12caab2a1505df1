// Typed documents for the tests and for the console, from the checked-in schema:
// a schema change that breaks a document the console or a test sends fails typecheck.
import type { CodegenConfig } from '@graphql-codegen/cli';

const clientPreset = {
  preset: 'client',
  presetConfig: { fragmentMasking: false },
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: { DateTime: 'string', SafeInt: 'number', JSON: 'unknown' },
  },
} as const;

const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  ignoreNoDocuments: true,
  emitLegacyCommonJSImports: false,
  generates: {
    'test/generated/': { ...clientPreset, documents: ['test/**/*.ts', '!test/generated/**'] },
    'src/console/app/generated/': { ...clientPreset, documents: ['src/console/app/**/*.ts', '!src/console/app/generated/**'] },
  },
};

export default config;
