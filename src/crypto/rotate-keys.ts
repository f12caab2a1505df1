// Re-seals every provider key sealed under an older master key with the active
// one. Safe while the gateway runs: each row is updated only if it still holds
// the envelope that was read (a concurrent rotation by a user wins). Idempotent
// and resumable: only rows under another key id are ever selected.
import type { PrismaClient } from '../generated/prisma/client.js';
import type { Keyring } from './keyring.js';
import { open, rowAad, SealError, seal } from './seal.js';

export interface RotationReport {
  /** Rows re-sealed with the active key. */
  rotated: number;
  /** Rows changed by someone else between read and write (already current). */
  skipped: number;
  /** Rows that could not be opened: their ids and why (never key material). */
  failed: Array<{ id: string; reason: string }>;
}

export async function rotateKeys(prisma: PrismaClient, keyring: Keyring, batchSize = 200): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, skipped: 0, failed: [] };
  let after = '00000000-0000-0000-0000-000000000000';
  while (true) {
    const batch = await prisma.provider.findMany({
      where: { id: { gt: after }, sealedKey: { not: null }, keyId: { not: keyring.activeId } },
      select: { id: true, workspaceId: true, keyId: true, sealedKey: true },
      orderBy: { id: 'asc' },
      take: batchSize,
    });
    if (batch.length === 0) return report;
    for (const row of batch) {
      const aad = rowAad(row.workspaceId, row.id);
      let plaintext: string;
      try {
        plaintext = open(keyring, row.sealedKey!, aad);
      } catch (error) {
        if (!(error instanceof SealError)) throw error;
        report.failed.push({ id: row.id, reason: error.message });
        continue;
      }
      const { count } = await prisma.provider.updateMany({
        where: { id: row.id, keyId: row.keyId, sealedKey: { equals: row.sealedKey } },
        data: { sealedKey: seal(keyring, plaintext, aad), keyId: keyring.activeId },
      });
      if (count === 1) report.rotated++;
      else report.skipped++;
    }
    after = batch.at(-1)!.id;
  }
}
