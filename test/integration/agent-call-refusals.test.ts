// Bad agent-grade input is BAD_USER_INPUT naming the field, on chat and chatStream alike, and nothing goes
// upstream and nothing is written: role and part combinations, tool results that answer no call, tool names
// and schemas, the bounds on tools, stop sequences, images, and JSON output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, type ChatInputVars, streamOverWs } from '../testkit/chat.js';
import { Chat } from '../testkit/documents.js';
import { disposeAll, newOwner, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  // Room for an image over the 5 MiB bound in one request.
  [gw, sim] = await Promise.all([
    startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000', MAX_REQUEST_BODY_BYTES: String(8 * 1024 * 1024), WS_MAX_PAYLOAD_BYTES: String(8 * 1024 * 1024) }),
    startSimulator(),
  ]);
});
afterAll(disposeAll);

const ASK = { role: 'USER' as const, content: 'Hi' };
const TOOL = { name: 'lookup', parameters: { type: 'object', properties: { q: { type: 'string' } } } };
const CALL = { id: 'call_1', name: 'lookup', arguments: '{"q":"x"}' };
const png = (bytes: number) => `data:image/png;base64,${Buffer.alloc(bytes).toString('base64')}`;
const image = (imageUrl: string, detail?: string) => ({ role: 'USER' as const, parts: [{ type: 'IMAGE' as const, imageUrl, detail }] });

const CASES: Array<[string, Partial<ChatInputVars>, string]> = [
  // Roles and parts
  ['a message with no content, parts or tool calls', { messages: [{ role: 'USER' }] }, 'messages'],
  ['a TOOL message without toolCallId', { messages: [ASK, { role: 'ASSISTANT', toolCalls: [CALL] }, { role: 'TOOL', content: 'r' }] }, 'messages'],
  ['a SYSTEM message with tool calls', { messages: [{ role: 'SYSTEM', toolCalls: [CALL] }, ASK] }, 'messages'],
  ['a USER message with tool calls', { messages: [{ role: 'USER', toolCalls: [CALL] }] }, 'messages'],
  ['a USER message answering a call', { messages: [ASK, { role: 'ASSISTANT', toolCalls: [CALL] }, { role: 'USER', toolCallId: 'call_1', content: 'r' }] }, 'messages'],
  ['an ASSISTANT message with an image', { messages: [ASK, { role: 'ASSISTANT', parts: [{ type: 'IMAGE', imageUrl: png(4) }] }] }, 'messages'],
  ['a SYSTEM message with an image', { messages: [{ role: 'SYSTEM', parts: [{ type: 'IMAGE', imageUrl: png(4) }] }, ASK] }, 'messages'],
  // Tool loops
  ['a TOOL message answering no call', { messages: [ASK, { role: 'TOOL', toolCallId: 'call_1', content: 'r' }] }, 'messages'],
  ['a TOOL message answering another call', { messages: [ASK, { role: 'ASSISTANT', toolCalls: [CALL] }, { role: 'TOOL', toolCallId: 'call_2', content: 'r' }] }, 'messages'],
  [
    'a call answered twice',
    { messages: [ASK, { role: 'ASSISTANT', toolCalls: [CALL] }, { role: 'TOOL', toolCallId: 'call_1', content: 'r' }, { role: 'TOOL', toolCallId: 'call_1', content: 'r' }] },
    'messages',
  ],
  ['a call left unanswered', { messages: [ASK, { role: 'ASSISTANT', toolCalls: [CALL] }, ASK] }, 'messages'],
  [
    'a tool call id with other characters',
    { messages: [ASK, { role: 'ASSISTANT', toolCalls: [{ ...CALL, id: 'call 1' }] }, { role: 'TOOL', toolCallId: 'call 1', content: 'r' }] },
    'messages',
  ],
  [
    'tool call arguments that are not a JSON object',
    { messages: [ASK, { role: 'ASSISTANT', toolCalls: [{ ...CALL, arguments: '[1]' }] }, { role: 'TOOL', toolCallId: 'call_1', content: 'r' }] },
    'messages',
  ],
  // Tools
  ['a tool name with a space', { messages: [ASK], tools: [{ ...TOOL, name: 'look up' }] }, 'tools'],
  ['a tool name of 65 characters', { messages: [ASK], tools: [{ ...TOOL, name: 'a'.repeat(65) }] }, 'tools'],
  ['a tool name used twice', { messages: [ASK], tools: [TOOL, TOOL] }, 'tools'],
  ['parameters that are an array', { messages: [ASK], tools: [{ ...TOOL, parameters: [] }] }, 'tools'],
  ['parameters of a string schema', { messages: [ASK], tools: [{ ...TOOL, parameters: { type: 'string' } }] }, 'tools'],
  ['parameters over 100,000 characters', { messages: [ASK], tools: [{ ...TOOL, parameters: { type: 'object', description: 'x'.repeat(100_001) } }] }, 'tools'],
  ['129 tools', { messages: [ASK], tools: Array.from({ length: 129 }, (_, i) => ({ ...TOOL, name: `tool_${i}` })) }, 'tools'],
  ['a forced tool that is not offered', { messages: [ASK], tools: [TOOL], toolChoice: { name: 'other' } }, 'toolChoice'],
  ['a forced tool with a mode', { messages: [ASK], tools: [TOOL], toolChoice: { mode: 'NONE', name: 'lookup' } }, 'toolChoice'],
  ['REQUIRED without tools', { messages: [ASK], toolChoice: { mode: 'REQUIRED' } }, 'toolChoice'],
  // Options
  ['five stop sequences', { messages: [ASK], stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop'],
  ['an empty stop sequence', { messages: [ASK], stop: [''] }, 'stop'],
  ['topP of 0', { messages: [ASK], topP: 0 }, 'topP'],
  ['topP over 1', { messages: [ASK], topP: 1.5 }, 'topP'],
  ['a JSON_SCHEMA without a schema', { messages: [ASK], responseFormat: { type: 'JSON_SCHEMA', name: 'answer' } }, 'responseFormat'],
  ['a JSON_SCHEMA named like a tool', { messages: [ASK], tools: [TOOL], responseFormat: { type: 'JSON_SCHEMA', name: 'lookup', schema: { type: 'object' } } }, 'responseFormat'],
  ['a JSON_SCHEMA with a bad name', { messages: [ASK], responseFormat: { type: 'JSON_SCHEMA', name: 'an answer', schema: { type: 'object' } } }, 'responseFormat'],
  // Images
  ['an http image URL', { messages: [image('http://images.example/cat.png')] }, 'messages'],
  ['a data URL that is not an image', { messages: [image('data:text/plain;base64,aGk=')] }, 'messages'],
  ['an SVG data URL', { messages: [image('data:image/svg+xml;base64,PHN2Zz4=')] }, 'messages'],
  ['an unknown detail', { messages: [image(png(4), 'ultra')] }, 'messages'],
  ['an image over 5 MiB', { messages: [image(png(5 * 1024 * 1024 + 1))] }, 'messages'],
  ['51 images', { messages: [{ role: 'USER', parts: Array.from({ length: 51 }, () => ({ type: 'IMAGE' as const, imageUrl: png(4) })) }] }, 'messages'],
];

describe('agent-grade input refusals', () => {
  it.each(CASES)('refuses %s, naming the field, sending and writing nothing', async (_name, input, field) => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const full = { ...input, providerId: provider.id } as ChatInputVars;
    const result = await gw.execute(Chat, { input: full }, { token });
    expect(result.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    const streamed = await streamOverWs(gw, token, full);
    expect((streamed.errors as Array<{ extensions: unknown }>)?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
    expect(sim.requests.filter((request) => request.key === provider.key && request.method === 'POST')).toEqual([]);
    expect(await gw.db.prisma.usageEvent.count({ where: { workspaceId: workspace.id } })).toBe(0);
  });

  it('takes an image just under the bound, and 128 tools', async () => {
    const { token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token);
    const tools = Array.from({ length: 128 }, (_, i) => ({ ...TOOL, name: `tool_${i}` }));
    const result = await gw.execute(Chat, { input: { providerId: provider.id, messages: [image(png(5 * 1024 * 1024 - 3))], tools, toolChoice: { mode: 'NONE' } } }, { token });
    expect(result.errors).toBeUndefined();
  });
});
