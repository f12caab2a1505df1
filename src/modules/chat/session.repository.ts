// Chat session rows and their stored messages. Sessions are written by the
// ledger's reservation and finalize statements (see usage/ledger.ts); only
// reads and a turn's messages are written here.
import type { Database } from '../../db/client.js';
import type { ChatMessage, ChatSession } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';

/** A stored message, in the session's order. */
export type StoredMessage = Pick<ChatMessage, 'seq' | 'role' | 'content'>;

export function createSessionRepository({ prisma }: Pick<Database, 'prisma'>) {
  return {
    findOwn: (workspaceId: string, userId: string, id: string): Promise<ChatSession | null> => prisma.chatSession.findFirst({ where: { id, workspaceId, userId } }),

    /** Most recently active first, past `cursor`; `take` rows at most. */
    page(workspaceId: string, userId: string, { cursor, take }: { cursor: Cursor | undefined; take: number }): Promise<ChatSession[]> {
      return prisma.chatSession.findMany({
        where: { workspaceId, userId, ...olderThan('lastActiveAt', cursor) },
        orderBy: [{ lastActiveAt: 'desc' }, { id: 'desc' }],
        take,
      });
    },

    listMessages: (sessionId: string): Promise<ChatMessage[]> => prisma.chatMessage.findMany({ where: { sessionId }, orderBy: { seq: 'asc' } }),

    async insertMessages(sessionId: string, messages: StoredMessage[]): Promise<void> {
      await prisma.chatMessage.createMany({ data: messages.map((m) => ({ sessionId, ...m })) });
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
