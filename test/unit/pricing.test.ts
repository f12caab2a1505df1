// Exact prices and costs: a table of known cases, checked by hand.
import { describe, expect, it } from 'vitest';
import { createCatalog, parseOpenRouterList } from '../../src/modules/catalog/catalog.js';
import { BASE_MODELS } from '../../src/modules/catalog/models.data.js';
import { costMicros, usdPerTokenToMicrosPerMTok } from '../../src/modules/catalog/pricing.js';
import { reportedUsdToMicros, usdToMicros } from '../../src/money.js';

const catalog = createCatalog();
const AFTER_CHANGE = new Date('2026-09-15T12:00:00Z');
const tokens = (promptTokens: number, cachedPromptTokens: number, completionTokens: number) => ({ promptTokens, cachedPromptTokens, completionTokens });

describe('prices', () => {
  it('reads decimal USD exactly into micro-dollars and refuses anything else', () => {
    expect(usdToMicros('2.50')).toBe(2_500_000n);
    expect(usdToMicros('0.075')).toBe(75_000n);
    expect(usdToMicros('0.000001')).toBe(1n);
    expect(usdToMicros('15')).toBe(15_000_000n);
    for (const bad of ['1.1234567', '-1', '', 'abc', '1e3']) expect(() => usdToMicros(bad)).toThrow(/Not a price/);
  });

  it("takes a provider's reported cost (a number of USD) to the nearest micro-dollar, and believes nothing else", () => {
    expect(reportedUsdToMicros(0.95)).toBe(950_000n);
    expect(reportedUsdToMicros(0.000021)).toBe(21n);
    expect(reportedUsdToMicros(0.0000004)).toBe(0n);
    expect(reportedUsdToMicros(0)).toBe(0n);
    expect(reportedUsdToMicros(1_000)).toBe(1_000_000_000n);
    for (const unbelievable of [undefined, null, '0.01', Number.NaN, Number.POSITIVE_INFINITY, -0.000001, 1_000.01, { usd: 1 }]) {
      expect(reportedUsdToMicros(unbelievable)).toBeNull();
    }
  });

  it("reads OpenRouter's USD-per-token strings into micro-dollars per million tokens", () => {
    expect(usdPerTokenToMicrosPerMTok('0.0000025')).toBe(2_500_000n);
    expect(usdPerTokenToMicrosPerMTok('0.00000015')).toBe(150_000n);
    expect(usdPerTokenToMicrosPerMTok('0')).toBe(0n);
    expect(usdPerTokenToMicrosPerMTok('0.0000000000005')).toBe(1n); // half a µ$/MTok rounds up
    expect(() => usdPerTokenToMicrosPerMTok('-0.1')).toThrow();
  });
});

describe('cost of a call', () => {
  it.each([
    // [what, kind, model, tokens, expected µ$, price version]
    ['plain: 1000 in at 0.15, 500 out at 0.60', 'OPENAI', 'gpt-4o-mini', tokens(1000, 0, 500), 450n, '2026-08-01'],
    ['cached: 600 in at 2.00, 400 cached at 1.00, 100 out at 8.00', 'OPENAI', 'gpt-4o', tokens(1000, 400, 100), 2_400n, '2026-08-01'],
    ['reasoning is billed as completion: 100 in at 1.10, 1000 out (800 thinking) at 4.40', 'OPENAI', 'o3-mini', tokens(100, 0, 1000), 4_510n, '2026-08-01'],
    ['Anthropic cache reads: 2000 in at 3.00 of which 1500 at 0.30, 10 out at 15.00', 'ANTHROPIC', 'claude-sonnet-4-0', tokens(2000, 1500, 10), 2_100n, '2026-08-01'],
    ['rounds once, half up: 4 tokens at 0.15 are 0.6 µ$', 'OPENAI', 'gpt-4o-mini', tokens(4, 0, 0), 1n, '2026-08-01'],
    ['rounds once, half up: 3 tokens at 0.15 are 0.45 µ$', 'OPENAI', 'gpt-4o-mini', tokens(3, 0, 0), 0n, '2026-08-01'],
    ['a million tokens cost the list price exactly', 'GEMINI', 'gemini-2.5-pro', tokens(1_000_000, 0, 1_000_000), 11_250_000n, '2026-08-01'],
  ] as const)('%s', (_what, kind, model, counted, expected, version) => {
    const quote = catalog.price(kind, model, AFTER_CHANGE);
    expect(quote).toMatchObject({ version, fallback: false });
    expect(costMicros(counted, quote)).toBe(expected);
  });

  it("prices an unknown model by its kind's fallback rule and flags it; local models are free but still flagged", () => {
    const unknown = catalog.price('OPENAI', 'gpt-9-preview', AFTER_CHANGE);
    expect(unknown).toMatchObject({ fallback: true, version: '2026-08-01' });
    expect(costMicros(tokens(1000, 0, 1000), unknown)).toBe(costMicros(tokens(1000, 0, 1000), catalog.price('OPENAI', 'gpt-4o', AFTER_CHANGE)));
    expect(costMicros(tokens(1000, 0, 1000), unknown)).toBeGreaterThan(0n);
    const local = catalog.price('OLLAMA', 'my-finetune', AFTER_CHANGE);
    expect(local).toMatchObject({ fallback: true, input: 0n, output: 0n });
  });

  it('uses the price version in force when the call was made', () => {
    const before = catalog.price('OPENAI', 'gpt-4o', new Date('2026-07-31T23:59:59.999Z'));
    const after = catalog.price('OPENAI', 'gpt-4o', new Date('2026-08-01T00:00:00.000Z'));
    expect(before).toMatchObject({ version: '2026-01-01', input: 2_500_000n, output: 10_000_000n });
    expect(after).toMatchObject({ version: '2026-08-01', input: 2_000_000n, output: 8_000_000n });
    // Unchanged models keep their price under the new version.
    expect(catalog.price('OPENAI', 'gpt-4o-mini', new Date('2026-08-01T00:00:00.000Z'))).toMatchObject({ version: '2026-08-01', input: 150_000n });
  });

  it('prices a model a later version added from that version on; before it, the kind fallback priced it and that row keeps it', () => {
    const before = catalog.price('OPENAI', 'text-embedding-3-small', new Date('2026-11-24T23:59:59.999Z'));
    expect(before).toMatchObject({ version: '2026-08-01', fallback: true, input: 2_000_000n });
    const added = catalog.price('OPENAI', 'text-embedding-3-small', new Date('2026-11-25T00:00:00.000Z'));
    expect(added).toEqual({ version: '2026-11-25', fallback: false, input: 20_000n, cachedInput: 20_000n, output: 0n });
    // 1,000 prompt tokens at 0.02: 20 µ$; an embedding writes no completion tokens.
    expect(costMicros(tokens(1000, 0, 0), added)).toBe(20n);
    expect(catalog.price('TOGETHER', 'BAAI/bge-base-en-v1.5', new Date('2026-12-01T00:00:00Z'))).toMatchObject({ input: 8_000n, fallback: false });
    expect(catalog.price('OLLAMA', 'nomic-embed-text', new Date('2026-12-01T00:00:00Z'))).toMatchObject({ input: 0n, fallback: false });
    // Chat models keep their prices under the new version.
    expect(catalog.price('OPENAI', 'gpt-4o', new Date('2026-12-01T00:00:00Z'))).toMatchObject({ version: '2026-11-25', input: 2_000_000n });
  });

  it('OpenRouter prices read from its model list apply from that moment on', () => {
    const own = createCatalog();
    const refreshedAt = new Date('2026-10-01T00:00:00Z');
    const listed = parseOpenRouterList([
      { id: 'anthropic/claude-3.5-sonnet', name: 'Anthropic: Claude 3.5 Sonnet', context_length: 200000, pricing: { prompt: '0.000006', completion: '0.00003' } },
      { id: 'new/model', pricing: { prompt: '0.000001', completion: '0.000002' } },
      { id: 'broken/model', pricing: { prompt: 'n/a' } },
      { id: 'variable/model', pricing: { prompt: '-1', completion: '-1' } },
    ]);
    expect(listed.map((m) => m.model)).toEqual(['anthropic/claude-3.5-sonnet', 'new/model']);
    own.applyOpenRouter(listed, refreshedAt);
    expect(own.price('OPENROUTER', 'anthropic/claude-3.5-sonnet', new Date('2026-10-02T00:00:00Z'))).toMatchObject({
      input: 6_000_000n,
      output: 30_000_000n,
      version: `openrouter:${refreshedAt.toISOString()}`,
    });
    expect(own.price('OPENROUTER', 'anthropic/claude-3.5-sonnet', new Date('2026-09-30T00:00:00Z'))).toMatchObject({ input: 3_000_000n, version: '2026-08-01' });
    expect(own.price('OPENROUTER', 'new/model', new Date('2026-10-02T00:00:00Z'))).toMatchObject({ input: 1_000_000n, fallback: false });
    expect(own.has('OPENROUTER', 'new/model')).toBe(true);
    // The list said nothing of what these can do: a model the shipped catalog knows keeps what it says, another is unknown (nothing refused).
    expect(own.capabilities('OPENROUTER', 'anthropic/claude-3.5-sonnet')).toEqual(['streaming', 'vision', 'tools', 'json']);
    expect(own.capabilities('OPENROUTER', 'new/model')).toBeNull();
  });

  it("OpenRouter's list says what a model can do: its parameters and inputs", () => {
    const said = (supported_parameters: unknown, input_modalities?: unknown) =>
      parseOpenRouterList([{ id: 'm', pricing: { prompt: '0', completion: '0' }, supported_parameters, architecture: { input_modalities } }])[0].capabilities;
    expect(said(['tools', 'tool_choice', 'structured_outputs', 'include_reasoning'], ['text', 'image'])).toEqual(['streaming', 'vision', 'tools', 'json', 'reasoning']);
    expect(said(['response_format', 'reasoning'], ['text'])).toEqual(['streaming', 'json', 'reasoning']);
    expect(said(['temperature'])).toEqual(['streaming']);
    expect(said(undefined, ['text', 'image'])).toBeNull();
    expect(said('tools')).toBeNull();
  });
});

describe('catalog', () => {
  it('ships at least 100 models, every kind with a price table has some', () => {
    expect(Object.values(BASE_MODELS).flat().length).toBeGreaterThanOrEqual(100);
    const all = catalog.list({ first: 200 });
    expect(all.totalCount).toBeGreaterThanOrEqual(100);
    expect(new Set(all.edges.map((e) => e.node.kind)).size).toBe(10);
  });

  it('searches id and display name ignoring case and punctuation, filters by kind and tier, and pages without gaps', () => {
    const found = catalog.list({ search: 'GPT 4o', kind: 'OPENAI', first: 50 });
    expect(found.edges.map((e) => e.node.model).sort()).toEqual(['chatgpt-4o-latest', 'gpt-4o', 'gpt-4o-mini']);
    expect(
      catalog
        .list({ search: 'claude35sonnet', first: 50 })
        .edges.map((e) => e.node.id)
        .sort(),
    ).toEqual(['ANTHROPIC:claude-3-5-sonnet-latest', 'OPENROUTER:anthropic/claude-3.5-sonnet']);
    const cheap = catalog.list({ tier: 'CHEAP', first: 200 });
    expect(cheap.edges.every((e) => e.node.tier === 'CHEAP')).toBe(true);
    const seen: string[] = [];
    let after: string | null = null;
    do {
      const page = catalog.list({ first: 7, after });
      seen.push(...page.edges.map((e) => e.node.id));
      after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
    } while (after);
    expect(seen).toEqual(catalog.list({ first: 200 }).edges.map((e) => e.node.id));
  });

  it('refuses a cursor it did not give out and a page size out of bounds', () => {
    expect(() => catalog.list({ first: 10, after: 'bm90LWEtY3Vyc29y' })).toThrow(/cursor/);
    expect(() => catalog.list({ first: 0 })).toThrow(/first/);
  });
});
