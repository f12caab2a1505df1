// `npm run keys:rotate`: re-seal every provider key and alert channel target with the first key of ENCRYPTION_KEYS.
import { loadConfig } from '../config.js';
import { parseKeyring } from '../crypto/keyring.js';
import { rotateKeys } from '../crypto/rotate-keys.js';
import { databaseSource, openDatabase } from '../db/client.js';

const config = loadConfig();
const keyring = parseKeyring(config.encryptionKeys);
const db = await openDatabase(databaseSource(config));
try {
  const report = await rotateKeys(db.prisma, keyring);
  console.log(
    `Active key "${keyring.activeId}": ${report.rotated} re-sealed, ${report.skipped} changed concurrently (already current), ${report.failed.length} could not be opened.`,
  );
  for (const failure of report.failed) console.log(`  ${failure.what} ${failure.id}: ${failure.reason}`);
  if (report.failed.length > 0) process.exitCode = 1;
} finally {
  await db.close();
}
