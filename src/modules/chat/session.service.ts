// Chat sessions: a session keeps the provider and model it started with, its
// totals, and (when the workspace stores conversation history) its messages.
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../auth/viewer.js';
import { NotFoundError } from '../../errors.js';
import type { ChatMessage, ChatSession } from '../../generated/prisma/client.js';
import { isUuid } from '../../ids.js';
import { decodeCursor, pageSize, toPage } from '../../pagination.js';
import { type Message, nameOfRole, roleOfName, textMessage, textOf } from './canonical.js';
import type { SessionRepository } from './session.repository.js';

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
      return { session, history: messages.map((m: ChatMessage) => textMessage(roleOfName(m.role), m.content)) };
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
    async storeTurn(sessionId: string, messageCount: number, asked: Message[], reply: string): Promise<void> {
      const turn = [...asked.filter((m) => m.role !== 'system'), textMessage('assistant', reply)];
      const firstSeq = messageCount - turn.length;
      await repository.insertMessages(
        sessionId,
        turn.map((m, i) => ({ seq: firstSeq + i, role: nameOfRole(m.role), content: textOf(m) })),
      );
    },
  };
}

/** Messages a successful call adds to its session: the question's (system messages aside) and the answer. */
export function turnLength(asked: Message[]): number {
  return asked.filter((m) => m.role !== 'system').length + 1;
}

export type SessionService = ReturnType<typeof createSessionService>;
