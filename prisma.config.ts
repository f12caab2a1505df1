// For the Prisma CLI (`prisma generate`). Migrations are applied by our own
// runner on the WASM schema engine (src/db/migrate.ts), not by the CLI.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
