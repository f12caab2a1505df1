import { describe, expect, it } from 'vitest';
import { groupedStatement, statement } from '../../src/db/statement.js';

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

describe('a statement with its parameters in groups', () => {
  const both = groupedStatement<{ reserve: { ids: string[]; limit: number }; finalize: { ids: string[] } }>(
    (p) => `SELECT f(${p.finalize.ids}) UNION ALL SELECT g(${p.reserve.ids}, ${p.reserve.limit}, ${p.finalize.ids})`,
  );

  it('numbers each name of each group once, a name shared by two groups apart', () => {
    expect(both.text).toBe('SELECT f($1) UNION ALL SELECT g($2, $3, $1)');
  });

  it('reads each value from its group', () => {
    expect(both.values({ reserve: { ids: ['r'], limit: 5 }, finalize: { ids: ['f'] } })).toEqual([['f'], ['r'], 5]);
  });
});
