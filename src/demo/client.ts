// The demo's GraphQL client: what any client of the gateway does, fetch for
// queries and mutations and graphql-ws for subscriptions, with a bearer token.
import { type Client, createClient } from 'graphql-ws';
import WebSocket from 'ws';

export class GraphQLRequestError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(`${message} (${code})`);
  }
}

interface Result<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export interface DemoClient {
  request<T>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** Calls `onData` for each event until the server completes the subscription; resolves then. */
  subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void): Promise<void>;
  close(): Promise<void>;
}

export function demoClient(baseUrl: string, token: string): DemoClient {
  const authorization = `Bearer ${token}`;
  let ws: Client | undefined;
  const failure = (errors: NonNullable<Result<unknown>['errors']>) => new GraphQLRequestError(errors[0]!.message, errors[0]!.extensions?.code ?? 'INTERNAL');
  return {
    async request<T>(query: string, variables?: Record<string, unknown>) {
      const response = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization },
        body: JSON.stringify({ query, variables }),
      });
      const result = (await response.json()) as Result<T>;
      if (result.errors?.length) throw failure(result.errors);
      return result.data!;
    },
    async subscribe<T>(query: string, variables: Record<string, unknown>, onData: (data: T) => void) {
      ws ??= createClient({ url: `${baseUrl.replace(/^http/, 'ws')}/graphql`, webSocketImpl: WebSocket, connectionParams: { authorization } });
      for await (const result of ws.iterate<T>({ query, variables })) {
        if (result.errors?.length) throw failure(result.errors as never);
        onData(result.data as T);
      }
    },
    close: async () => void (await ws?.dispose()),
  };
}
