// The contract between the simulator's server (simulator.ts) and its protocol
// modules (*.protocol.ts), apart from both, so neither imports the other.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Script } from './script.js';

/** What a protocol module gets for one request. */
export interface SimExchange {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  /** The path below the protocol's prefix, e.g. "/chat/completions". */
  path: string;
  body: Record<string, unknown>;
  script: Script;
  key: string | undefined;
  /** Resolves after `ms`, or early (false) once the client has gone. */
  pause(ms: number): Promise<boolean>;
  /** Writes one SSE frame unless the client has gone; false when it has. */
  send(frame: string): boolean;
  startStream(): void;
  json(status: number, body: unknown, headers?: Record<string, string>): void;
}

export interface SimProtocol {
  name: string;
  prefix: string;
  key(req: IncomingMessage, url: URL): string | undefined;
  /** An error in the protocol's own shape. */
  error(exchange: SimExchange, status: number, message: string): void;
  handle(exchange: SimExchange): Promise<void>;
  /** Routes that answer without a key (OpenRouter's model list). */
  isPublic?(method: string, path: string): boolean;
}

/** Seconds to put in retry-after for a scripted 429, if any. */
export function retryAfterHeaders(exchange: SimExchange, status: number): Record<string, string> {
  return status === 429 ? { 'retry-after': String(exchange.script.retryAfter ?? 1) } : {};
}
