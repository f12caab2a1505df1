// Re-seals every secret sealed under an older master key with the active one:
// provider keys and alert channel targets. Safe while the gateway runs: each
// row is updated only if it still holds the envelope that was read (a
// concurrent rotation by a user wins). Idempotent and resumable: only rows
// under another key id are ever selected.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Keyring } from './keyring.js';
import { channelAad, open, rowAad, SealError, seal } from './seal.js';

export interface RotationReport {
  /** Rows re-sealed with the active key. */
  rotated: number;
  /** Rows changed by someone else between read and write (already current). */
  skipped: number;
  /** Rows that could not be opened: what they are, their ids and why (never key material). */
  failed: Array<{ what: SealedTable['what']; id: string; reason: string }>;
}

interface SealedRow {
  id: string;
  workspaceId: string;
  keyId: string | null;
  sealed: Uint8Array<ArrayBuffer>;
}

/** One table of sealed secrets: its rows under a key other than `activeId`, by id, and a conditional write. */
interface SealedTable {
  what: 'provider' | 'alert channel';
  batch(activeId: string, after: string, take: number): Promise<SealedRow[]>;
  aad(row: SealedRow): Buffer;
  /** Writes the new envelope if the row still holds `row.sealed`; false when it changed meanwhile. */
  replace(row: SealedRow, sealed: Uint8Array<ArrayBuffer>, keyId: string): Promise<boolean>;
}

function sealedTables(prisma: PrismaClient): SealedTable[] {
  return [
    {
      what: 'provider',
      batch: async (activeId, after, take) =>
        (
          await prisma.provider.findMany({
            where: { id: { gt: after }, sealedKey: { not: null }, keyId: { not: activeId } },
            select: { id: true, workspaceId: true, keyId: true, sealedKey: true },
            orderBy: { id: 'asc' },
            take,
          })
        ).map((row) => ({ id: row.id, workspaceId: row.workspaceId, keyId: row.keyId, sealed: row.sealedKey! })),
      aad: (row) => rowAad(row.workspaceId, row.id),
      replace: async (row, sealed, keyId) =>
        (await prisma.provider.updateMany({ where: { id: row.id, keyId: row.keyId, sealedKey: { equals: row.sealed } }, data: { sealedKey: sealed, keyId } })).count === 1,
    },
    {
      what: 'alert channel',
      batch: async (activeId, after, take) =>
        (
          await prisma.alertChannel.findMany({
            where: { id: { gt: after }, keyId: { not: activeId } },
            select: { id: true, workspaceId: true, keyId: true, sealedTarget: true },
            orderBy: { id: 'asc' },
            take,
          })
        ).map((row) => ({ id: row.id, workspaceId: row.workspaceId, keyId: row.keyId, sealed: row.sealedTarget })),
      aad: (row) => channelAad(row.workspaceId, row.id),
      replace: async (row, sealed, keyId) =>
        (await prisma.alertChannel.updateMany({ where: { id: row.id, sealedTarget: { equals: row.sealed } }, data: { sealedTarget: sealed, keyId } })).count === 1,
    },
  ];
}

export async function rotateKeys(prisma: PrismaClient, keyring: Keyring, batchSize = 200): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, skipped: 0, failed: [] };
  for (const table of sealedTables(prisma)) {
    let after = '00000000-0000-0000-0000-000000000000';
    while (true) {
      const batch = await table.batch(keyring.activeId, after, batchSize);
      if (batch.length === 0) break;
      for (const row of batch) {
        const aad = table.aad(row);
        let plaintext: string;
        try {
          plaintext = open(keyring, row.sealed, aad);
        } catch (error) {
          if (!(error instanceof SealError)) throw error;
          report.failed.push({ what: table.what, id: row.id, reason: error.message });
          continue;
        }
        if (await table.replace(row, seal(keyring, plaintext, aad), keyring.activeId)) report.rotated++;
        else report.skipped++;
      }
      after = batch.at(-1)!.id;
    }
  }
  return report;
}
