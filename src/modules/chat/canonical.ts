// The chat core's own language, which knows no wire format: a request of
// messages made of parts, the generation options, and the events an answer
// yields. Front doors (GraphQL today) translate their client's format to and
// from it; adapters translate it to and from a provider's protocol. A new kind
// of part (an image, a tool call, a tool result) is a new member of `Part`:
// each door and adapter, the prompt estimate (chat-plan.ts) and the stored
// turn (session.service.ts) take it; routing, the reservation and the ledger
// rows do not change.

import type { AppError } from '../../errors.js';
import type { ProviderKind, UsageSource } from '../../generated/prisma/enums.js';
import type { TokenCounts } from '../usage/token-counts.js';

export type Role = 'system' | 'user' | 'assistant' | 'tool';
/** A role as the GraphQL API and the stored history name it. */
export type RoleName = 'SYSTEM' | 'USER' | 'ASSISTANT' | 'TOOL';

export const roleOfName = (name: RoleName): Role => name.toLowerCase() as Role;
export const nameOfRole = (role: Role): RoleName => role.toUpperCase() as RoleName;

/** A call the model made: `arguments` is JSON text, as the model produced it. Ids are the gateway's (attempt.ts `callIdOf`). */
export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export type ImageDetail = 'low' | 'high' | 'auto';

/**
 * What a message is made of. Which parts a role may hold: system text; user text and images; assistant
 * text and tool calls; tool exactly one tool result (chat-checks.ts checks it).
 */
export type Part =
  | { type: 'text'; text: string }
  /** An https URL or a data: URL (base64), passed in each protocol's form. */
  | { type: 'image'; url: string; detail?: ImageDetail }
  | { type: 'tool-call'; call: ToolCall }
  /** The result of call `callId` of tool `name` (the name is the call's, filled in by the plan). */
  | { type: 'tool-result'; callId: string; name: string; content: string };

export interface Message {
  role: Role;
  content: Part[];
}

export type JsonSchema = Record<string, unknown>;

export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments: an object schema. */
  parameters: JsonSchema;
}

export type ToolChoice = { type: 'auto' } | { type: 'none' } | { type: 'required' } | { type: 'tool'; name: string };

export type ResponseFormat = { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; name: string; schema: JsonSchema; strict: boolean };

export interface GenerationOptions {
  temperature?: number;
  topP?: number;
  /** The most output tokens the answer may spend. */
  maxTokens?: number;
  stop?: string[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  responseFormat?: ResponseFormat;
}

/** One chat as a front door hands it to the core. */
export interface ChatRequest {
  messages: Message[];
  options: GenerationOptions;
  /** None: the agent's preference, else the workspace default. */
  providerId?: string;
  model?: string;
  /** Agent type, for preferences and usage grouping. */
  agent?: string;
  /** Free tag for usage grouping. */
  operation?: string;
  /** Continue a session the gateway gave out. */
  sessionId?: string;
  /** False: only the first usable candidate is tried. */
  allowFallback: boolean;
}

/** What the core asks of a provider: one model, the whole conversation, an output cap always set. */
export interface UpstreamRequest {
  model: string;
  messages: Message[];
  options: GenerationOptions & { maxTokens: number };
}

/**
 * A piece of the answer's `index`-th tool call (0, 1, ... within one answer). The first piece of a call
 * carries its name, and the provider's id when it gave one; the pieces' `argumentsDelta` concatenate to the
 * call's JSON arguments.
 */
export interface ToolCallPiece {
  type: 'tool-call';
  index: number;
  id?: string;
  name?: string;
  argumentsDelta: string;
}

/** What an adapter yields while a provider answers, whatever its protocol. */
export type AnswerEvent =
  | { type: 'text'; text: string }
  | { type: 'thinking'; text: string }
  | ToolCallPiece
  /** `providerCostMicros`: what the provider said the call cost, when it says (KindSpec.reportsCost) and its figure is believable. */
  | { type: 'usage'; usage: TokenCounts; providerCostMicros?: bigint }
  | { type: 'finish'; reason: string | null };

/** A call's counts and cost as the caller is told them. */
export interface ReportedUsage extends TokenCounts {
  costUsd: number;
  usageSource: UsageSource;
}

/** What the core yields for one chat: `start` per candidate tried, deltas, then `usage` and `finish`, or `error`. */
export type ChatEvent =
  | {
      type: 'start';
      providerId: string;
      kind: ProviderKind;
      model: string;
      sessionId: string;
      /** Not the route's first choice. */
      fallback: boolean;
      /** The error code that left the candidate before this one, if one failed or was refused. */
      fallbackReason?: string;
    }
  | {
      type: 'text' | 'thinking';
      text: string;
      /** Running estimate of the answer's tokens. */
      tokensSoFar: number;
    }
  /** The first piece of each call carries the gateway's id for it and its name. */
  | (ToolCallPiece & { tokensSoFar: number })
  | { type: 'usage'; usage: ReportedUsage; usageEventId: string }
  /** `tool_calls` whenever the answer made tool calls, whatever the provider called it. */
  | { type: 'finish'; reason: string | null }
  | { type: 'error'; error: AppError };

/** A whole answer, for a caller that does not stream. */
export interface ChatAnswer {
  text: string;
  providerId: string;
  kind: ProviderKind;
  model: string;
  finishReason: string | null;
  usage: ReportedUsage;
  usageEventId: string;
  sessionId: string;
  fellBack: boolean;
  toolCalls: ToolCall[];
}

/** Embeddings of texts, as a front door hands them to the core. */
export interface EmbedRequest {
  inputs: string[];
  /** Shorter vectors, where the model supports shortening. */
  dimensions?: number;
  /** None: the workspace's embedding provider, else the first usable provider that embeds. */
  providerId?: string;
  model?: string;
  agent?: string;
  /** Defaults to "embedding". */
  operation?: string;
}

/** What the core asks of a provider for embeddings. */
export interface UpstreamEmbedRequest {
  model: string;
  inputs: string[];
  dimensions?: number;
}

/** What an adapter answers: one vector per input, in order; the prompt tokens when the provider reports them. */
export interface Embeddings {
  vectors: number[][];
  promptTokens: number | null;
}

export interface EmbeddingAnswer {
  vectors: number[][];
  providerId: string;
  kind: ProviderKind;
  model: string;
  usage: ReportedUsage;
  usageEventId: string;
}

export const textMessage = (role: Role, text: string): Message => ({ role, content: [{ type: 'text', text }] });

/** The text of a message's text parts, in order (a tool result's content is its text). */
export function textOf(message: Message): string {
  let text = '';
  for (const part of message.content)
    if (part.type === 'text') text += part.text;
    else if (part.type === 'tool-result') text += part.content;
  return text;
}
