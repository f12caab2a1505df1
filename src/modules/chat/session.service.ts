// Chat sessions: a session keeps the provider and model it started with, its
// totals, and (when the workspace stores conversation history) its messages.
import type { Viewer } from '../../auth/jwt.js';
import { NotFoundError } from '../../errors.js';
import type { ChatMessage, ChatSession, PrismaClient, Provider } from '../../generated/prisma/client.js';
import { decodeCursor, olderThan, pageSize, toPage } from '../../pagination.js';
import { isUuid } from '../providers/provider.repository.js';
import type { ChatMessage as WireMessage, TokenCounts } from '../providers/adapters/adapter.js';

const ROLES = { SYSTEM: 'system', USER: 'user', ASSISTANT: 'assistant' } as const;

export function createSessionService(prisma: PrismaClient, clock: () => Date) {
  async function own(viewer: Viewer, id: string): Promise<ChatSession | null> {
    if (!isUuid(id)) return null;
    return prisma.chatSession.findFirst({ where: { id, workspaceId: viewer.workspaceId, userId: viewer.userId } });
  }

  return {
    get: own,

    async list(viewer: Viewer, first: number, after: string | null | undefined) {
      const take = pageSize(first);
      const rows = await prisma.chatSession.findMany({
        where: { workspaceId: viewer.workspaceId, userId: viewer.userId, ...olderThan('lastActiveAt', decodeCursor(after)) },
        orderBy: [{ lastActiveAt: 'desc' }, { id: 'desc' }],
        take: take + 1,
      });
      return toPage(rows, take, (row) => ({ at: row.lastActiveAt, id: row.id }));
    },

    /** The caller's session and its stored history, or NOT_FOUND. */
    async resume(viewer: Viewer, id: string): Promise<{ session: ChatSession; history: WireMessage[] }> {
      const session = await own(viewer, id);
      if (!session) throw new NotFoundError('Session');
      const messages = await prisma.chatMessage.findMany({ where: { sessionId: id }, orderBy: { seq: 'asc' } });
      return { session, history: messages.map((m: ChatMessage) => ({ role: ROLES[m.role], content: m.content })) };
    },

    start(viewer: Viewer, agent: string | null | undefined, firstUserMessage: string | undefined): Promise<ChatSession> {
      const now = clock();
      return prisma.chatSession.create({
        data: { workspaceId: viewer.workspaceId, userId: viewer.userId, agent, title: firstUserMessage?.slice(0, 80) ?? null, createdAt: now, lastActiveAt: now },
      });
    },

    /** After a successful call: fix the selection on first use, add totals, keep the turn when asked to. */
    async record(session: ChatSession, answer: { provider: Provider; model: string; tokens: TokenCounts; asked: WireMessage[]; reply: string; storeHistory: boolean }) {
      const turn = [...answer.asked.filter((m) => m.role !== 'system'), { role: 'assistant' as const, content: answer.reply }];
      const data = {
        ...(session.providerId ? {} : { providerId: answer.provider.id, kind: answer.provider.kind, model: answer.model }),
        messageCount: { increment: turn.length },
        totalTokens: { increment: answer.tokens.totalTokens },
        lastActiveAt: clock(),
      };
      if (!answer.storeHistory) {
        await prisma.chatSession.update({ where: { id: session.id }, data, select: { id: true } });
        return;
      }
      await prisma.$transaction(async (tx) => {
        const updated = await tx.chatSession.update({
          where: { id: session.id },
          data,
          select: { messageCount: true },
        });
        const firstSeq = updated.messageCount - turn.length;
        await tx.chatMessage.createMany({
          data: turn.map((m, i) => ({ sessionId: session.id, seq: firstSeq + i, role: m.role.toUpperCase() as 'USER' | 'ASSISTANT', content: m.content })),
        });
      });
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
