// `npm run seed:usage -- --events N --workspace W [--batch 50000] [--days 365]`
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { databaseSource, openDatabase } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { createCatalog } from '../modules/catalog/catalog.js';
import { seedUsage } from '../modules/usage/seed.js';

const { values } = parseArgs({ options: { events: { type: 'string' }, workspace: { type: 'string' }, batch: { type: 'string' }, days: { type: 'string' } } });
const events = Number(values.events);
if (!Number.isInteger(events) || events < 1 || !values.workspace) {
  console.error('Usage: npm run seed:usage -- --events N --workspace W [--batch 50000] [--days 365]');
  process.exit(2);
}
const config = loadConfig();
const db = await openDatabase(databaseSource(config));
try {
  await migrate(db);
  let last = 0;
  const result = await seedUsage(db.sql, createCatalog(), {
    workspaceId: values.workspace,
    events,
    batch: values.batch ? Number(values.batch) : undefined,
    days: values.days ? Number(values.days) : undefined,
    onProgress: (written) => {
      if (written - last < events / 10 && written !== events) return;
      console.log(`${written.toLocaleString('en-US')} rows`);
      last = written;
    },
  });
  console.log(
    `Wrote ${result.written.toLocaleString('en-US')} ledger rows for ${values.workspace} in ${result.seconds.toFixed(1)} s (${Math.round(result.written / result.seconds).toLocaleString('en-US')} rows/s), rollup rebuilt: ${result.rollupRows.toLocaleString('en-US')} rows.`,
  );
} finally {
  await db.close();
}
