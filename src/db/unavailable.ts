// Whether an error means "the database cannot be reached right now" (refused,
// reset, restarting, shutting down), from pg, the Prisma adapter or PGlite,
// anywhere in its cause chain. Such a failure is the operator's outage, not a
// bug: clients get SERVICE_UNAVAILABLE and the log gets one line, no stack.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  // Postgres: admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections, connection_exception class
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  // Prisma: can't reach the server, server closed the connection
  'P1001',
  'P1017',
]);
const CONNECTION_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Can't reach database server|server closed the connection/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  return databaseUnavailableCode(error) !== undefined;
}

/** The connection error's code ('connection lost' when only the driver's message tells), or undefined for any other error. */
export function databaseUnavailableCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    const { code, message, cause, originalCode } = current as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown };
    if (CONNECTION_CODES.has(String(code))) return String(code);
    if (CONNECTION_CODES.has(String(originalCode))) return String(originalCode);
    if (typeof message === 'string' && CONNECTION_MESSAGE.test(message)) return 'connection lost';
    current = cause ?? (current as { originalError?: unknown }).originalError;
  }
  return undefined;
}
