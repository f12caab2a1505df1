// Everything that can refuse a chat, done before its first event (refusals are
// errors of the front door's own kind, not events): the request is checked,
// the session resumed or drafted, the route planned, and the call admitted
// (an API key's calls a minute).
import { callAgent, type Viewer } from '../../auth/viewer.js';
import { BadUserInputError } from '../../errors.js';
import type { ChatSession } from '../../generated/prisma/client.js';
import { withFields } from '../../with-fields.js';
import type { StoredPreferences } from '../preferences/preferences.repository.js';
import { tokensOfCharacters } from '../usage/token-counts.js';
import { type ChatRequest, type GenerationOptions, type Message, textOf } from './canonical.js';
import { checkChatRequest, pairToolResults } from './chat-checks.js';
import { type Capability, type RouteCandidate, type RouteService, usableCandidates } from './route.service.js';
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
  /** What the prompt holds, counted before the call (promptEstimate, promptRange). */
  prompt: PromptSize;
  promptEstimate: number;
}

/** The parts of a prompt its token estimate and its cost range are reckoned from. */
export interface PromptSize {
  messages: number;
  /** Characters every protocol sends as the messages' text: text, tool results, tool calls' arguments. */
  messageCharacters: number;
  /** Characters of the tools offered, the response schema and the tool calls' names (not every protocol counts them). */
  otherCharacters: number;
  lowDetailImages: number;
  otherImages: number;
}

/**
 * What an image is reckoned to cost in prompt tokens before the provider says: a low-detail image is 85 at
 * OpenAI; a large one about 1,600 at Anthropic (OpenAI's high detail of a 1024² image is 765).
 */
const IMAGE_TOKENS = { low: 85, other: 1600 };
/** Per message, for the role and the framing every protocol adds. */
const MESSAGE_OVERHEAD_TOKENS = 4;

export async function planChat(
  deps: { routes: RouteService; sessions: SessionService; admitCall: (viewer: Viewer) => Promise<void> },
  viewer: Viewer,
  asAsked: ChatRequest,
): Promise<ChatPlan> {
  const plan = await routeChat(deps, viewer, asAsked);
  // Last: a call refused for what it asks takes nothing from its key's calls a minute.
  await deps.admitCall(viewer);
  return plan;
}

/** Everything a chat does before its admission: checked, its session resumed or drafted (not written), routed. */
export async function routeChat(deps: { routes: RouteService; sessions: SessionService }, viewer: Viewer, asAsked: ChatRequest): Promise<ChatPlan> {
  checkChatRequest(asAsked);
  const request = withFields(asAsked, { agent: callAgent(viewer, asAsked.agent) });
  const needs = needsOf(request);
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
  let prompt: PromptSize;
  if (request.sessionId !== undefined) {
    ({ session, history } = await deps.sessions.resume(viewer, request.sessionId));
    if (request.providerId && session.providerId && request.providerId !== session.providerId) {
      throw new BadUserInputError('A session keeps the provider it started with', 'providerId');
    }
    prompt = promptSize([...history, ...asked], request.options);
    const size = { promptTokens: promptEstimate(prompt), maxTokens };
    // The session keeps its provider and model; only before its first answer do preferences choose.
    route = deps.routes.plan(
      viewer,
      session.providerId ? { providerId: session.providerId, model: session.model, agent: session.agent, allowFallback: false, needs, size } : withFields(request, { needs, size }),
      config,
    );
  } else {
    prompt = promptSize(asked, request.options);
    route = deps.routes.plan(viewer, withFields(request, { needs, size: { promptTokens: promptEstimate(prompt), maxTokens } }), config);
    const firstQuestion = asked.find((m) => m.role === 'user');
    session = deps.sessions.draft(viewer, request.agent, firstQuestion && textOf(firstQuestion));
  }
  const messages = pairToolResults([...history, ...asked], history.length);
  const candidates = usableCandidates(route);
  return {
    viewer,
    request,
    prefs,
    session,
    newSession: request.sessionId === undefined,
    asked: messages.slice(history.length),
    messages,
    firstChoice: route[0],
    candidates,
    prompt,
    promptEstimate: promptEstimate(prompt),
  };
}

function needsOf({ messages, options }: ChatRequest): Capability[] {
  const parts = messages.flatMap((message) => message.content);
  const needs: Capability[] = [];
  if ((options.tools?.length ?? 0) > 0 || parts.some((part) => part.type === 'tool-call' || part.type === 'tool-result')) needs.push('tools');
  if (parts.some((part) => part.type === 'image')) needs.push('vision');
  if (options.responseFormat && options.responseFormat.type !== 'text') needs.push('json');
  return needs;
}

/** What the prompt holds: its messages' text, tool calls and results, images, and the tools offered. */
function promptSize(messages: Message[], options: GenerationOptions): PromptSize {
  const size: PromptSize = { messages: messages.length, messageCharacters: 0, otherCharacters: 0, lowDetailImages: 0, otherImages: 0 };
  for (const message of messages) {
    for (const part of message.content) {
      if (part.type === 'text') size.messageCharacters += part.text.length;
      else if (part.type === 'tool-result') size.messageCharacters += part.content.length;
      else if (part.type === 'tool-call') {
        size.messageCharacters += part.call.arguments.length;
        size.otherCharacters += part.call.name.length;
      } else if (part.detail === 'low') size.lowDetailImages++;
      else size.otherImages++;
    }
  }
  for (const tool of options.tools ?? []) size.otherCharacters += tool.name.length + (tool.description?.length ?? 0) + JSON.stringify(tool.parameters).length;
  if (options.responseFormat?.type === 'json_schema') size.otherCharacters += JSON.stringify(options.responseFormat.schema).length;
  return size;
}

/** The prompt's tokens as reckoned before the call (what a reservation holds): four characters a token, framing, images. */
function promptEstimate(size: PromptSize): number {
  return (
    MESSAGE_OVERHEAD_TOKENS * size.messages +
    IMAGE_TOKENS.low * size.lowDetailImages +
    IMAGE_TOKENS.other * size.otherImages +
    tokensOfCharacters(size.messageCharacters + size.otherCharacters)
  );
}

/** Characters a token at the ends of PROMPT_RANGE: what providers' tokenizers give for ordinary text lies between. */
const CHARACTERS_PER_TOKEN = { fewest: 6, most: 2 };

/**
 * The prompt tokens a provider may count, at the least and at the most: the fewest are the messages' text at six
 * characters a token (no framing, no tools, no images); the most are every character at two a token, the
 * framing, and every image at the large-image estimate (some protocols ignore a low detail).
 */
export function promptRange(size: PromptSize): { fewest: number; most: number } {
  return {
    fewest: Math.floor(size.messageCharacters / CHARACTERS_PER_TOKEN.fewest),
    most:
      MESSAGE_OVERHEAD_TOKENS * size.messages +
      IMAGE_TOKENS.other * (size.lowDetailImages + size.otherImages) +
      Math.ceil((size.messageCharacters + size.otherCharacters) / CHARACTERS_PER_TOKEN.most),
  };
}
