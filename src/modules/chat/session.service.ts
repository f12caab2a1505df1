// Chat sessions: a session keeps the provider and model it started with, its
// totals, and (when the workspace stores conversation history) its messages.
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../../auth/jwt.js';
import { NotFoundError } from '../../errors.js';
import type { Database } from '../../db/client.js';
import type { ChatMessage, ChatSession, Provider } from '../../generated/prisma/client.js';
import { decodeCursor, olderThan, pageSize, toPage } from '../../pagination.js';
import { isUuid } from '../providers/provider.repository.js';
import type { ChatMessage as WireMessage, TokenCounts } from '../providers/adapters/adapter.js';

const ROLES = { SYSTEM: 'system', USER: 'user', ASSISTANT: 'assistant' } as const;

export function createSessionService({ prisma, sql }: Pick<Database, 'prisma' | 'sql'>, clock: () => Date) {
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

    /** On every new chat's path: one plain insert. */
    async start(viewer: Viewer, agent: string | null | undefined, firstUserMessage: string | undefined): Promise<ChatSession> {
      const now = clock();
      const session: ChatSession = {
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
      await sql.query(
        `INSERT INTO chat_sessions (id, workspace_id, user_id, title, agent, created_at, last_active_at) VALUES ($1::uuid, $2, $3, $4, $5, $6, $6)`,
        [session.id, session.workspaceId, session.userId, session.title, session.agent, now],
      );
      return session;
    },

    /** After a successful call: fix the selection on first use, add totals, keep the turn when asked to. */
    async record(session: ChatSession, answer: { provider: Provider; model: string; tokens: TokenCounts; costMicros: bigint; asked: WireMessage[]; reply: string; storeHistory: boolean }) {
      const turn = [...answer.asked.filter((m) => m.role !== 'system'), { role: 'assistant' as const, content: answer.reply }];
      if (!answer.storeHistory) {
        // The common case, on every chat's path: one plain update; the first answer fixes the selection.
        await sql.query(
          `UPDATE chat_sessions SET
            provider_id = COALESCE(provider_id, $2::uuid), kind = COALESCE(kind, $3::"ProviderKind"), model = COALESCE(model, $4),
            message_count = message_count + $5, total_tokens = total_tokens + $6, cost_micros = cost_micros + $8, last_active_at = $7
          WHERE id = $1::uuid`,
          [session.id, answer.provider.id, answer.provider.kind, answer.model, turn.length, answer.tokens.totalTokens, clock(), answer.costMicros],
        );
        return;
      }
      const data = {
        ...(session.providerId ? {} : { providerId: answer.provider.id, kind: answer.provider.kind, model: answer.model }),
        messageCount: { increment: turn.length },
        totalTokens: { increment: answer.tokens.totalTokens },
        costMicros: { increment: answer.costMicros },
        lastActiveAt: clock(),
      };
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
