// What a chat request must be before anything is routed or reserved: which
// parts each role may hold, every bound on what can grow (messages, tools,
// schemas, images, stop sequences), and the pairing of each tool result with
// the call it answers. Refusals are BAD_USER_INPUT naming the GraphQL field;
// other doors translate the field to their own parameter names.
import { BadUserInputError } from '../../errors.js';
import { isUuid } from '../../ids.js';
import { callerName, modelName } from '../../text-input.js';
import { MAX_OUTPUT_TOKENS } from '../limits/output-allowance.js';
import type { ChatRequest, GenerationOptions, JsonSchema, Message, Part, Role } from './canonical.js';

export const MAX_MESSAGES = 1000;
export const MAX_TOOLS = 128;
export const MAX_STOP_SEQUENCES = 4;
export const MAX_IMAGES = 50;
/** Decoded bytes of one image (Anthropic's limit, the strictest of the three). */
export const MAX_IMAGE_BYTES = 5 * 1024 * 1024;
/** Characters of a JSON document the caller gives: a tool's parameters, a response schema, a call's arguments. */
export const MAX_JSON_CHARACTERS = 100_000;
const MAX_STOP_CHARACTERS = 200;
const MAX_DESCRIPTION_CHARACTERS = 4096;
const MAX_URL_CHARACTERS = 4096;

const TOOL_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Tool call ids the gateway gives out and takes back (provider ids are kept when they fit it). */
export const TOOL_CALL_ID = /^[A-Za-z0-9_-]{1,64}$/;
const DATA_URL = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/]*={0,2})$/;
const DETAILS = new Set(['low', 'high', 'auto']);

/** Which parts each role may hold. */
const ALLOWED_PARTS: Record<Role, ReadonlySet<Part['type']>> = {
  system: new Set(['text']),
  user: new Set(['text', 'image']),
  assistant: new Set(['text', 'tool-call']),
  tool: new Set(['tool-result']),
};

export function checkChatRequest(request: ChatRequest): void {
  const { messages } = request;
  if (messages.length === 0) throw new BadUserInputError('messages must not be empty', 'messages');
  if (messages.length > MAX_MESSAGES) throw new BadUserInputError(`At most ${MAX_MESSAGES} messages per call`, 'messages');
  let images = 0;
  messages.forEach((message, i) => {
    images += checkMessage(message, `messages[${i}]`);
  });
  if (images > MAX_IMAGES) throw new BadUserInputError(`At most ${MAX_IMAGES} images per call`, 'messages');
  if (request.sessionId !== undefined && !isUuid(request.sessionId)) throw new BadUserInputError('sessionId must be the id of a session this API gave out', 'sessionId');
  checkOptions(request.options);
  if (request.model !== undefined) modelName(request.model, 'model');
  if (request.agent !== undefined) callerName(request.agent, 'agent');
  if (request.operation !== undefined) callerName(request.operation, 'operation');
}

/** Returns the message's image count. */
function checkMessage(message: Message, where: string): number {
  const allowed = ALLOWED_PARTS[message.role];
  if (message.content.length === 0) throw new BadUserInputError(`${where}: content is required unless parts or toolCalls are given`, 'messages');
  if (message.role === 'tool' && (message.content[0].type !== 'tool-result' || message.content.length > 1)) {
    throw new BadUserInputError(`${where}: a TOOL message is the toolCallId of the call it answers and its result as content, nothing else`, 'messages');
  }
  let images = 0;
  for (const part of message.content) {
    if (!allowed.has(part.type)) throw new BadUserInputError(`${where}: a ${message.role.toUpperCase()} message cannot hold ${describe(part)}`, 'messages');
    if (part.type === 'image') {
      checkImage(part.url, part.detail, where);
      images++;
    } else if (part.type === 'tool-call') {
      const { id, name, arguments: args } = part.call;
      if (!TOOL_CALL_ID.test(id)) throw new BadUserInputError(`${where}: a tool call id must match ${TOOL_CALL_ID.source}`, 'messages');
      if (!TOOL_NAME.test(name)) throw new BadUserInputError(`${where}: a tool name must match ${TOOL_NAME.source}`, 'messages');
      if (args.length > MAX_JSON_CHARACTERS || !isJsonObjectText(args)) {
        throw new BadUserInputError(`${where}: a tool call's arguments must be a JSON object of at most ${MAX_JSON_CHARACTERS} characters`, 'messages');
      }
    } else if (part.type === 'tool-result' && !TOOL_CALL_ID.test(part.callId)) {
      throw new BadUserInputError(`${where}: toolCallId must match ${TOOL_CALL_ID.source}`, 'messages');
    }
  }
  return images;
}

function describe(part: Part): string {
  return { text: 'text', image: 'images', 'tool-call': 'tool calls', 'tool-result': 'a tool result' }[part.type];
}

function checkImage(url: string, detail: string | undefined, where: string): void {
  if (detail !== undefined && !DETAILS.has(detail)) throw new BadUserInputError(`${where}: detail must be "low", "high" or "auto"`, 'messages');
  const data = DATA_URL.exec(url);
  if (data) {
    if (decodedLength(data[2]) > MAX_IMAGE_BYTES) throw new BadUserInputError(`${where}: an image may be at most ${MAX_IMAGE_BYTES} bytes`, 'messages');
    return;
  }
  if (url.length <= MAX_URL_CHARACTERS && URL.canParse(url) && new URL(url).protocol === 'https:') return;
  throw new BadUserInputError(
    `${where}: imageUrl must be an https URL of at most ${MAX_URL_CHARACTERS} characters or a data: URL of a PNG, JPEG, GIF or WebP image in base64`,
    'messages',
  );
}

function decodedLength(base64: string): number {
  return Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0);
}

function checkOptions(options: GenerationOptions): void {
  if (options.temperature !== undefined && !(options.temperature >= 0 && options.temperature <= 2))
    throw new BadUserInputError('temperature must be between 0 and 2', 'temperature');
  if (options.topP !== undefined && !(options.topP > 0 && options.topP <= 1)) throw new BadUserInputError('topP must be greater than 0 and at most 1', 'topP');
  if (options.maxTokens !== undefined && !(Number.isInteger(options.maxTokens) && options.maxTokens >= 1 && options.maxTokens <= MAX_OUTPUT_TOKENS)) {
    throw new BadUserInputError(`maxTokens must be a whole number from 1 to ${MAX_OUTPUT_TOKENS}`, 'maxTokens');
  }
  if (options.stop !== undefined) {
    if (options.stop.length > MAX_STOP_SEQUENCES) throw new BadUserInputError(`At most ${MAX_STOP_SEQUENCES} stop sequences`, 'stop');
    if (options.stop.some((stop) => stop.length < 1 || stop.length > MAX_STOP_CHARACTERS))
      throw new BadUserInputError(`A stop sequence must be 1 to ${MAX_STOP_CHARACTERS} characters`, 'stop');
  }
  const tools = options.tools ?? [];
  if (tools.length > MAX_TOOLS) throw new BadUserInputError(`At most ${MAX_TOOLS} tools per call`, 'tools');
  const names = new Set<string>();
  for (const [i, tool] of tools.entries()) {
    if (!TOOL_NAME.test(tool.name)) throw new BadUserInputError(`tools[${i}]: name must match ${TOOL_NAME.source}`, 'tools');
    if (names.has(tool.name)) throw new BadUserInputError(`tools[${i}]: the name "${tool.name}" is used twice`, 'tools');
    names.add(tool.name);
    if (tool.description !== undefined && tool.description.length > MAX_DESCRIPTION_CHARACTERS) {
      throw new BadUserInputError(`tools[${i}]: description must be at most ${MAX_DESCRIPTION_CHARACTERS} characters`, 'tools');
    }
    checkObjectSchema(tool.parameters, `tools[${i}].parameters`, 'tools');
  }
  const choice = options.toolChoice;
  if (choice?.type === 'tool' && !names.has(choice.name)) throw new BadUserInputError('toolChoice names a tool that is not in tools', 'toolChoice');
  if (choice?.type === 'required' && tools.length === 0) throw new BadUserInputError('toolChoice REQUIRED needs tools', 'toolChoice');
  const format = options.responseFormat;
  if (format?.type === 'json_schema') {
    if (!TOOL_NAME.test(format.name)) throw new BadUserInputError(`responseFormat.name must match ${TOOL_NAME.source}`, 'responseFormat');
    checkObjectSchema(format.schema, 'responseFormat.schema', 'responseFormat');
    // Anthropic answers JSON through a tool of this name, beside the caller's.
    if (names.has(format.name)) throw new BadUserInputError('responseFormat.name must differ from every tool name', 'responseFormat');
  }
}

/** A JSON Schema of an object: a JSON object whose `type`, when given, is "object". */
function checkObjectSchema(schema: JsonSchema | undefined, where: string, field: string): void {
  const isObject = typeof schema === 'object' && schema !== null && !Array.isArray(schema);
  if (!isObject || (schema.type !== undefined && schema.type !== 'object'))
    throw new BadUserInputError(`${where} must be a JSON Schema of an object ({"type": "object", ...})`, field);
  if (JSON.stringify(schema).length > MAX_JSON_CHARACTERS) throw new BadUserInputError(`${where} must be at most ${MAX_JSON_CHARACTERS} characters of JSON`, field);
}

function isJsonObjectText(text: string): boolean {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

/**
 * The conversation a provider is sent (history, then this call's messages) must pair its tool calls:
 * the TOOL messages right after an ASSISTANT message with tool calls answer those calls, each once, and
 * only those. Fills in each result's tool name, and puts the results in the order of their calls (Gemini
 * pairs a result with its call by name and order, not by id).
 */
export function pairToolResults(messages: Message[], historyLength: number): Message[] {
  const at = (i: number) => (i >= historyLength ? `messages[${i - historyLength}]` : 'the session history');
  const paired: Message[] = [];
  /** The calls of the last ASSISTANT message not answered yet: id → [name, position]. */
  let open = new Map<string, [string, number]>();
  let results: Array<[number, Message]> = [];
  const closeTurn = (where: string) => {
    if (open.size > 0) throw new BadUserInputError(`${where}: the tool calls before it need a TOOL message each first (${[...open.keys()].join(', ')})`, 'messages');
    paired.push(...results.sort(([a], [b]) => a - b).map(([, message]) => message));
    results = [];
  };
  messages.forEach((message, i) => {
    if (message.role === 'tool') {
      const part = message.content[0] as Extract<Part, { type: 'tool-result' }>;
      const call = open.get(part.callId);
      if (!call) throw new BadUserInputError(`${at(i)}: toolCallId "${part.callId}" answers no open tool call of the ASSISTANT message before it`, 'messages');
      open.delete(part.callId);
      results.push([call[1], { role: 'tool', content: [{ ...part, name: call[0] }] }]);
      return;
    }
    closeTurn(at(i));
    paired.push(message);
    const calls = message.content.filter((part) => part.type === 'tool-call').map((part) => part.call);
    open = new Map(calls.map((call, position) => [call.id, [call.name, position]]));
  });
  closeTurn('the last message');
  return paired;
}
