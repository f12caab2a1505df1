// Ids the API gives out are UUIDs (rows' primary keys).

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An id that is not a UUID names nothing (and must not reach Postgres as one). */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
