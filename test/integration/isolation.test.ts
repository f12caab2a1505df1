// Tenant isolation, generated from the schema: every query, mutation and
// subscription argument that carries an id (directly or inside an input) is
// called with another workspace's owner token and with another member's token
// against real objects. The answer is NOT_FOUND (FORBIDDEN where the role is
// the cause), never data, and nothing changes. A new id-taking field without a
// case here fails the first test.
import { type GraphQLInputType, type GraphQLObjectType, getNamedType, isInputObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../src/graphql/schema.js';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { disposeAll, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';
import { first } from '../testkit/streams.js';

/** "Root.field arg.path" for every argument path that ends in an ID. */
function idTakingFields(): string[] {
  const paths = (type: GraphQLInputType, prefix: string, seen: Set<string>): string[] => {
    const named = getNamedType(type);
    if (named.name === 'ID') return [prefix];
    if (!isInputObjectType(named) || seen.has(named.name)) return [];
    return Object.values(named.getFields()).flatMap((field) => paths(field.type, `${prefix}.${field.name}`, new Set([...seen, named.name])));
  };
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()] as GraphQLObjectType[];
  return roots.flatMap((root) =>
    Object.values(root.getFields()).flatMap((field) => field.args.flatMap((arg) => paths(arg.type, arg.name, new Set())).map((path) => `${root.name}.${field.name} ${path}`)),
  );
}

/** The victim's objects, in workspace A: a workspace provider, member X's personal provider and session, an alert, an API key, an alert channel. */
interface Victims {
  workspaceProvider: string;
  personalProvider: string;
  session: string;
  alert: string;
  apiKey: string;
  alertChannel: string;
}
type Target = keyof Victims;

interface Case {
  /** The operation, with `$id` where the victim's id goes. */
  query: string;
  variables: (id: string) => Record<string, unknown>;
  /** Which of the victim's objects it is aimed at. */
  targets: Target[];
  subscription?: boolean;
  /** ADMIN and OWNER only: a member is refused for the role (FORBIDDEN) before any id is looked at. */
  adminOnly?: boolean;
}

const RANGE = { from: '2020-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' };
const MESSAGES = userMessage('isolation');
const PROVIDERS: Target[] = ['workspaceProvider', 'personalProvider'];

const CASES: Record<string, Case> = {
  'Query.provider id': { query: 'query($id: ID!) { provider(id: $id) { id label maskedKey } }', variables: (id) => ({ id }), targets: PROVIDERS },
  'Query.usage filter.providerIds': {
    query: 'query($range: DateRangeInput!, $filter: UsageFilter) { usage(range: $range, filter: $filter) { totals { requests totalTokens } } }',
    variables: (id) => ({ range: RANGE, filter: { providerIds: [id] } }),
    targets: PROVIDERS,
  },
  'Query.usageEvents filter.providerIds': {
    query: 'query($range: DateRangeInput!, $filter: UsageFilter) { usageEvents(range: $range, filter: $filter) { edges { node { id model } } } }',
    variables: (id) => ({ range: RANGE, filter: { providerIds: [id] } }),
    targets: PROVIDERS,
  },
  'Query.resolveRoute providerId': { query: 'query($id: ID!) { resolveRoute(providerId: $id) { candidates { model reason } } }', variables: (id) => ({ id }), targets: PROVIDERS },
  'Query.session id': { query: 'query($id: ID!) { session(id: $id) { id model totalTokens } }', variables: (id) => ({ id }), targets: ['session'] },
  'Mutation.acknowledgeAlert id': { query: 'mutation($id: ID!) { acknowledgeAlert(id: $id) { id message } }', variables: (id) => ({ id }), targets: ['alert'], adminOnly: true },
  'Mutation.removeAlertChannel id': { query: 'mutation($id: ID!) { removeAlertChannel(id: $id) }', variables: (id) => ({ id }), targets: ['alertChannel'], adminOnly: true },
  'Mutation.testAlertChannel id': {
    query: 'mutation($id: ID!) { testAlertChannel(id: $id) { ok status } }',
    variables: (id) => ({ id }),
    targets: ['alertChannel'],
    adminOnly: true,
  },
  'Mutation.revokeApiKey id': { query: 'mutation($id: ID!) { revokeApiKey(id: $id) { id name revokedAt } }', variables: (id) => ({ id }), targets: ['apiKey'] },
  'Mutation.updateProvider id': {
    query: 'mutation($id: ID!) { updateProvider(id: $id, input: { label: "taken" }) { id label } }',
    variables: (id) => ({ id }),
    targets: PROVIDERS,
  },
  'Mutation.deleteProvider id': { query: 'mutation($id: ID!) { deleteProvider(id: $id) }', variables: (id) => ({ id }), targets: PROVIDERS },
  'Mutation.testProvider id': { query: 'mutation($id: ID!) { testProvider(id: $id) { ok errorCode } }', variables: (id) => ({ id }), targets: PROVIDERS },
  'Mutation.chat input.providerId': {
    query: 'mutation($input: ChatInput!) { chat(input: $input) { content providerId } }',
    variables: (id) => ({ input: { messages: MESSAGES, providerId: id } }),
    targets: PROVIDERS,
  },
  'Query.estimateCost input.providerId': {
    query: 'query($input: ChatInput!) { estimateCost(input: $input) { lowUsd highUsd candidates { providerId model } } }',
    variables: (id) => ({ input: { messages: MESSAGES, providerId: id } }),
    targets: PROVIDERS,
  },
  'Query.estimateCost input.sessionId': {
    query: 'query($input: ChatInput!) { estimateCost(input: $input) { lowUsd highUsd candidates { providerId model } } }',
    variables: (id) => ({ input: { messages: MESSAGES, sessionId: id } }),
    targets: ['session'],
  },
  'Mutation.chat input.sessionId': {
    query: 'mutation($input: ChatInput!) { chat(input: $input) { content sessionId } }',
    variables: (id) => ({ input: { messages: MESSAGES, sessionId: id } }),
    targets: ['session'],
  },
  'Mutation.embed input.providerId': {
    query: 'mutation($input: EmbedInput!) { embed(input: $input) { providerId vectors } }',
    variables: (id) => ({ input: { inputs: ['isolation'], providerId: id } }),
    targets: PROVIDERS,
  },
  'Mutation.updatePreferences input.defaultProviderId': {
    query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { defaultProviderId } }',
    variables: (id) => ({ input: { defaultProviderId: id } }),
    targets: PROVIDERS,
    adminOnly: true,
  },
  'Mutation.updatePreferences input.fallbackProviderId': {
    query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { fallbackProviderId } }',
    variables: (id) => ({ input: { fallbackProviderId: id } }),
    targets: PROVIDERS,
    adminOnly: true,
  },
  'Mutation.updatePreferences input.embeddingProviderId': {
    query: 'mutation($input: PreferencesInput!) { updatePreferences(input: $input) { embeddingProviderId } }',
    variables: (id) => ({ input: { embeddingProviderId: id } }),
    targets: PROVIDERS,
    adminOnly: true,
  },
  'Mutation.setAgentModelPreference input.providerId': {
    query: 'mutation($input: AgentModelPreferenceInput!) { setAgentModelPreference(input: $input) { providerId } }',
    variables: (id) => ({ input: { agentType: 'isolation', providerId: id, model: 'gpt-4o-mini' } }),
    targets: PROVIDERS,
    adminOnly: true,
  },
  'Mutation.setAgentModelPreference input.fallbackProviderId': {
    query: 'mutation($input: AgentModelPreferenceInput!) { setAgentModelPreference(input: $input) { fallbackProviderId } }',
    variables: (id) => ({ input: { agentType: 'isolation', providerId: '$own', model: 'gpt-4o-mini', fallbackProviderId: id, fallbackModel: 'gpt-4o-mini' } }),
    targets: PROVIDERS,
    adminOnly: true,
  },
  'Subscription.chatStream input.providerId': {
    query: 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta errorCode } }',
    variables: (id) => ({ input: { messages: MESSAGES, providerId: id } }),
    targets: PROVIDERS,
    subscription: true,
  },
  'Subscription.chatStream input.sessionId': {
    query: 'subscription($input: ChatInput!) { chatStream(input: $input) { type delta errorCode } }',
    variables: (id) => ({ input: { messages: MESSAGES, sessionId: id } }),
    targets: ['session'],
    subscription: true,
  },
};

/**
 * Ids that name no stored object: a tool call's id and the TOOL message that answers it pair up within the
 * conversation the caller sends (and the caller's own session), which agent-call-refusals.test.ts covers.
 */
const CONVERSATION_IDS = [
  'Query.estimateCost input.messages.toolCallId',
  'Query.estimateCost input.messages.toolCalls.id',
  'Mutation.chat input.messages.toolCallId',
  'Mutation.chat input.messages.toolCalls.id',
  'Subscription.chatStream input.messages.toolCallId',
  'Subscription.chatStream input.messages.toolCalls.id',
];

/**
 * People are their tokens' subjects, not rows: a usage filter by someone else's id finds nothing of theirs, since
 * usage is read within the caller's workspace (and a member's own calls only); usage-console-api.test.ts covers it.
 */
const PEOPLE_IDS = ['Query.usage filter.userIds', 'Query.usageEvents filter.userIds'];

let gw: TestServer;
let sim: Simulator;
let victims: Victims;
/** Each attacker's token and its own provider (for inputs that need one of theirs beside the victim's id). */
const attackers: Record<'otherWorkspaceOwner' | 'otherMember', { token: string; ownProvider: string }> = {} as never;
let memberX: string;

beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
  const a = newWorkspace();
  const ownerA = await gw.token(a.claims('owner'));
  memberX = await gw.token(a.claims('member', `x-${a.id}`));
  const memberY = await gw.token(a.claims('member', `y-${a.id}`));
  const ownerB = await gw.token(newWorkspace().claims('owner'));

  const workspaceProvider = (await addSimProvider(gw, sim, ownerA, { label: 'victim workspace provider' })).id;
  const personalProvider = (await addSimProvider(gw, sim, memberX, { label: 'victim personal provider', scope: 'PERSONAL' })).id;
  const chat = await call(memberX, 'mutation($input: ChatInput!) { chat(input: $input) { sessionId } }', { input: { messages: MESSAGES, providerId: personalProvider } });
  const session = (chat.data as { chat: { sessionId: string } }).chat.sessionId;
  // An alert through the public path: a daily limit of one token, then a call it refuses.
  await call(ownerA, 'mutation($id: ID!) { updateProvider(id: $id, input: { dailyTokenLimit: 1 }) { id } }', { id: workspaceProvider });
  await call(ownerA, 'mutation($input: ChatInput!) { chat(input: $input) { content } }', { input: { messages: MESSAGES, providerId: workspaceProvider, allowFallback: false } });
  await call(ownerA, 'mutation($id: ID!) { updateProvider(id: $id, input: { dailyTokenLimit: null }) { id } }', { id: workspaceProvider });
  const alerts = await call(ownerA, '{ alerts { edges { node { id } } } }', {});
  const alert = (alerts.data as { alerts: { edges: Array<{ node: { id: string } }> } }).alerts.edges[0].node.id;
  const created = await call(memberX, 'mutation { createApiKey(input: { name: "victim key" }) { apiKey { id } } }', {});
  const apiKey = (created.data as { createApiKey: { apiKey: { id: string } } }).createApiKey.apiKey.id;
  const channel = await call(ownerA, 'mutation($url: String!) { addAlertChannel(input: { type: SLACK, name: "victim channel", url: $url }) { channel { id } } }', {
    url: `${sim.baseUrls.openai}/victim-hook`,
  });
  const alertChannel = (channel.data as { addAlertChannel: { channel: { id: string } } }).addAlertChannel.channel.id;
  victims = { workspaceProvider, personalProvider, session, alert, apiKey, alertChannel };

  attackers.otherWorkspaceOwner = { token: ownerB, ownProvider: (await addSimProvider(gw, sim, ownerB)).id };
  attackers.otherMember = { token: memberY, ownProvider: (await addSimProvider(gw, sim, memberY, { scope: 'PERSONAL' })).id };
});
afterAll(disposeAll);

async function call(token: string, query: string, variables: Record<string, unknown>) {
  const response = await fetch(gw.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as { data?: Record<string, unknown> | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };
}

/** What a victim's objects look like, to prove an attack changed nothing. */
async function snapshot() {
  const prisma = gw.db.prisma;
  const ids = [victims.workspaceProvider, victims.personalProvider];
  return JSON.stringify(
    {
      providers: await prisma.provider.findMany({ where: { id: { in: ids } }, orderBy: { id: 'asc' } }),
      session: await prisma.chatSession.findUnique({ where: { id: victims.session } }),
      alert: await prisma.alert.findUnique({ where: { id: victims.alert } }),
      apiKey: await prisma.apiKey.findUnique({ where: { id: victims.apiKey } }),
      alertChannel: await prisma.alertChannel.findUnique({ where: { id: victims.alertChannel } }),
    },
    (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value instanceof Uint8Array ? Buffer.from(value).toString('base64') : value),
  );
}

describe('tenant isolation', () => {
  it('has a case for every id-taking field in the schema', () => {
    expect([...Object.keys(CASES), ...CONVERSATION_IDS, ...PEOPLE_IDS].sort()).toEqual(idTakingFields().sort());
  });

  const runs = Object.entries(CASES).flatMap(([field, spec]) =>
    (['otherWorkspaceOwner', 'otherMember'] as const).flatMap((attacker) =>
      spec.targets
        // The other member shares the workspace: its providers are theirs to use too.
        .filter((target) => attacker === 'otherWorkspaceOwner' || target !== 'workspaceProvider')
        .map((target) => [field, attacker, target] as const),
    ),
  );

  it.each(runs)('%s as %s on the %s: NOT_FOUND or FORBIDDEN, no data, nothing changed', async (field, attacker, target) => {
    const spec = CASES[field];
    const before = await snapshot();
    const { token, ownProvider } = attackers[attacker];
    const variables = JSON.parse(JSON.stringify(spec.variables(victims[target])).replaceAll('"$own"', JSON.stringify(ownProvider))) as Record<string, unknown>;
    const result = spec.subscription
      ? ((await first(gw.ws(token).iterate({ query: spec.query, variables }))) as Awaited<ReturnType<typeof call>>)
      : await call(token, spec.query, variables);

    const allowed = attacker === 'otherMember' && spec.adminOnly ? ['FORBIDDEN'] : ['NOT_FOUND'];
    const chunk = (result.data as { chatStream?: { type: string; errorCode: string } } | null | undefined)?.chatStream;
    if (chunk) {
      // A stream reports a refusal as its one ERROR chunk.
      expect(chunk).toMatchObject({ type: 'ERROR' });
      expect(allowed).toContain(chunk.errorCode);
    } else {
      expect(allowed).toContain(result.errors?.[0]?.extensions?.code);
      for (const value of Object.values(result.data ?? {})) expect(value).toBeNull();
    }
    const text = JSON.stringify(result);
    expect(text).not.toContain('victim');
    expect(await snapshot()).toBe(before);
  });
});
