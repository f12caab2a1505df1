// The `alerts` subscription as a client holds it: over graphql-ws, listening before the caller goes on.
import { print } from 'graphql';
import { AlertsFeed } from './documents.js';
import type { Claims, TestServer } from './server.js';
import { collect } from './streams.js';

/** The alerts `subscriber` receives, filled as they arrive; resolves once the subscription listens. */
export async function subscribeAlerts(gw: TestServer, subscriber: Claims): Promise<Array<Record<string, unknown>>> {
  const subscribed = gw.nextSubscriber('alert:raised', subscriber.workspace);
  const received = collect(gw.ws(await gw.token(subscriber)).iterate({ query: print(AlertsFeed) }), (result) => (result.data as { alerts: Record<string, unknown> }).alerts);
  await subscribed;
  return received;
}
