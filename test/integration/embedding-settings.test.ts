// The catalog side and the preferences side of embeddings, through the API: which models embed, and where a
// workspace's embeddings go when a call names no provider.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { graphql } from '../generated/gql.js';
import { addSimProvider } from '../testkit/chat.js';
import { AddProvider, AuditLog } from '../testkit/documents.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

const ModelsWithCapability = graphql(`
  query ModelsWithCapability($capability: String, $kind: ProviderKind, $first: Int) {
    models(capability: $capability, kind: $kind, first: $first) {
      totalCount
      edges { node { id model contextWindow inputUsdPerMTok outputUsdPerMTok tier capabilities priceVersion } }
    }
  }
`);

const UpdateEmbeddingPreferences = graphql(`
  mutation UpdateEmbeddingPreferences($input: PreferencesInput!) {
    updatePreferences(input: $input) { defaultProviderId embeddingProviderId embeddingModel }
  }
`);

const EmbeddingPreferences = graphql(`
  query EmbeddingPreferences {
    preferences { embeddingProviderId embeddingModel }
  }
`);

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

describe('the catalog', () => {
  it('lists the embedding models with their input prices under the price version that added them', async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const result = await gw.execute(ModelsWithCapability, { capability: 'embeddings', first: 100 }, { token });
    expect(result.errors).toBeUndefined();
    const nodes = result.data!.models.edges.map((edge) => edge.node);
    expect(nodes.map((node) => node.id).sort()).toEqual(
      [
        'GEMINI:gemini-embedding-001',
        'GEMINI:text-embedding-004',
        'MISTRAL:mistral-embed',
        'OLLAMA:nomic-embed-text',
        'OPENAI:text-embedding-3-large',
        'OPENAI:text-embedding-3-small',
        'OPENAI:text-embedding-ada-002',
        'OPENROUTER:openai/text-embedding-3-small',
        'TOGETHER:BAAI/bge-base-en-v1.5',
      ].sort(),
    );
    expect(result.data!.models.totalCount).toBe(nodes.length);
    expect(nodes.find((node) => node.id === 'OPENAI:text-embedding-3-small')).toEqual({
      id: 'OPENAI:text-embedding-3-small',
      model: 'text-embedding-3-small',
      contextWindow: 8191,
      inputUsdPerMTok: 0.02,
      outputUsdPerMTok: 0,
      tier: 'CHEAP',
      capabilities: ['embeddings'],
      priceVersion: '2026-11-25',
    });
    for (const node of nodes) expect(node).toMatchObject({ capabilities: ['embeddings'], outputUsdPerMTok: 0, tier: 'CHEAP' });
  });

  it('filters by any capability, with the other filters, ignoring case; an unknown capability is refused, naming the known ones', async () => {
    const token = await gw.token(newWorkspace().claims('member'));
    const vision = await gw.execute(ModelsWithCapability, { capability: 'Vision', kind: 'ANTHROPIC', first: 100 }, { token });
    expect(vision.errors).toBeUndefined();
    expect(vision.data!.models.totalCount).toBeGreaterThan(0);
    for (const { node } of vision.data!.models.edges) expect(node.capabilities).toContain('vision');
    const all = await gw.execute(ModelsWithCapability, { kind: 'ANTHROPIC', first: 100 }, { token });
    expect(vision.data!.models.totalCount).toBeLessThan(all.data!.models.totalCount);
    // No embedding model where the vendor has no embeddings API.
    expect((await gw.execute(ModelsWithCapability, { capability: 'embeddings', kind: 'ANTHROPIC' }, { token })).data!.models.totalCount).toBe(0);

    const typo = await gw.execute(ModelsWithCapability, { capability: 'embedding' }, { token });
    expect(typo.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'capability' });
    expect(typo.errors?.[0].message).toContain('embeddings');
  });
});

describe('embedding preferences', () => {
  async function owner() {
    const workspace = newWorkspace();
    return { workspace, token: await gw.token(workspace.claims('owner', 'olga')) };
  }

  it('are set, read back, audited, changed alone, and cleared', async () => {
    const { token } = await owner();
    const openai = await addSimProvider(gw, sim, token, { label: 'OpenAI' });
    const gemini = await addSimProvider(gw, sim, token, { kind: 'GEMINI', label: 'Gemini' });

    // The kind's default embedding model serves when none is named.
    const set = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: openai.id } }, { token });
    expect(set.errors).toBeUndefined();
    expect(set.data!.updatePreferences).toEqual({ defaultProviderId: null, embeddingProviderId: openai.id, embeddingModel: null });

    const named = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: gemini.id, embeddingModel: 'gemini-embedding-001' } }, { token });
    expect(named.data!.updatePreferences).toMatchObject({ embeddingProviderId: gemini.id, embeddingModel: 'gemini-embedding-001' });
    // Other preferences leave the embedding choice alone.
    await gw.execute(UpdateEmbeddingPreferences, { input: { defaultProviderId: openai.id } }, { token });
    expect((await gw.execute(EmbeddingPreferences, {}, { token })).data!.preferences).toEqual({ embeddingProviderId: gemini.id, embeddingModel: 'gemini-embedding-001' });
    // The model alone changes against the stored provider.
    const model = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingModel: 'text-embedding-004' } }, { token });
    expect(model.data!.updatePreferences).toMatchObject({ embeddingProviderId: gemini.id, embeddingModel: 'text-embedding-004' });

    const cleared = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: null, embeddingModel: null } }, { token });
    expect(cleared.errors).toBeUndefined();
    expect(cleared.data!.updatePreferences).toEqual({ defaultProviderId: openai.id, embeddingProviderId: null, embeddingModel: null });
    expect((await gw.execute(EmbeddingPreferences, {}, { token })).data!.preferences).toEqual({ embeddingProviderId: null, embeddingModel: null });

    const log = await gw.execute(AuditLog, { first: 20 }, { token });
    const entries = log
      .data!.auditLog.edges.map((edge) => edge.node)
      .filter((entry) => entry.action === 'PREFERENCES_UPDATED')
      .map((entry) => entry.data)
      .reverse();
    expect(entries).toEqual([
      { embeddingProviderId: openai.id },
      { embeddingProviderId: gemini.id, embeddingModel: 'gemini-embedding-001' },
      { defaultProviderId: openai.id },
      { embeddingModel: 'text-embedding-004' },
      { embeddingProviderId: null, embeddingModel: null },
    ]);
  });

  it('refuse a provider without embeddings, a kind without a default model when none is named, and a model without a provider, storing nothing', async () => {
    const { token } = await owner();
    const anthropic = await addSimProvider(gw, sim, token, { kind: 'ANTHROPIC', label: 'Claude' });
    const added = await gw.execute(
      AddProvider,
      { input: { kind: 'OPENAI_COMPATIBLE', label: 'Local', apiKey: 'sk-local', baseUrl: sim.baseUrls.openai, skipValidation: true } },
      { token },
    );
    expect(added.errors).toBeUndefined();
    const compatible = added.data!.addProvider.id;

    const refusals: Array<[string, Record<string, unknown>, string, RegExp]> = [
      ['no embeddings API, even with a model named', { embeddingProviderId: anthropic.id, embeddingModel: 'text-embedding-3-small' }, 'embeddingProviderId', /no embeddings/],
      ['no default embedding model and none named', { embeddingProviderId: compatible }, 'embeddingProviderId', /embeddingModel/],
      ['a model without a provider', { embeddingModel: 'text-embedding-3-small' }, 'embeddingModel', /embeddingProviderId/],
      ['a model name that is no model name', { embeddingProviderId: compatible, embeddingModel: 'two words' }, 'embeddingModel', /model name/],
    ];
    for (const [what, input, field, message] of refusals) {
      const refused = await gw.execute(UpdateEmbeddingPreferences, { input }, { token });
      expect({ what, ...refused.errors?.[0].extensions }, what).toMatchObject({ what, code: 'BAD_USER_INPUT', field });
      expect(refused.errors?.[0].message, what).toMatch(message);
    }
    expect((await gw.execute(EmbeddingPreferences, {}, { token })).data!.preferences).toEqual({ embeddingProviderId: null, embeddingModel: null });

    // Named, the custom server's model is accepted.
    const named = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: compatible, embeddingModel: 'bge-m3' } }, { token });
    expect(named.data!.updatePreferences).toMatchObject({ embeddingProviderId: compatible, embeddingModel: 'bge-m3' });
  });

  it('refuse providers the workspace cannot route to and callers who are not admins', async () => {
    const { workspace, token } = await owner();
    const personal = await addSimProvider(gw, sim, token, { scope: 'PERSONAL' });
    const refused = await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: personal.id } }, { token });
    expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'embeddingProviderId' });

    const other = await owner();
    const foreign = await addSimProvider(gw, sim, other.token);
    expect((await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: foreign.id } }, { token })).errors?.[0].extensions?.code).toBe('NOT_FOUND');

    const shared = await addSimProvider(gw, sim, token);
    const member = await gw.token(workspace.claims('member'));
    expect((await gw.execute(UpdateEmbeddingPreferences, { input: { embeddingProviderId: shared.id } }, { token: member })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.execute(EmbeddingPreferences, {}, { token })).data!.preferences).toEqual({ embeddingProviderId: null, embeddingModel: null });
  });
});
