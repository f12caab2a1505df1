// Cursor pagination over (time, id), newest first: stable under inserts.
import { BadUserInputError } from './errors.js';
import { isUuid } from './ids.js';

export const MAX_PAGE_SIZE = 200;

export interface Cursor {
  at: Date;
  id: string;
}

export function pageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw new BadUserInputError(`first must be between 1 and ${MAX_PAGE_SIZE}`, 'first');
  }
  return first;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.at.toISOString()}|${cursor.id}`).toString('base64url');
}

export function decodeCursor(text: string | null | undefined): Cursor | undefined {
  if (!text) return undefined;
  const [at, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  const date = new Date(at);
  // Every row a cursor points at has a UUID id: anything else would reach the database's uuid column and fail there.
  if (!isUuid(id ?? '') || rest.length > 0 || Number.isNaN(date.getTime())) throw new BadUserInputError('after is not a cursor this API gave out', 'after');
  return { at: date, id };
}

export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** `rows` were fetched with `take: first + 1`: the extra row only says there is more. */
export function toPage<T>(rows: T[], first: number, cursorOf: (row: T) => Cursor): Page<T> {
  const nodes = rows.slice(0, first);
  const edges = nodes.map((node) => ({ cursor: encodeCursor(cursorOf(node)), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** Prisma `where` for "older than the cursor" in (time desc, id desc) order. */
export function olderThan(field: string, cursor: Cursor | undefined): Record<string, unknown> {
  if (!cursor) return {};
  return { OR: [{ [field]: { lt: cursor.at } }, { [field]: cursor.at, id: { lt: cursor.id } }] };
}
