// A request's JSON body for the HTTP doors, read within a bound (the router has
// refused a declared length over it; this stops a body that lies about it).
import type { IncomingMessage } from 'node:http';
import { AppError } from '../errors.js';

export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const pieces: Buffer[] = [];
  let size = 0;
  for await (const piece of req as AsyncIterable<Buffer>) {
    size += piece.length;
    if (size > maxBytes) throw new AppError('BAD_USER_INPUT', `Request body exceeds ${maxBytes} bytes`, { field: 'messages' });
    pieces.push(piece);
  }
  return JSON.parse(Buffer.concat(pieces).toString('utf8'));
}
