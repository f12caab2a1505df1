// OpenAI Chat Completions ↔ the chat core's canonical model: a request body → ChatRequest (shapes only: every
// bound is the core's, chat-checks.ts), the core's answer → a chat.completion, its events → chat.completion.chunk
// objects. Parameters the core has no use for (penalties, seed, logprobs, metadata, `user`, ...) are accepted
// and dropped; `user` in particular is stored nowhere.
import type { ChatAnswer, ChatEvent, ChatRequest, GenerationOptions, ImageDetail, Message, Part, ReportedUsage, ToolChoice } from '../../modules/chat/canonical.js';
import { openAiError } from './openai-errors.js';
import { arrayAt, booleanAt, type Json, numberAt, objectAt, stringAt, WireProblem } from './wire.js';

/** A chat completion as the door hands it on: the canonical request (but for the model, resolved apart) and how to answer. */
export interface OpenAiChatCall {
  model: string;
  request: Omit<ChatRequest, 'providerId' | 'model' | 'allowFallback'>;
  stream: boolean;
  includeUsage: boolean;
  /** Which of max_tokens and max_completion_tokens the caller sent, for errors that name it. */
  maxTokensParam: string;
}

const ROLES: Record<string, Message['role']> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'tool' };
const FINISH_REASONS = new Set(['stop', 'length', 'tool_calls', 'content_filter']);

export function readChatBody(body: Json): OpenAiChatCall {
  const n = numberAt(body, 'n');
  if (n !== undefined && n !== 1) throw new WireProblem('Only n = 1 is supported', 'n');
  const maxTokensParam = body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  const options: GenerationOptions = {};
  const temperature = numberAt(body, 'temperature');
  if (temperature !== undefined) options.temperature = temperature;
  const topP = numberAt(body, 'top_p');
  if (topP !== undefined) options.topP = topP;
  const maxTokens = numberAt(body, maxTokensParam);
  if (maxTokens !== undefined) options.maxTokens = maxTokens;
  if (body.stop != null) options.stop = typeof body.stop === 'string' ? [body.stop] : arrayAt(body, 'stop').map((stop) => stringOf(stop, 'stop'));
  if (body.tools != null) options.tools = arrayAt(body, 'tools').map(toolOf);
  if (body.tool_choice != null) options.toolChoice = toolChoiceOf(body.tool_choice);
  if (body.response_format != null) options.responseFormat = responseFormatOf(objectAt(body, 'response_format'));
  const streamOptions = body.stream_options == null ? {} : objectAt(body, 'stream_options');
  return {
    model: stringAt(body, 'model', true),
    request: { messages: arrayAt(body, 'messages').map(messageOf), options },
    stream: booleanAt(body, 'stream') ?? false,
    includeUsage: booleanAt(streamOptions, 'include_usage', 'stream_options') ?? false,
    maxTokensParam,
  };
}

function stringOf(value: unknown, param: string): string {
  if (typeof value !== 'string') throw new WireProblem(`${param} must hold strings`, param);
  return value;
}

function objectOf(value: unknown, param: string, what: string): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new WireProblem(`${what} must be an object`, param);
  return value as Json;
}

function messageOf(value: unknown, i: number): Message {
  const where = `messages[${i}]`;
  const message = objectOf(value, 'messages', where);
  const role = ROLES[String(message.role)];
  if (!role) throw new WireProblem(`${where}.role must be system, developer, user, assistant or tool`, 'messages');
  if (role === 'tool') {
    const callId = stringAt(message, 'tool_call_id', true, 'messages');
    return { role, content: [{ type: 'tool-result', callId, name: '', content: textOf(message.content, where) }] };
  }
  const content: Part[] = [];
  if (typeof message.content === 'string') {
    if (message.content !== '' || message.tool_calls == null) content.push({ type: 'text', text: message.content });
  } else if (message.content != null) {
    if (!Array.isArray(message.content)) throw new WireProblem(`${where}.content must be a string or an array of parts`, 'messages');
    for (const part of message.content) content.push(partOf(part, where));
  }
  if (role === 'assistant' && message.tool_calls != null) {
    if (!Array.isArray(message.tool_calls)) throw new WireProblem(`${where}.tool_calls must be an array`, 'messages');
    for (const call of message.tool_calls) {
      const fn = objectAt(objectOf(call, 'messages', `${where}.tool_calls[]`), 'function', 'messages');
      content.push({
        type: 'tool-call',
        call: {
          id: stringAt(objectOf(call, 'messages', where), 'id', true, 'messages'),
          name: stringAt(fn, 'name', true, 'messages'),
          arguments: stringAt(fn, 'arguments', true, 'messages'),
        },
      });
    }
  }
  return { role, content };
}

function partOf(value: unknown, where: string): Part {
  const part = objectOf(value, 'messages', `${where}.content[]`);
  if (part.type === 'text' || part.type === 'refusal') return { type: 'text', text: stringAt(part, part.type, true, 'messages') };
  if (part.type === 'image_url') {
    const image = typeof part.image_url === 'string' ? { url: part.image_url } : objectAt(part, 'image_url', 'messages');
    const detail = stringAt(image, 'detail', false, 'messages');
    return { type: 'image', url: stringAt(image, 'url', true, 'messages'), ...(detail !== undefined ? { detail: detail as ImageDetail } : {}) };
  }
  throw new WireProblem(`${where}: content parts of type text and image_url are supported`, 'messages');
}

/** A tool message's or a text-only content: a string or text parts. */
function textOf(content: unknown, where: string): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new WireProblem(`${where}.content must be a string or an array of text parts`, 'messages');
  return content.map((part) => stringAt(objectOf(part, 'messages', `${where}.content[]`), 'text', true, 'messages')).join('');
}

function toolOf(value: unknown): NonNullable<GenerationOptions['tools']>[number] {
  const tool = objectOf(value, 'tools', 'tools[]');
  if (tool.type !== 'function') throw new WireProblem('tools: only tools of type "function" are supported', 'tools');
  const fn = objectAt(tool, 'function', 'tools');
  const description = stringAt(fn, 'description', false, 'tools');
  return {
    name: stringAt(fn, 'name', true, 'tools'),
    ...(description !== undefined ? { description } : {}),
    parameters: fn.parameters == null ? { type: 'object', properties: {} } : objectAt(fn, 'parameters', 'tools'),
  };
}

function toolChoiceOf(value: unknown): ToolChoice {
  if (value === 'auto' || value === 'none' || value === 'required') return { type: value };
  const choice = objectOf(value, 'tool_choice', 'tool_choice');
  if (choice.type === 'function') return { type: 'tool', name: stringAt(objectAt(choice, 'function', 'tool_choice'), 'name', true, 'tool_choice') };
  throw new WireProblem('tool_choice must be "auto", "none", "required" or {"type": "function", "function": {"name": ...}}', 'tool_choice');
}

function responseFormatOf(format: Json): NonNullable<GenerationOptions['responseFormat']> {
  if (format.type === 'text' || format.type === 'json_object') return { type: format.type };
  if (format.type === 'json_schema') {
    const spec = objectAt(format, 'json_schema', 'response_format');
    return {
      type: 'json_schema',
      name: stringAt(spec, 'name', false, 'response_format') ?? 'response',
      schema: objectAt(spec, 'schema', 'response_format'),
      strict: booleanAt(spec, 'strict', 'response_format') ?? false,
    };
  }
  throw new WireProblem('response_format.type must be text, json_object or json_schema', 'response_format');
}

export function finishReasonOf(reason: string | null): string {
  return reason !== null && FINISH_REASONS.has(reason) ? reason : 'stop';
}

export function usageOf(usage: ReportedUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.totalTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedPromptTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

export function completionOf(answer: ChatAnswer, id: string, created: number) {
  const toolCalls = answer.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
  return {
    id,
    object: 'chat.completion',
    created,
    model: answer.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: answer.text === '' && toolCalls.length > 0 ? null : answer.text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: finishReasonOf(answer.finishReason),
      },
    ],
    usage: usageOf(answer.usage),
  };
}

/**
 * The chunks each of the core's events becomes, in order: the role on the first delta, tool calls by index
 * (id, type and name on a call's first piece), the finish reason on a chunk of its own, then the usage in a
 * chunk with no choices when the caller asked for it; an error as `{error}`. Thinking goes out as
 * `reasoning_content`, where DeepSeek-style clients look for it.
 */
export function createChunkTranslator(id: string, created: number, includeUsage: boolean, maxTokensParam: string) {
  let model = '';
  let roleSent = false;
  let usage: ReportedUsage | undefined;
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id, object: 'chat.completion.chunk', created, model, system_fingerprint: null, choices, ...extra });
  const delta = (fields: Record<string, unknown>) => {
    const withRole = roleSent ? fields : { role: 'assistant', ...fields };
    roleSent = true;
    return chunk([{ index: 0, delta: withRole, logprobs: null, finish_reason: null }]);
  };
  return (event: ChatEvent): unknown[] => {
    switch (event.type) {
      case 'start':
        model = event.model;
        return [];
      case 'text':
        return [delta({ content: event.text })];
      case 'thinking':
        return [delta({ reasoning_content: event.text })];
      case 'tool-call': {
        const first = event.name !== undefined ? { id: event.id, type: 'function', function: { name: event.name, arguments: event.argumentsDelta } } : undefined;
        return [delta({ tool_calls: [{ index: event.index, ...(first ?? { function: { arguments: event.argumentsDelta } }) }] })];
      }
      case 'usage':
        usage = event.usage;
        return [];
      case 'finish': {
        const finish = chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finishReasonOf(event.reason) }]);
        return includeUsage && usage ? [finish, chunk([], { usage: usageOf(usage) })] : [finish];
      }
      case 'error':
        return [openAiError(event.error, maxTokensParam).body];
    }
  };
}
