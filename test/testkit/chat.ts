// Helpers for chat tests: providers pointed at the simulator, and streams read to the end.
import { randomUUID } from 'node:crypto';
import { print } from 'graphql';
import type { Simulator } from '../../src/simulator/simulator.js';
import type { ChatStreamSubscription, ChatStreamSubscriptionVariables } from '../generated/graphql.js';
import { AddProvider, ChatStream } from './documents.js';
import type { TestServer } from './server.js';

export type Chunk = ChatStreamSubscription['chatStream'];
export type ChatInputVars = ChatStreamSubscriptionVariables['input'];

export const PROTOCOL_BASES = {
  OPENAI: (sim: Simulator) => sim.baseUrls.openai,
  ANTHROPIC: (sim: Simulator) => sim.baseUrls.anthropic,
  GEMINI: (sim: Simulator) => sim.baseUrls.gemini,
} as const;

export const MODELS = { OPENAI: 'gpt-4o-mini', ANTHROPIC: 'claude-3-5-haiku-latest', GEMINI: 'gemini-2.0-flash' } as const;

/** A provider on the simulator; `script` goes into its key (see src/simulator/script.ts) and skips validation (OWNER only). */
export async function addSimProvider(
  gw: TestServer,
  sim: Simulator,
  token: string,
  options: { kind?: keyof typeof PROTOCOL_BASES; script?: string; priority?: number; label?: string; scope?: 'WORKSPACE' | 'PERSONAL' } = {},
): Promise<{ id: string; key: string }> {
  const kind = options.kind ?? 'OPENAI';
  const key = `sk-chat-${randomUUID()}${options.script ? `#${options.script}` : ''}`;
  const result = await gw.execute(
    AddProvider,
    {
      input: {
        kind,
        apiKey: key,
        baseUrl: PROTOCOL_BASES[kind](sim),
        priority: options.priority,
        label: options.label,
        scope: options.scope,
        skipValidation: Boolean(options.script),
      },
    },
    { token },
  );
  if (result.errors) throw new Error(JSON.stringify(result.errors));
  return { id: result.data!.addProvider.id, key };
}

/**
 * The chunks of a chatStream subscription (graphql-ws or SSE), read until it completes, until a result carries
 * errors, or until `each` (awaited for every chunk, so it may act mid-stream) returns true: leaving the loop ends
 * the subscription.
 */
export async function readChatStream(
  results: AsyncIterable<{ data?: unknown; errors?: unknown }>,
  each?: (chunk: Chunk, chunks: Chunk[]) => unknown,
): Promise<{ chunks: Chunk[]; errors?: unknown }> {
  const chunks: Chunk[] = [];
  for await (const result of results) {
    if (result.errors) return { chunks, errors: result.errors };
    const chunk = (result.data as ChatStreamSubscription).chatStream;
    chunks.push(chunk);
    if ((await each?.(chunk, chunks)) === true) break;
  }
  return { chunks };
}

/** For readChatStream: stop once `count` TEXT chunks have arrived. */
export const afterTexts = (count: number) => (_chunk: Chunk, chunks: Chunk[]) => chunks.filter((c) => c.type === 'TEXT').length === count;

/** The operation of a chatStream subscription, for a client's `iterate`. */
export const chatStreamRequest = (input: ChatInputVars) => ({ query: print(ChatStream), variables: { input } });

/** Every chunk of a chatStream over graphql-ws, until the server completes it. */
export const streamOverWs = (gw: TestServer, token: string, input: ChatInputVars) => readChatStream(gw.ws(token).iterate(chatStreamRequest(input)));

export const text = (chunks: Chunk[]) =>
  chunks
    .filter((c) => c.type === 'TEXT')
    .map((c) => c.delta)
    .join('');
export const types = (chunks: Chunk[]) => chunks.map((c) => c.type).filter((type, i, all) => type !== 'TEXT' || all[i - 1] !== 'TEXT');
export const userMessage = (content = 'Hello there, simulator') => [{ role: 'USER' as const, content }];
