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

export type Role = 'system' | 'user' | 'assistant';
/** A role as the GraphQL API and the stored history name it. */
export type RoleName = 'SYSTEM' | 'USER' | 'ASSISTANT';

export const roleOfName = (name: RoleName): Role => name.toLowerCase() as Role;
export const nameOfRole = (role: Role): RoleName => role.toUpperCase() as RoleName;

export type Part = { type: 'text'; text: string };

export interface Message {
  role: Role;
  content: Part[];
}

export interface GenerationOptions {
  temperature?: number;
  /** The most output tokens the answer may spend. */
  maxTokens?: number;
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

/** What an adapter yields while a provider answers, whatever its protocol. */
export type AnswerEvent = { type: 'text'; text: string } | { type: 'thinking'; text: string } | { type: 'usage'; usage: TokenCounts } | { type: 'finish'; reason: string | null };

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
    }
  | {
      type: 'text' | 'thinking';
      text: string;
      /** Running estimate of the answer's tokens. */
      tokensSoFar: number;
    }
  | { type: 'usage'; usage: ReportedUsage; usageEventId: string }
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
}

export const textMessage = (role: Role, text: string): Message => ({ role, content: [{ type: 'text', text }] });

/** The text of a message's text parts, in order. */
export function textOf(message: Message): string {
  let text = '';
  for (const part of message.content) if (part.type === 'text') text += part.text;
  return text;
}
