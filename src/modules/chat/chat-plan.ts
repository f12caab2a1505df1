// Everything that can refuse a chat, done before its first event (refusals are
// errors of the front door's own kind, not events): the request is checked,
// the session resumed or drafted, and the route planned.
import type { Viewer } from '../../auth/viewer.js';
import { BadUserInputError } from '../../errors.js';
import type { ChatSession } from '../../generated/prisma/client.js';
import { isUuid } from '../../ids.js';
import { callerName, modelName } from '../../text-input.js';
import { MAX_OUTPUT_TOKENS } from '../limits/output-allowance.js';
import type { StoredPreferences } from '../preferences/preferences.repository.js';
import { estimateTokens } from '../usage/token-counts.js';
import { type ChatRequest, type Message, textOf } from './canonical.js';
import { type RouteCandidate, type RouteService, usableCandidates } from './route.service.js';
import type { SessionService } from './session.service.js';

/** A chat ready to run: who asks, what, in which session, through which candidates. */
export interface ChatPlan {
  viewer: Viewer;
  request: ChatRequest;
  prefs: StoredPreferences;
  session: ChatSession;
  /** The session is new: its first reservation writes it. */
  newSession: boolean;
  /** The messages of this call (what a stored turn keeps). */
  asked: Message[];
  /** The stored history, then the messages of this call: what the provider is sent. */
  messages: Message[];
  /** The route's first choice, usable or not: any other candidate that answers is a fallback. */
  firstChoice: RouteCandidate | undefined;
  /** The usable candidates, in the order they are tried. */
  candidates: RouteCandidate[];
  promptEstimate: number;
}

const MAX_MESSAGES = 1000;

export async function planChat(deps: { routes: RouteService; sessions: SessionService }, viewer: Viewer, request: ChatRequest): Promise<ChatPlan> {
  validate(request);
  const config = await deps.routes.config(viewer.workspaceId);
  const prefs = config.preferences;
  const { maxTokens } = request.options;
  if (maxTokens !== undefined && prefs.maxTokensPerRequest != null && maxTokens > prefs.maxTokensPerRequest) {
    throw new BadUserInputError(`maxTokens may be at most ${prefs.maxTokensPerRequest} in this workspace`, 'maxTokens');
  }

  const asked = request.messages;
  let session: ChatSession;
  let history: Message[] = [];
  let route: RouteCandidate[];
  if (request.sessionId !== undefined) {
    ({ session, history } = await deps.sessions.resume(viewer, request.sessionId));
    if (request.providerId && session.providerId && request.providerId !== session.providerId) {
      throw new BadUserInputError('A session keeps the provider it started with', 'providerId');
    }
    // The session keeps its provider and model; only before its first answer do preferences choose.
    route = deps.routes.plan(viewer, session.providerId ? { providerId: session.providerId, model: session.model, agent: session.agent, allowFallback: false } : request, config);
  } else {
    route = deps.routes.plan(viewer, request, config);
    const firstQuestion = asked.find((m) => m.role === 'user');
    session = deps.sessions.draft(viewer, request.agent, firstQuestion && textOf(firstQuestion));
  }
  const messages = [...history, ...asked];
  return {
    viewer,
    request,
    prefs,
    session,
    newSession: request.sessionId === undefined,
    asked,
    messages,
    firstChoice: route[0],
    candidates: usableCandidates(route),
    promptEstimate: estimateTokens(messages.map(textOf).join('')) + 4 * messages.length,
  };
}

function validate(request: ChatRequest): void {
  const { messages, options } = request;
  if (messages.length === 0) throw new BadUserInputError('messages must not be empty', 'messages');
  if (messages.length > MAX_MESSAGES) throw new BadUserInputError(`At most ${MAX_MESSAGES} messages per call`, 'messages');
  if (request.sessionId !== undefined && !isUuid(request.sessionId)) throw new BadUserInputError('sessionId must be the id of a session this API gave out', 'sessionId');
  if (options.temperature !== undefined && !(options.temperature >= 0 && options.temperature <= 2))
    throw new BadUserInputError('temperature must be between 0 and 2', 'temperature');
  if (options.maxTokens !== undefined && !(Number.isInteger(options.maxTokens) && options.maxTokens >= 1 && options.maxTokens <= MAX_OUTPUT_TOKENS)) {
    throw new BadUserInputError(`maxTokens must be a whole number from 1 to ${MAX_OUTPUT_TOKENS}`, 'maxTokens');
  }
  if (request.model !== undefined) modelName(request.model, 'model');
  if (request.agent !== undefined) callerName(request.agent, 'agent');
  if (request.operation !== undefined) callerName(request.operation, 'operation');
}
