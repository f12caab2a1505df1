// Ids the API gives out are UUIDs: rows' primary keys, and ids derived from a
// name for what has no row (platform providers).
import { createHash } from 'node:crypto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id that is not a UUID names nothing (and must not reach Postgres as one). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}

/** A version-4-shaped UUID derived from a name: the same on every instance and across restarts. */
export function uuidFromName(name: string): string {
  const hash = createHash('sha256').update(name).digest('hex');
  return `${hash.slice(0, 8)}-${hash.slice(8, 12)}-4${hash.slice(13, 16)}-8${hash.slice(17, 20)}-${hash.slice(20, 32)}`;
}
