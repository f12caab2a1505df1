// Chat session rows and their stored messages. Sessions are written by the
// ledger's reservation and finalize statements (see usage/ledger.ts); only
// reads and a turn's messages are written here.
import type { Database } from '../../db/client.js';
import { type ChatMessage, type ChatSession, Prisma } from '../../generated/prisma/client.js';
import { type Cursor, olderThan } from '../../pagination.js';
import type { ImageDetail, Part } from './canonical.js';

/** A stored message, in the session's order. */
export type StoredMessage = Pick<ChatMessage, 'seq' | 'role' | 'content'> & { parts: StoredPart[] | null };

/**
 * A part as history keeps it: images by reference only (a data: URL's bytes are not kept: the image is
 * replayed as a note that it was there), tool calls and results whole.
 */
export type StoredPart = Exclude<Part, { type: 'image' }> | { type: 'image'; url: string; detail?: ImageDetail } | { type: 'image'; omitted: { mediaType: string; bytes: number } };

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

    listMessages: async (sessionId: string): Promise<StoredMessage[]> => {
      const rows = await prisma.chatMessage.findMany({ where: { sessionId }, orderBy: { seq: 'asc' }, select: { seq: true, role: true, content: true, parts: true } });
      return rows.map((row) => ({ ...row, parts: row.parts as StoredPart[] | null }));
    },

    async insertMessages(sessionId: string, messages: StoredMessage[]): Promise<void> {
      await prisma.chatMessage.createMany({ data: messages.map(({ parts, ...m }) => ({ sessionId, ...m, parts: parts ? (parts as Prisma.InputJsonArray) : Prisma.DbNull })) });
    },
  };
}

export type SessionRepository = ReturnType<typeof createSessionRepository>;
