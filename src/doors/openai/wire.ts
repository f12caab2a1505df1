// Reading an OpenAI request body: the JSON itself, read no further than the bound, and typed fields out of it,
// each refusal naming the OpenAI parameter it is about.
import type { IncomingMessage } from 'node:http';

export type Json = Record<string, unknown>;

/** A request the door cannot read; `param` is OpenAI's name of what is wrong. */
export class WireProblem extends Error {
  constructor(
    message: string,
    readonly param: string | null,
  ) {
    super(message);
    this.name = 'WireProblem';
  }
}

/** The body as a JSON object, read up to `maxBytes` (the router already refused a larger declared length). */
export async function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new WireProblem(`Request body exceeds ${maxBytes} bytes`, null);
    chunks.push(chunk);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new WireProblem('The body must be JSON', null);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new WireProblem('The body must be a JSON object', null);
  return body as Json;
}

export function stringAt(object: Json, key: string, required: true, param?: string): string;
export function stringAt(object: Json, key: string, required?: false, param?: string): string | undefined;
export function stringAt(object: Json, key: string, required = false, param = key): string | undefined {
  const value = object[key];
  if (value == null && !required) return undefined;
  if (typeof value !== 'string') throw new WireProblem(`${key} must be a string`, param);
  return value;
}

export function numberAt(object: Json, key: string, param = key): number | undefined {
  const value = object[key];
  if (value == null) return undefined;
  if (typeof value !== 'number') throw new WireProblem(`${key} must be a number`, param);
  return value;
}

export function booleanAt(object: Json, key: string, param = key): boolean | undefined {
  const value = object[key];
  if (value == null) return undefined;
  if (typeof value !== 'boolean') throw new WireProblem(`${key} must be true or false`, param);
  return value;
}

export function objectAt(object: Json, key: string, param = key): Json {
  const value = object[key];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WireProblem(`${key} must be an object`, param);
  return value as Json;
}

export function arrayAt(object: Json, key: string, param = key): unknown[] {
  const value = object[key];
  if (!Array.isArray(value)) throw new WireProblem(`${key} must be an array`, param);
  return value;
}
