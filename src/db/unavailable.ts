// Whether an error means "the database cannot be reached right now" (refused,
// reset, restarting, shutting down), from pg, the Prisma adapter or PGlite,
// anywhere in its cause chain. Such a failure is the operator's outage, not a
// bug: clients get SERVICE_UNAVAILABLE and the log gets one line, no stack.
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  // Postgres: admin_shutdown, crash_shutdown, cannot_connect_now, connection_exception class
  '57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006',
  // Prisma: can't reach the server, server closed the connection
  'P1001', 'P1017',
]);
const CONNECTION_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Can't reach database server|server closed the connection/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 8; depth++) {
    const { code, message, cause, originalCode } = current as { code?: unknown; message?: unknown; cause?: unknown; originalCode?: unknown };
    if (CONNECTION_CODES.has(String(code)) || CONNECTION_CODES.has(String(originalCode))) return true;
    if (typeof message === 'string' && CONNECTION_MESSAGE.test(message)) return true;
    current = cause ?? (current as { originalError?: unknown }).originalError;
  }
  return false;
}
