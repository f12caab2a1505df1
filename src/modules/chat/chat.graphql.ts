import { BadUserInputError, notFound } from '../../errors.js';
import type { ProviderKind } from '../../generated/prisma/client.js';
import { builder } from '../../graphql/builder.js';
import { connectionType } from '../../graphql/connection.js';
import { microsToUsd } from '../../money.js';
import { ProviderKindEnum } from '../providers/provider.graphql.js';
import { UsageSourceEnum } from '../usage/usage.graphql.js';
import {
  type ChatAnswer,
  type ChatEvent,
  type ChatRequest,
  type GenerationOptions,
  type ImageDetail,
  type Message,
  type Part,
  type ReportedUsage,
  roleOfName,
  type ToolCall as ToolCallValue,
} from './canonical.js';
import type { CostEstimate as Estimate } from './cost-estimate.js';
import type { RouteCandidate as Candidate, Capability } from './route.service.js';

// The GraphQL front door: ChatInput → the core's canonical request, its events → ChatChunk (numbered), its answer → ChatResult.
const ChatRole = builder.enumType('ChatRole', { values: ['SYSTEM', 'USER', 'ASSISTANT', 'TOOL'] as const });
const ChatChunkType = builder.enumType('ChatChunkType', { values: ['START', 'TEXT', 'THINKING', 'TOOL_CALL', 'USAGE', 'DONE', 'ERROR'] as const });

type Chunk = { index: number } & (
  | { type: 'START'; providerId: string; kind: ProviderKind; model: string; sessionId: string; fallbackReason: string | null }
  | { type: 'TEXT' | 'THINKING'; delta: string; tokensSoFar: number }
  | { type: 'TOOL_CALL'; toolIndex: number; toolCallId?: string; toolName?: string; argumentsDelta: string; tokensSoFar: number }
  | { type: 'USAGE'; usage: ReportedUsage; usageEventId: string }
  | { type: 'DONE'; finishReason: string | null }
  | { type: 'ERROR'; errorCode: string; message: string }
);

export const TokenUsage = builder.objectRef<ReportedUsage>('TokenUsage').implement({
  fields: (t) => ({
    promptTokens: t.exposeInt('promptTokens'),
    cachedPromptTokens: t.exposeInt('cachedPromptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    reasoningTokens: t.exposeInt('reasoningTokens'),
    totalTokens: t.exposeInt('totalTokens'),
    costUsd: t.exposeFloat('costUsd'),
    usageSource: t.field({ type: UsageSourceEnum, resolve: (u) => u.usageSource }),
  }),
});

/** Reads a field that only some chunk types carry. */
const field = <K extends string>(chunk: Chunk, key: K) => ((chunk as Record<string, unknown>)[key] ?? null) as never;

const ChatChunk = builder.objectRef<Chunk>('ChatChunk').implement({
  fields: (t) => ({
    type: t.field({ type: ChatChunkType, resolve: (c) => c.type }),
    index: t.exposeInt('index', { description: '0, 1, 2, ... in order within one stream' }),
    delta: t.string({ nullable: true, resolve: (c) => field(c, 'delta') }),
    tokensSoFar: t.int({ nullable: true, description: 'Running completion-token estimate', resolve: (c) => field(c, 'tokensSoFar') }),
    providerId: t.id({ nullable: true, resolve: (c) => field(c, 'providerId') }),
    kind: t.field({ type: ProviderKindEnum, nullable: true, resolve: (c) => field(c, 'kind') }),
    model: t.string({ nullable: true, resolve: (c) => field(c, 'model') }),
    usage: t.field({ type: TokenUsage, nullable: true, resolve: (c) => field(c, 'usage') }),
    finishReason: t.string({ nullable: true, resolve: (c) => field(c, 'finishReason') }),
    errorCode: t.string({ nullable: true, resolve: (c) => field(c, 'errorCode') }),
    message: t.string({ nullable: true, resolve: (c) => field(c, 'message') }),
    usageEventId: t.id({ nullable: true, resolve: (c) => field(c, 'usageEventId') }),
    sessionId: t.id({ nullable: true, resolve: (c) => field(c, 'sessionId') }),
    fallbackReason: t.string({
      nullable: true,
      description: 'START after another provider was tried: the error code that left it (the chain of STARTs is the route taken)',
      resolve: (c) => field(c, 'fallbackReason'),
    }),
    toolIndex: t.int({ nullable: true, description: 'TOOL_CALL: which call of this answer (0, 1, ...) the piece belongs to', resolve: (c) => field(c, 'toolIndex') }),
    toolCallId: t.id({ nullable: true, description: 'TOOL_CALL: on the first piece of each call', resolve: (c) => field(c, 'toolCallId') }),
    toolName: t.string({ nullable: true, description: 'TOOL_CALL: on the first piece of each call', resolve: (c) => field(c, 'toolName') }),
    argumentsDelta: t.string({ nullable: true, description: "TOOL_CALL: the next piece of the call's JSON arguments", resolve: (c) => field(c, 'argumentsDelta') }),
  }),
});

const ToolCall = builder.objectRef<ToolCallValue>('ToolCall').implement({
  description: "A call the model made; ids are the gateway's own, stable across protocols",
  fields: (t) => ({ id: t.exposeID('id'), name: t.exposeString('name'), arguments: t.exposeString('arguments', { description: 'JSON text, as the model produced it' }) }),
});

const ChatResult = builder.objectRef<ChatAnswer>('ChatResult').implement({
  fields: (t) => ({
    content: t.exposeString('text'),
    providerId: t.exposeID('providerId'),
    kind: t.field({ type: ProviderKindEnum, resolve: (r) => r.kind }),
    model: t.exposeString('model'),
    finishReason: t.exposeString('finishReason', { nullable: true }),
    usage: t.field({ type: TokenUsage, resolve: (r) => r.usage }),
    usageEventId: t.exposeID('usageEventId'),
    sessionId: t.exposeID('sessionId', { nullable: true }),
    fellBack: t.exposeBoolean('fellBack', { description: 'True when a fallback provider answered' }),
    toolCalls: t.field({ type: [ToolCall], description: 'Empty unless finishReason is "tool_calls"', resolve: (r) => r.toolCalls }),
  }),
});

const RouteCandidate = builder.objectRef<Candidate>('RouteCandidate').implement({
  fields: (t) => ({
    providerId: t.id({ resolve: (c) => c.provider.id }),
    kind: t.field({ type: ProviderKindEnum, resolve: (c) => c.provider.kind }),
    model: t.exposeString('model'),
    reason: t.exposeString('reason'),
    usable: t.exposeBoolean('usable'),
    skippedBecause: t.exposeString('skippedBecause', { nullable: true }),
    expectedCostUsd: t.float({
      nullable: true,
      description:
        "What the call is expected to cost through this candidate at the catalog's price: its prompt estimate (four characters a token, plus framing and images) at the input price and 500 output tokens (fewer when maxTokens, the workspace's maxTokensPerRequest or the context window caps the answer) at the output price. resolveRoute, having no messages, prices a nominal call of 1,000 prompt tokens and 500 output tokens. Null when the catalog has no price for the model, and for embedding routes.",
      resolve: (c) => c.expectedCost && microsToUsd(c.expectedCost.micros),
    }),
    expectedTtftMs: t.float({
      nullable: true,
      description: "The provider's median time to first token over the health window, from this workspace's successful calls; null when none was measured",
      resolve: (c) => c.firstToken?.medianMs ?? null,
    }),
  }),
});

const CostEstimate = builder.objectRef<Estimate>('CostEstimate').implement({
  description:
    "What a chat with this input would cost, as a range, without calling anyone. low: the cheapest candidate the call may try, the prompt at the fewest tokens a provider may count (the messages' text at six characters a token, nothing for framing, tools or images) priced as if read from the provider's cache, and no output. high: the dearest such candidate, the prompt at the most tokens (every character at two a token, framing, 1,600 tokens an image) and the whole output allowance (maxTokens, else the workspace's maxTokensPerRequest or 4,096, within the context window), the most a call is billed for. Text with fewer characters a token than two (Chinese, Japanese) can count above high, and so can images on the models that bill an image as many more tokens (OpenAI's gpt-4o-mini and gpt-4.1 mini and nano count one at several thousand). Limits are not checked: a call they refuse costs nothing.",
  fields: (t) => ({
    lowUsd: t.float({ resolve: (e) => microsToUsd(e.lowMicros) }),
    highUsd: t.float({ resolve: (e) => microsToUsd(e.highMicros) }),
    candidates: t.field({
      type: [RouteCandidate],
      description: 'The candidates the call would try, in order (only the first when allowFallback is false)',
      resolve: (e) => e.candidates,
    }),
  }),
});

const RouteExplanation = builder.objectRef<{ candidates: Candidate[] }>('RouteExplanation').implement({
  description: 'The providers a chat with these inputs would try, in order',
  fields: (t) => ({ candidates: t.field({ type: [RouteCandidate], resolve: (r) => r.candidates }) }),
});

const ChatSession = builder.prismaObject('ChatSession', {
  fields: (t) => ({
    id: t.exposeID('id'),
    title: t.exposeString('title', { nullable: true }),
    providerId: t.exposeID('providerId', { nullable: true, description: 'The selection the session keeps for its lifetime' }),
    kind: t.field({ type: ProviderKindEnum, nullable: true, resolve: (s) => s.kind }),
    model: t.exposeString('model', { nullable: true }),
    agent: t.exposeString('agent', { nullable: true }),
    messageCount: t.exposeInt('messageCount'),
    totalTokens: t.field({ type: 'SafeInt', resolve: (s) => s.totalTokens }),
    costUsd: t.float({ resolve: (s) => microsToUsd(s.costMicros) }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    lastActiveAt: t.expose('lastActiveAt', { type: 'DateTime' }),
  }),
});
const ChatSessionConnection = connectionType('ChatSession', ChatSession);

const ContentPartType = builder.enumType('ContentPartType', { values: ['TEXT', 'IMAGE'] as const });
const ContentPartInput = builder.inputType('ContentPartInput', {
  fields: (t) => ({
    type: t.field({ type: ContentPartType, required: true }),
    text: t.string({ description: 'TEXT' }),
    imageUrl: t.string({ description: "IMAGE: an https URL or a data: URL (base64); the gateway passes it in each protocol's form" }),
    detail: t.string({ description: 'IMAGE: "low" | "high" | "auto", where the protocol has it' }),
  }),
});

const ToolCallInput = builder.inputType('ToolCallInput', {
  fields: (t) => ({
    id: t.id({ required: true }),
    name: t.string({ required: true }),
    arguments: t.string({ required: true, description: 'JSON text, as the model produced it' }),
  }),
});

const ChatMessageInput = builder.inputType('ChatMessageInput', {
  fields: (t) => ({
    role: t.field({ type: ChatRole, required: true }),
    content: t.string({ description: 'Plain text; required unless parts or toolCalls are given' }),
    parts: t.field({ type: [ContentPartInput], description: 'USER: text and images, in order (instead of content)' }),
    toolCalls: t.field({ type: [ToolCallInput], description: 'ASSISTANT: the tool calls the model made, sent back in a tool loop' }),
    toolCallId: t.id({ description: 'TOOL: the call this message answers (content is the result)' }),
  }),
});

const ToolInput = builder.inputType('ToolInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: '^[A-Za-z0-9_-]{1,64}$' }),
    description: t.string(),
    parameters: t.field({ type: 'JSON', required: true, description: 'JSON Schema of the arguments (an object schema)' }),
  }),
});

const ToolChoiceMode = builder.enumType('ToolChoiceMode', { values: ['AUTO', 'NONE', 'REQUIRED'] as const });
const ToolChoiceInput = builder.inputType('ToolChoiceInput', {
  fields: (t) => ({ mode: t.field({ type: ToolChoiceMode, defaultValue: 'AUTO' }), name: t.string({ description: 'Force this one tool' }) }),
});

const ResponseFormatType = builder.enumType('ResponseFormatType', { values: ['TEXT', 'JSON_OBJECT', 'JSON_SCHEMA'] as const });
const ResponseFormatInput = builder.inputType('ResponseFormatInput', {
  fields: (t) => ({
    type: t.field({ type: ResponseFormatType, required: true }),
    name: t.string(),
    schema: t.field({ type: 'JSON' }),
    strict: t.boolean(),
  }),
});

const ChatInput = builder.inputType('ChatInput', {
  fields: (t) => ({
    providerId: t.id({ description: "None: the agent's preference, else the workspace default" }),
    model: t.string({ description: "None: the provider's default model" }),
    agent: t.string({ description: 'Agent type, for preferences and usage grouping' }),
    operation: t.string({ description: 'Free tag for usage grouping' }),
    sessionId: t.id({ description: 'Continue a chat session' }),
    messages: t.field({ type: [ChatMessageInput], required: true }),
    temperature: t.float(),
    maxTokens: t.int(),
    allowFallback: t.boolean({ defaultValue: true }),
    topP: t.float(),
    stop: t.stringList({ description: 'At most 4' }),
    tools: t.field({ type: [ToolInput], description: 'At most 128' }),
    toolChoice: t.field({ type: ToolChoiceInput }),
    responseFormat: t.field({ type: ResponseFormatInput }),
  }),
});

type ChatInputValue = typeof ChatInput.$inferInput;
type MessageInput = typeof ChatMessageInput.$inferInput;

function toChatRequest(input: ChatInputValue): ChatRequest {
  return {
    messages: input.messages.map(toMessage),
    options: toOptions(input),
    providerId: input.providerId ?? undefined,
    model: input.model ?? undefined,
    agent: input.agent ?? undefined,
    operation: input.operation ?? undefined,
    sessionId: input.sessionId ?? undefined,
    allowFallback: input.allowFallback !== false,
  };
}

/** Shapes only: which parts a role may hold, and every bound, the core checks (chat-checks.ts). */
function toMessage(input: MessageInput): Message {
  const role = roleOfName(input.role);
  const content: Part[] = [];
  // A TOOL message's content is its result; anything else it carries is refused by the core's checks.
  if (input.toolCallId != null) content.push({ type: 'tool-result', callId: input.toolCallId, name: '', content: input.content ?? '' });
  else if (input.content != null) content.push({ type: 'text', text: input.content });
  for (const part of input.parts ?? []) {
    if (part.type === 'TEXT') content.push({ type: 'text', text: part.text ?? '' });
    else content.push({ type: 'image', url: part.imageUrl ?? '', ...(part.detail != null ? { detail: part.detail as ImageDetail } : {}) });
  }
  for (const call of input.toolCalls ?? []) content.push({ type: 'tool-call', call: { id: call.id, name: call.name, arguments: call.arguments } });
  return { role, content };
}

function toOptions(input: ChatInputValue): GenerationOptions {
  const options: GenerationOptions = {};
  if (input.temperature != null) options.temperature = input.temperature;
  if (input.topP != null) options.topP = input.topP;
  if (input.maxTokens != null) options.maxTokens = input.maxTokens;
  if (input.stop != null) options.stop = input.stop;
  if (input.tools != null) {
    options.tools = input.tools.map((tool) => ({
      name: tool.name,
      ...(tool.description != null ? { description: tool.description } : {}),
      parameters: tool.parameters as Record<string, unknown>,
    }));
  }
  const choice = input.toolChoice;
  if (choice != null) {
    if (choice.name != null && choice.mode !== 'AUTO') throw new BadUserInputError('toolChoice takes a name (force that tool) or a mode, not both', 'toolChoice');
    options.toolChoice = choice.name != null ? { type: 'tool', name: choice.name } : { type: choice.mode === 'NONE' ? 'none' : choice.mode === 'REQUIRED' ? 'required' : 'auto' };
  }
  const format = input.responseFormat;
  if (format != null) {
    options.responseFormat =
      format.type === 'JSON_SCHEMA'
        ? { type: 'json_schema', name: format.name ?? 'response', schema: format.schema as Record<string, unknown>, strict: format.strict === true }
        : { type: format.type === 'JSON_OBJECT' ? 'json_object' : 'text' };
  }
  return options;
}

/** The core's events as numbered chunks. */
async function* toChunks(events: AsyncIterable<ChatEvent>): AsyncGenerator<Chunk> {
  let index = 0;
  for await (const event of events) {
    switch (event.type) {
      case 'start':
        yield {
          index: index++,
          type: 'START',
          providerId: event.providerId,
          kind: event.kind,
          model: event.model,
          sessionId: event.sessionId,
          fallbackReason: event.fallbackReason ?? null,
        };
        break;
      case 'text':
      case 'thinking':
        yield { index: index++, type: event.type === 'text' ? 'TEXT' : 'THINKING', delta: event.text, tokensSoFar: event.tokensSoFar };
        break;
      case 'tool-call':
        yield {
          index: index++,
          type: 'TOOL_CALL',
          toolIndex: event.index,
          toolCallId: event.id,
          toolName: event.name,
          argumentsDelta: event.argumentsDelta,
          tokensSoFar: event.tokensSoFar,
        };
        break;
      case 'usage':
        yield { index: index++, type: 'USAGE', usage: event.usage, usageEventId: event.usageEventId };
        break;
      case 'finish':
        yield { index: index++, type: 'DONE', finishReason: event.reason };
        break;
      case 'error':
        yield { index: index++, type: 'ERROR', errorCode: event.error.code, message: event.error.message };
        break;
    }
  }
}

const RouteNeed = builder.enumType('RouteNeed', {
  description:
    'What a call needs of a model: TOOLS (tools offered or tool messages), VISION (images), JSON (a responseFormat other than TEXT; checked on re-ranked routes only, as a chat checks it), EMBEDDINGS (an embed call, routed by the embedding preferences)',
  values: ['TOOLS', 'VISION', 'JSON', 'EMBEDDINGS'] as const,
});

builder.queryFields((t) => ({
  resolveRoute: t.withAuth({ authenticated: true }).field({
    type: RouteExplanation,
    description:
      "What a chat (or, needing EMBEDDINGS, an embed call) with these inputs would try, and why. Having no messages, it prices each candidate for a nominal call of 1,000 prompt tokens and 500 output tokens (fewer when the workspace's maxTokensPerRequest is lower), and ranks CHEAPEST routes by that",
    args: { agent: t.arg.string(), providerId: t.arg.id(), model: t.arg.string(), needs: t.arg({ type: [RouteNeed] }) },
    resolve: async (_root, args, context) => ({
      candidates: await context.services.routes.resolve(context.viewer, {
        agent: args.agent,
        providerId: args.providerId,
        model: args.model,
        needs: args.needs?.map((need) => need.toLowerCase() as Capability),
      }),
    }),
  }),
  estimateCost: t.withAuth({ authenticated: true }).field({
    type: CostEstimate,
    description: 'The expected cost range of this chat on its route, without calling anyone: refused as the chat would refuse it (its input, no usable provider)',
    args: { input: t.arg({ type: ChatInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.estimateCost(context.viewer, toChatRequest(input)),
  }),
  sessions: t.withAuth({ authenticated: true }).field({
    type: ChatSessionConnection,
    description: "The caller's own sessions, most recently active first",
    args: { first: t.arg.int({ defaultValue: 50 }), after: t.arg.string() },
    resolve: (_root, args, context) => context.services.sessions.list(context.viewer, args.first ?? 50, args.after),
  }),
  session: t.withAuth({ authenticated: true }).field({
    type: ChatSession,
    nullable: true,
    description: "NOT_FOUND unless it is one of the caller's own",
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, context) => (await context.services.sessions.get(context.viewer, args.id)) ?? notFound('Session'),
  }),
}));

builder.mutationField('chat', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: ChatResult,
    args: { input: t.arg({ type: ChatInput, required: true }) },
    resolve: (_root, { input }, context) => context.services.chat.complete(context.viewer, toChatRequest(input), context.signal),
  }),
);

builder.subscriptionField('chatStream', (t) =>
  t.withAuth({ authenticated: true }).field({
    type: ChatChunk,
    args: { input: t.arg({ type: ChatInput, required: true }) },
    subscribe: async (_root, { input }, context) => toChunks(await context.services.chat.stream(context.viewer, toChatRequest(input), context.signal)),
    resolve: (chunk) => chunk,
  }),
);
