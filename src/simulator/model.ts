// The simulated model, whatever protocol carried the request: each protocol
// module reads its wire format into a SimRequest, asks `answer` what the model
// does, and writes the SimAnswer back in its own form. Deterministic: the same
// request and script always get the same answer.
//   tools offered (choice not "none")  the model calls one (script `parallel=2`: two) while the
//                                      conversation has fewer than `tool-turns` (default 1) turns
//                                      with tool calls; a forced choice always calls
//   the last message a tool result     "Tool said: <result>" padded like any text answer
//   JSON asked for                     a JSON text: a sample of the schema, or {"echo": ...}
import { createHash } from 'node:crypto';
import type { Script } from './script.js';

export interface SimTurn {
  role: 'user' | 'assistant' | 'tool';
  text: string;
  images: number;
  /** Assistant turns: how many tool calls it carried. */
  toolCalls: number;
}

export interface SimTool {
  name: string;
  parameters: Record<string, unknown>;
}

export type SimToolChoice = 'auto' | 'none' | 'required' | { name: string };

export interface SimRequest {
  system: string;
  turns: SimTurn[];
  tools: SimTool[];
  toolChoice: SimToolChoice;
  /** Set when the client asked for JSON output: the schema, when it gave one. */
  json: { schema?: Record<string, unknown> } | null;
}

export interface SimToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export type SimAnswer = { type: 'text'; chunks: string[] } | { type: 'tools'; calls: SimToolCall[] };

/** What an image costs in prompt tokens (OpenAI's price of a low-detail image). */
export const IMAGE_TOKENS = 85;

/** About four characters a token, like the providers' own rule of thumb. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export function promptTokensOf(request: SimRequest): number {
  return countTokens(request.system + request.turns.map((turn) => turn.text).join('')) + IMAGE_TOKENS * request.turns.reduce((sum, turn) => sum + turn.images, 0);
}

export function answer(request: SimRequest, script: Script): SimAnswer {
  const { tools, toolChoice } = request;
  const toolTurns = request.turns.filter((turn) => turn.role === 'assistant' && turn.toolCalls > 0).length;
  const forced = toolChoice === 'required' || typeof toolChoice === 'object';
  if (tools.length > 0 && toolChoice !== 'none' && (forced || toolTurns < script.toolTurns)) {
    const named = typeof toolChoice === 'object' ? tools.find((tool) => tool.name === toolChoice.name) : undefined;
    const picked = named ? [named] : Array.from({ length: script.parallel }, (_, i) => tools[(toolTurns + i) % tools.length]);
    return { type: 'tools', calls: picked.map((tool) => ({ name: tool.name, arguments: sampleOf(tool.parameters) as Record<string, unknown> })) };
  }
  if (request.json) {
    const last = lastOf(request, 'user');
    const value = request.json.schema ? sampleOf(request.json.schema) : { echo: last?.text.slice(0, 40) ?? '' };
    const text = JSON.stringify(value);
    const pieces = Math.max(1, Math.ceil(text.length / script.chunkSize));
    return { type: 'text', chunks: Array.from({ length: pieces }, (_, i) => text.slice(i * script.chunkSize, (i + 1) * script.chunkSize)) };
  }
  return { type: 'text', chunks: replyChunks(seedOf(request), script.chunks, script.chunkSize) };
}

function seedOf(request: SimRequest): string {
  const last = request.turns.at(-1);
  if (last?.role === 'tool') return `Tool said: ${last.text.slice(0, 60)}. `;
  const question = lastOf(request, 'user');
  const images = question?.images ? ` (${question.images} image${question.images > 1 ? 's' : ''})` : '';
  return `Echo: ${question?.text.slice(0, 40) ?? ''}${images}. `;
}

function lastOf(request: SimRequest, role: SimTurn['role']): SimTurn | undefined {
  return request.turns.findLast((turn) => turn.role === role);
}

/** The reply's text, cut into `chunks` pieces of `chunkSize` characters. */
export function replyChunks(seed: string, chunks: number, chunkSize: number): string[] {
  let text = seed;
  while (text.length < chunks * chunkSize) text += 'lorem ipsum dolor sit amet ';
  text = text.slice(0, chunks * chunkSize);
  return Array.from({ length: chunks }, (_, i) => text.slice(i * chunkSize, (i + 1) * chunkSize));
}

/** A value that fits a JSON Schema: the first enum value, "sample" for strings, 1 for numbers, every property of an object. */
export function sampleOf(schema: Record<string, unknown>): unknown {
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if ('const' in schema) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'string':
      return 'sample';
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [sampleOf((schema.items ?? {}) as Record<string, unknown>)];
    case 'null':
      return null;
    default: {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, sampleOf(property)]));
    }
  }
}

/** A unit vector drawn from the text's hash: the same text always embeds the same. */
export function embeddingOf(text: string, dimensions = 8): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${block}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) values.push(digest.readUInt16BE(i) / 32768 - 1);
  }
  const norm = Math.hypot(...values) || 1;
  return values.map((value) => value / norm);
}

export const THINKING = ['Considering the question. ', 'Drafting an answer. '];

/** Models that embed, per protocol (they answer the embeddings routes and nothing else). */
export const EMBEDDING_MODELS = {
  openai: ['text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002', 'mistral-embed', 'nomic-embed-text'],
  gemini: ['text-embedding-004', 'gemini-embedding-001'],
};
