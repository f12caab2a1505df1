// The OpenAI door's pure translations, table-driven: request bodies → the canonical request (or the parameter
// a refusal names), the core's events → chunks, and each error code → OpenAI's status, type and code.
import { describe, expect, it } from 'vitest';
import { createChunkTranslator, readChatBody } from '../../src/doors/openai/openai-chat.translate.js';
import { readEmbeddingsBody } from '../../src/doors/openai/openai-embeddings.translate.js';
import { openAiError } from '../../src/doors/openai/openai-errors.js';
import { WireProblem } from '../../src/doors/openai/wire.js';
import { AppError, BadUserInputError, type ErrorCode } from '../../src/errors.js';
import type { ChatEvent } from '../../src/modules/chat/canonical.js';

const USER = { role: 'user', content: 'Hi' };

describe('readChatBody', () => {
  it.each([
    ['a string message', { messages: [USER] }, [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }]],
    [
      'developer as system',
      { messages: [{ role: 'developer', content: [{ type: 'text', text: 'Be brief' }] }] },
      [{ role: 'system', content: [{ type: 'text', text: 'Be brief' }] }],
    ],
    [
      'an image part',
      { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png', detail: 'low' } }] }] },
      [{ role: 'user', content: [{ type: 'image', url: 'https://x.test/a.png', detail: 'low' }] }],
    ],
    [
      'a tool loop',
      {
        messages: [
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'ok' }] },
        ],
      },
      [
        { role: 'assistant', content: [{ type: 'tool-call', call: { id: 'call_1', name: 'f', arguments: '{}' } }] },
        { role: 'tool', content: [{ type: 'tool-result', callId: 'call_1', name: '', content: 'ok' }] },
      ],
    ],
  ])('%s', (_name, body, messages) => {
    expect(readChatBody({ model: 'auto', ...body }).request.messages).toEqual(messages);
  });

  it('reads the options', () => {
    const call = readChatBody({
      model: 'auto',
      messages: [USER],
      stop: 'END',
      top_p: 0.5,
      max_tokens: 10,
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object' }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
      user: 'someone',
      seed: 1,
    });
    expect(call).toMatchObject({ stream: true, includeUsage: true, maxTokensParam: 'max_tokens' });
    expect(call.request.options).toEqual({
      stop: ['END'],
      topP: 0.5,
      maxTokens: 10,
      tools: [{ name: 'f', parameters: { type: 'object', properties: {} } }],
      toolChoice: { type: 'tool', name: 'f' },
      responseFormat: { type: 'json_schema', name: 'r', schema: { type: 'object' }, strict: true },
    });
  });

  it.each([
    [{ n: 2 }, 'n'],
    [{ model: 3 }, 'model'],
    [{ messages: 'Hi' }, 'messages'],
    [{ messages: [{ role: 'function', content: 'x' }] }, 'messages'],
    [{ messages: [{ role: 'user', content: [{ type: 'input_audio' }] }] }, 'messages'],
    [{ tools: [{ type: 'retrieval' }] }, 'tools'],
    [{ tool_choice: 'sometimes' }, 'tool_choice'],
    [{ response_format: { type: 'yaml' } }, 'response_format'],
    [{ stop: [1] }, 'stop'],
    [{ stream_options: { include_usage: 'yes' } }, 'stream_options'],
  ])('refuses %j naming %s', (body, param) => {
    const read = () => readChatBody({ model: 'auto', messages: [USER], ...body });
    expect(read).toThrow(WireProblem);
    expect(() => read()).toThrow(expect.objectContaining({ param }));
  });
});

describe('readEmbeddingsBody', () => {
  it.each([
    [{ input: 'a' }, { inputs: ['a'] }, false],
    [{ input: ['a', 'b'], dimensions: 4, encoding_format: 'base64' }, { inputs: ['a', 'b'], dimensions: 4 }, true],
  ])('%j', (body, request, base64) => {
    expect(readEmbeddingsBody({ model: 'auto', ...body })).toEqual({ model: 'auto', request, base64 });
  });

  it.each([
    [{ input: [[1, 2]] }, 'input'],
    [{ input: 'a', encoding_format: 'int8' }, 'encoding_format'],
  ])('refuses %j', (body, param) => {
    expect(() => readEmbeddingsBody({ model: 'auto', ...body })).toThrow(expect.objectContaining({ param }));
  });
});

describe('createChunkTranslator', () => {
  it('puts the role on the first delta, a call whole on its first piece, the finish and the usage on chunks of their own', () => {
    const translate = createChunkTranslator('chatcmpl-1', 1, true, 'max_tokens');
    const usage = { promptTokens: 3, cachedPromptTokens: 1, completionTokens: 2, reasoningTokens: 0, totalTokens: 5, costUsd: 0, usageSource: 'PROVIDER' as const };
    const events: ChatEvent[] = [
      { type: 'start', providerId: 'p', kind: 'OPENAI', model: 'm', sessionId: 's', fallback: false },
      { type: 'text', text: 'a', tokensSoFar: 1 },
      { type: 'tool-call', index: 0, id: 'call_1', name: 'f', argumentsDelta: '{"x"', tokensSoFar: 2 },
      { type: 'tool-call', index: 0, argumentsDelta: ':1}', tokensSoFar: 3 },
      { type: 'usage', usage, usageEventId: 'u' },
      { type: 'finish', reason: 'tool_calls' },
    ];
    const chunks = events.flatMap(translate) as Array<{ model: string; choices: Array<{ delta: unknown; finish_reason: string | null }>; usage?: unknown }>;
    expect(chunks.map((chunk) => chunk.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: 'a' },
      { tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"x"' } }] },
      { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] },
      {},
      null,
    ]);
    expect(chunks.map((chunk) => chunk.model)).toEqual(['m', 'm', 'm', 'm', 'm']);
    expect(chunks[3].choices[0].finish_reason).toBe('tool_calls');
    expect(chunks[4]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, prompt_tokens_details: { cached_tokens: 1 }, total_tokens: 5 } });
  });

  it('sends an error as {error} in OpenAI shape', () => {
    const translate = createChunkTranslator('chatcmpl-1', 1, false, 'max_tokens');
    expect(translate({ type: 'error', error: new AppError('PROVIDER_UNAVAILABLE', 'Down') })).toEqual([
      { error: { message: 'Down', type: 'server_error', code: 'provider_unavailable', param: null } },
    ]);
  });
});

describe('openAiError', () => {
  it.each([
    ['UNAUTHENTICATED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['BAD_USER_INPUT', 400],
    ['LIMIT_EXCEEDED', 429],
    ['RATE_LIMITED', 429],
    ['UPSTREAM_RATE_LIMITED', 429],
    ['INVALID_CREDENTIALS', 502],
    ['PROVIDER_UNAVAILABLE', 503],
    ['PROVIDER_REMOVED', 503],
    ['SERVICE_UNAVAILABLE', 503],
    ['INTERNAL', 500],
  ] as Array<[ErrorCode, number]>)('%s → %i', (code, status) => {
    expect(openAiError(new AppError(code, 'm')).status).toBe(status);
  });

  it.each([
    ['topP', 'max_tokens', 'top_p'],
    ['maxTokens', 'max_tokens', 'max_tokens'],
    ['maxTokens', 'max_completion_tokens', 'max_completion_tokens'],
    ['toolChoice', 'max_tokens', 'tool_choice'],
    ['inputs', 'max_tokens', 'input'],
    ['sessionId', 'max_tokens', null],
  ])('names field %s as %s', (field, maxTokensParam, param) => {
    expect(openAiError(new BadUserInputError('m', field), maxTokensParam).body.error.param).toBe(param);
  });
});
