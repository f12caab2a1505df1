// `npm run usage:rollup [-- --workspace W]`: rebuild the daily usage rollup from the ledger.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { databaseSource, openDatabase } from '../db/client.js';
import { rebuildAllRollups, rebuildRollup } from '../modules/usage/rollup.js';

const { values } = parseArgs({ options: { workspace: { type: 'string' } } });
const db = await openDatabase(databaseSource(loadConfig()));
try {
  const started = performance.now();
  if (values.workspace) console.log(`${values.workspace}: ${await rebuildRollup(db.sql, values.workspace)} rollup rows`);
  else await rebuildAllRollups(db.sql, (workspaceId, rows) => console.log(`${workspaceId}: ${rows} rollup rows`));
  console.log(`Rebuilt in ${((performance.now() - started) / 1000).toFixed(1)} s`);
} finally {
  await db.close();
}
