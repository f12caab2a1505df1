// The simulator's Gemini protocol through the real @google/generative-ai SDK:
// function calls (no id, whole in one streamed chunk), function responses,
// JSON output, embeddings, and the requests Gemini refuses with a 400.
import { type FunctionDeclaration, GoogleGenerativeAI, type ModelParams, SchemaType } from '@google/generative-ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embeddingOf } from '../../src/simulator/model.js';
import { type Simulator, startSimulator } from '../../src/simulator/simulator.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

const weather: FunctionDeclaration = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: SchemaType.OBJECT, properties: { city: { type: SchemaType.STRING }, days: { type: SchemaType.INTEGER } }, required: ['city'] },
};
const time: FunctionDeclaration = { name: 'get_time', description: 'The time now' };

const model = (params: Partial<ModelParams> = {}, key = 'AIza-sim') =>
  new GoogleGenerativeAI(key).getGenerativeModel({ model: 'gemini-2.0-flash', ...params }, { baseUrl: sim.baseUrls.gemini });
const lastBody = () => sim.requests.at(-1)?.body as Record<string, unknown>;

describe('function calls', () => {
  it('calls an offered function: a functionCall part with its args and no id, finishReason STOP', async () => {
    const { response } = await model({ tools: [{ functionDeclarations: [weather] }] }).generateContent('Weather in Paris?');
    expect(response.functionCalls()).toEqual([{ name: 'get_weather', args: { city: 'sample', days: 1 } }]);
    expect(response.candidates?.[0].finishReason).toBe('STOP');
    expect(response.candidates?.[0].content.parts[0].functionCall).not.toHaveProperty('id');
    expect(response.usageMetadata?.candidatesTokenCount).toBeGreaterThan(0);
  });

  it('streams the calls whole, in one chunk (parallel=2: two of them), with usage', async () => {
    const result = await model({ tools: [{ functionDeclarations: [weather, time] }] }, 'AIza-sim#parallel=2').generateContentStream('Weather and time?');
    const chunks = [];
    for await (const chunk of result.stream) chunks.push(chunk);
    expect(chunks).toHaveLength(1);
    expect(chunks[0].functionCalls()?.map((call) => call.name)).toEqual(['get_weather', 'get_time']);
    expect(chunks[0].candidates?.[0].finishReason).toBe('STOP');
    expect((await result.response).usageMetadata?.totalTokenCount).toBeGreaterThan(0);
  });

  it('answers a function response (sent by a chat session, role "function") with "Tool said: …"', async () => {
    const chat = model({ tools: [{ functionDeclarations: [weather] }] }).startChat({
      history: [
        { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
        { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
      ],
    });
    const { response } = await chat.sendMessage([{ functionResponse: { name: 'get_weather', response: { celsius: 21 } } }]);
    expect(response.text()).toMatch(/^Tool said: \{"celsius":21\}/);
    expect((lastBody().contents as Array<{ role: string }>).at(-1)?.role).toBe('function');
  });

  it('follows toolConfig: NONE answers in text, ANY with one allowed name calls that function', async () => {
    const tools = [{ functionDeclarations: [weather, time] }];
    const none = await model({ tools, toolConfig: { functionCallingConfig: { mode: 'NONE' as never } } }).generateContent('What time is it?');
    expect(none.response.text()).toMatch(/^Echo: What time is it\?/);
    const named = await model({ tools, toolConfig: { functionCallingConfig: { mode: 'ANY' as never, allowedFunctionNames: ['get_time'] } } }).generateContent('Hi');
    expect(named.response.functionCalls()).toEqual([{ name: 'get_time', args: {} }]);
  });
});

describe('JSON output', () => {
  it('answers JSON that fits the responseSchema', async () => {
    const { response } = await model({
      generationConfig: {
        responseMimeType: 'application/json',
        responseSchema: { type: SchemaType.OBJECT, properties: { name: { type: SchemaType.STRING }, tags: { type: SchemaType.ARRAY, items: { type: SchemaType.STRING } } } },
      },
    }).generateContent('A person, please');
    expect(JSON.parse(response.text())).toEqual({ name: 'sample', tags: ['sample'] });
  });

  it('answers JSON echoing the question without a schema', async () => {
    const { response } = await model({ generationConfig: { responseMimeType: 'application/json' } }).generateContent('Anything');
    expect(JSON.parse(response.text())).toEqual({ echo: 'Anything' });
  });
});

describe('requests Gemini refuses (400 INVALID_ARGUMENT)', () => {
  const refusal = (run: Promise<unknown>) =>
    run.then(
      () => 'answered',
      (error: unknown) => String(error),
    );

  it.each([
    ['$schema', { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { q: { type: 'string' } } }],
    ['additionalProperties', { type: 'object', properties: { q: { type: 'string' } }, additionalProperties: false }],
    ['$ref', { type: 'object', properties: { q: { $ref: 'https://example.com/q.json' } } }],
    ['$defs', { type: 'object', properties: { q: { $ref: '#/$defs/Q' } }, $defs: { Q: { type: 'string' } } }],
    ['const', { type: 'object', properties: { q: { type: 'string', const: 'x' } } }],
    ['type', { type: 'object', properties: { q: { type: ['string', 'null'] } } }],
    ['enum[0]', { type: 'object', properties: { q: { type: 'integer', enum: [1, 2] } } }],
  ])('a function declaration whose parameters use %s (the error names it)', async (keyword, parameters) => {
    const tools = [{ functionDeclarations: [{ name: 'lookup', parameters: parameters as never }] }];
    const said = await refusal(model({ tools }).generateContent('Hi'));
    expect(said).toContain('400');
    expect(said).toContain(keyword.endsWith(']') ? keyword : `"${keyword}"`);
  });

  it('parameters of type object without properties', async () => {
    const tools = [{ functionDeclarations: [{ name: 'now', parameters: { type: SchemaType.OBJECT, properties: {} } }] }];
    expect(await refusal(model({ tools }).generateContent('Hi'))).toContain('should be non-empty for OBJECT type');
  });

  it('a responseSchema with additionalProperties', async () => {
    const generationConfig = { responseMimeType: 'application/json', responseSchema: { type: 'object', properties: {}, additionalProperties: false } as never };
    expect(await refusal(model({ generationConfig }).generateContent('Hi'))).toContain('Unknown name "additionalProperties"');
  });

  it('an image by URL (fileData), or inline data that is not an image', async () => {
    const fileData = { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/cat.png' } };
    expect(await refusal(model().generateContent([fileData, 'What is this?']))).toContain('unsupported file uri');
    const text = { inlineData: { mimeType: 'text/html', data: Buffer.from('<p>hi</p>').toString('base64') } };
    expect(await refusal(model().generateContent([text, 'What is this?']))).toContain('Unsupported MIME type: text/html');
    const notBase64 = { inlineData: { mimeType: 'image/png', data: 'data:image/png;base64,AAAA' } };
    expect(await refusal(model().generateContent([notBase64, 'What is this?']))).toContain('Base64 decoding failed');
  });

  it('a function response that answers no call of the turn before it', async () => {
    const contents = [
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_time', response: { now: 'noon' } } }] },
    ];
    const said = await refusal(model({ tools: [{ functionDeclarations: [weather, time] }] }).generateContent({ contents }));
    expect(said).toContain('400');
    expect(said).toContain('get_time');
    const orphan = [{ role: 'user', parts: [{ functionResponse: { name: 'get_time', response: {} } }] }];
    expect(await refusal(model().generateContent({ contents: orphan }))).toContain('comes immediately after a function call turn');
  });
});

describe('embeddings', () => {
  const embedder = (name: string) => new GoogleGenerativeAI('AIza-sim').getGenerativeModel({ model: name }, { baseUrl: sim.baseUrls.gemini });

  it('answers batchEmbedContents with one vector per text, in order, of the asked length, and no usage', async () => {
    const texts = ['alpha', 'beta', 'gamma'];
    const requests = texts.map((text) => ({ content: { role: 'user', parts: [{ text }] }, outputDimensionality: 16 }));
    const answer = await embedder('text-embedding-004').batchEmbedContents({ requests });
    expect(answer.embeddings.map((embedding) => embedding.values)).toEqual(texts.map((text) => embeddingOf(text, 16)));
    expect(answer).not.toHaveProperty('usageMetadata');
    const full = await embedder('gemini-embedding-001').batchEmbedContents({ requests: [{ content: { role: 'user', parts: [{ text: 'alpha' }] } }] });
    expect(full.embeddings[0].values).toHaveLength(3072);
  });

  it('refuses a chat model, and lists the embedding models with embedContent', async () => {
    const said = await embedder('gemini-2.0-flash')
      .batchEmbedContents({ requests: [{ content: { role: 'user', parts: [{ text: 'x' }] } }] })
      .then(
        () => 'answered',
        (error: unknown) => String(error),
      );
    expect(said).toContain('404');
    const list = (await (await fetch(`${sim.baseUrls.gemini}/v1beta/models`, { headers: { 'x-goog-api-key': 'AIza-sim' } })).json()) as {
      models: Array<{ name: string; supportedGenerationMethods: string[] }>;
    };
    expect(list.models.find((m) => m.name === 'models/text-embedding-004')?.supportedGenerationMethods).toEqual(['embedContent']);
    expect(list.models.find((m) => m.name === 'models/gemini-2.0-flash')?.supportedGenerationMethods).toContain('generateContent');
  });
});
