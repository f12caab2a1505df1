import { describe, expect, it } from 'vitest';
import { statement } from '../../src/db/statement.js';

describe('a statement with named parameters', () => {
  const update = statement<{ id: string; status: string; note: string | null; unused: number }>(
    (p) => `UPDATE t SET status = ${p.status}, note = COALESCE(${p.note}, note) WHERE id = ${p.id} AND status <> ${p.status}`,
  );

  it('numbers each name once, in the order the text first uses it', () => {
    expect(update.text).toBe('UPDATE t SET status = $1, note = COALESCE($2, note) WHERE id = $3 AND status <> $1');
  });

  it('reads the values by name, in that order, and sends none the text does not use', () => {
    expect(update.values({ id: 'a', status: 'DONE', note: null, unused: 7 })).toEqual(['DONE', null, 'a']);
  });
});
