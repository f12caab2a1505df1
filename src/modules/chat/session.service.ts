// Chat sessions: a session keeps the provider and model it started with, its
// totals, and (when the workspace stores conversation history) its messages.
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../auth/viewer.js';
import { NotFoundError } from '../../errors.js';
import type { ChatSession } from '../../generated/prisma/client.js';
import { isUuid } from '../../ids.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import { type Message, nameOfRole, type Part, roleOfName, type ToolCall, textMessage, textOf } from './canonical.js';
import type { SessionRepository, StoredMessage, StoredPart } from './session.repository.js';

export function createSessionService(repository: SessionRepository, clock: () => Date) {
  async function own(viewer: Viewer, id: string): Promise<ChatSession | null> {
    if (!isUuid(id)) return null;
    return repository.findOwn(viewer.workspaceId, viewer.userId, id);
  }

  return {
    get: own,

    async list(viewer: Viewer, first: number, after: string | null | undefined) {
      const take = pageSize(first);
      const rows = await repository.page(viewer.workspaceId, viewer.userId, { cursor: decodeCursor(after), take: take + 1 });
      return toPage(rows, take, (row) => ({ at: row.lastActiveAt, id: row.id }));
    },

    /** The caller's session and its stored history, or NOT_FOUND. */
    async resume(viewer: Viewer, id: string): Promise<{ session: ChatSession; history: Message[] }> {
      const session = await own(viewer, id);
      if (!session) throw new NotFoundError('Session');
      const messages = await repository.listMessages(id);
      return { session, history: messages.map(toMessage) };
    },

    /**
     * A new session, not written yet: the chat's first reservation writes it, and
     * each successful call adds to its totals as it is finalized (see the ledger).
     */
    draft(viewer: Viewer, agent: string | null | undefined, firstUserMessage: string | undefined): ChatSession {
      const now = clock();
      return {
        id: randomUUID(),
        workspaceId: viewer.workspaceId,
        userId: viewer.userId,
        title: firstUserMessage?.slice(0, 80) ?? null,
        providerId: null,
        kind: null,
        model: null,
        agent: agent ?? null,
        messageCount: 0,
        totalTokens: 0n,
        costMicros: 0n,
        createdAt: now,
        lastActiveAt: now,
      };
    },

    /**
     * Keeps a successful call's turn (its question without system messages, and the answer) when the
     * workspace stores conversation history; `messageCount` is the session's count after the call.
     */
    async storeTurn(sessionId: string, messageCount: number, asked: Message[], reply: { text: string; toolCalls: ToolCall[] }): Promise<void> {
      const answer: Message = {
        role: 'assistant',
        content: [...(reply.text ? [{ type: 'text' as const, text: reply.text }] : []), ...reply.toolCalls.map((call) => ({ type: 'tool-call' as const, call }))],
      };
      const turn = [...asked.filter((m) => m.role !== 'system'), answer];
      const firstSeq = messageCount - turn.length;
      await repository.insertMessages(
        sessionId,
        turn.map((m, i) => ({
          seq: firstSeq + i,
          role: nameOfRole(m.role),
          content: textOf(m),
          parts: m.content.every((part) => part.type === 'text') ? null : m.content.map(toStoredPart),
        })),
      );
    },
  };
}

function toStoredPart(part: Part): StoredPart {
  if (part.type !== 'image' || !part.url.startsWith('data:')) return part;
  const [header, data] = part.url.split(',', 2);
  return { type: 'image', omitted: { mediaType: header.slice('data:'.length).split(';')[0], bytes: Math.floor((data.length * 3) / 4) } };
}

function toMessage(stored: StoredMessage): Message {
  const role = roleOfName(stored.role);
  if (!stored.parts) return textMessage(role, stored.content);
  const content = stored.parts.map((part): Part => {
    if (part.type !== 'image' || !('omitted' in part)) return part;
    return { type: 'text', text: `[an image (${part.omitted.mediaType}, ${part.omitted.bytes} bytes) was here; history keeps no image bytes]` };
  });
  return { role, content };
}

/** Messages a successful call adds to its session: the question's (system messages aside) and the answer. */
export function turnLength(asked: Message[]): number {
  return asked.filter((m) => m.role !== 'system').length + 1;
}

export type SessionService = ReturnType<typeof createSessionService>;
