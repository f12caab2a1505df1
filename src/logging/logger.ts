// Structured JSON logs. Secrets are redacted by configuration, not by care.
import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from '../config.js';

export type { Logger };

/** Paths pino censors wherever they appear (one and two levels deep, and in request headers). */
export const REDACTED_PATHS = [
  'authorization',
  'apiKey',
  'key',
  'token',
  'secret',
  '*.authorization',
  '*.apiKey',
  '*.key',
  '*.token',
  '*.secret',
  '*.*.apiKey',
  '*.*.key',
  'headers.authorization',
  'req.headers.authorization',
  'connectionParams.authorization',
];

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'byok-gateway' },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
