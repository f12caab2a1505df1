// Alerts through the API: listed newest first for admins, acknowledged once,
// invisible to members and to other workspaces.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/simulator.js';
import { addSimProvider, userMessage } from '../testkit/chat.js';
import { AcknowledgeAlert, AlertList, Chat, UpdateProvider } from '../testkit/documents.js';
import { disposeAll, newOwner, newWorkspace, startSimulator, startTestServer, type TestServer } from '../testkit/server.js';

let gw: TestServer;
let sim: Simulator;
beforeAll(async () => {
  [gw, sim] = await Promise.all([startTestServer({ CREDENTIAL_CHANGES_PER_HOUR: '1000' }), startSimulator()]);
});
afterAll(disposeAll);

describe('alerts', () => {
  it('a budget crossing raises BUDGET_WARNING and BUDGET_REACHED once each; admins list and acknowledge them, members cannot', async () => {
    const { workspace, token } = await newOwner(gw);
    const provider = await addSimProvider(gw, sim, token, { label: 'Main "prod" key' });
    // Reservations of 62 µ$ (calls of 8 µ$) against a 70 µ$ budget: 62/70 warns, 8 + 62 fills it, then calls are refused,
    // and the first refusal says the budget is reached.
    expect((await gw.execute(UpdateProvider, { id: provider.id, input: { monthlyBudgetUsd: 0.00007 } }, { token })).errors).toBeUndefined();
    const chat = () => gw.execute(Chat, { input: { messages: userMessage(), maxTokens: 100 } }, { token });
    expect((await chat()).errors).toBeUndefined();
    expect((await chat()).errors).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await chat()).errors?.[0].extensions?.code).toBe('LIMIT_EXCEEDED');

    const admin = await gw.token(workspace.claims('admin'));
    const listed = await gw.execute(AlertList, { first: 10 }, { token: admin });
    expect(listed.errors).toBeUndefined();
    const nodes = listed.data!.alerts.edges.map((e) => e.node);
    expect(nodes.map((n) => [n.kind, n.severity])).toEqual([
      ['BUDGET_REACHED', 'CRITICAL'],
      ['BUDGET_WARNING', 'WARNING'],
    ]);
    expect(nodes[1].message).toBe(`Main "prod" key: The provider's monthly budget is 88% used for ${new Date().toISOString().slice(0, 7)} ($0.000062 of $0.000070)`);
    expect(nodes[1].data).toMatchObject({ limit: 'PROVIDER_MONTHLY_BUDGET', used: 62, max: 70 });
    expect(nodes[0].data).toMatchObject({ limit: 'PROVIDER_MONTHLY_BUDGET', max: 70 });

    const reached = nodes[0].id;
    const acknowledged = await gw.execute(AcknowledgeAlert, { id: reached }, { token: admin });
    expect(acknowledged.data!.acknowledgeAlert.acknowledgedAt).not.toBeNull();
    const again = await gw.execute(AcknowledgeAlert, { id: reached }, { token });
    expect(again.data!.acknowledgeAlert.acknowledgedAt).toBe(acknowledged.data!.acknowledgeAlert.acknowledgedAt);
    const open = await gw.execute(AlertList, { unacknowledgedOnly: true }, { token: admin });
    expect(open.data!.alerts.edges.map((e) => e.node.kind)).toEqual(['BUDGET_WARNING']);

    const member = await gw.token(workspace.claims('member'));
    expect((await gw.execute(AlertList, {}, { token: member })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    expect((await gw.execute(AcknowledgeAlert, { id: reached }, { token: member })).errors?.[0].extensions?.code).toBe('FORBIDDEN');
    const stranger = await gw.token(newWorkspace().claims('owner'));
    expect((await gw.execute(AcknowledgeAlert, { id: reached }, { token: stranger })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.execute(AcknowledgeAlert, { id: 'not-an-id' }, { token: admin })).errors?.[0].extensions?.code).toBe('NOT_FOUND');
    expect((await gw.execute(AlertList, {}, { token: stranger })).data!.alerts.edges).toEqual([]);
  });
});
