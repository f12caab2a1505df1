// The console's only way to the gateway: the public GraphQL API, over fetch for
// queries and mutations and over graphql-ws for subscriptions, with the pasted token.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type FormattedExecutionResult, type GraphQLFormattedError, print } from 'graphql';
import { type Client, createClient } from 'graphql-ws';

/** A GraphQL error as the API reports it: its message, its stable `extensions.code`, and the input field it concerns (`extensions.field`), if any. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly field?: string,
  ) {
    super(message);
  }

  static from(errors: readonly GraphQLFormattedError[]): ApiError {
    const [first] = errors;
    const field = first?.extensions?.field;
    return new ApiError(first?.message ?? 'Request failed', String(first?.extensions?.code ?? 'INTERNAL'), typeof field === 'string' ? field : undefined);
  }
}

export interface Api {
  request<TResult, TVariables>(document: TypedDocumentNode<TResult, TVariables>, variables?: TVariables): Promise<TResult>;
  /** Calls `onData` for each event until the subscription ends; the returned function ends it early. */
  subscribe<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    variables: TVariables,
    handlers: { onData(data: TResult): void; onEnd?(error?: ApiError): void },
  ): () => void;
  close(): void;
}

export function createApi(token: string, origin = location.origin): Api {
  const authorization = `Bearer ${token}`;
  let sockets: Client | undefined;
  // One socket for every subscription, opened on the first and reopened after a drop.
  const ws = () =>
    (sockets ??= createClient({
      url: `${origin.replace(/^http/, 'ws')}/graphql`,
      connectionParams: { authorization },
      lazy: true,
      retryAttempts: 10,
    }));

  return {
    async request(document, variables) {
      const response = await fetch(`${origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json', authorization },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const result = (await response.json()) as FormattedExecutionResult;
      if (result.errors?.length) throw ApiError.from(result.errors);
      if (!result.data) throw new ApiError(`The gateway answered ${response.status}`, 'INTERNAL');
      return result.data as never;
    },
    subscribe(document, variables, { onData, onEnd }) {
      return ws().subscribe(
        { query: print(document), variables: variables as Record<string, unknown> },
        {
          next: (result) => (result.errors?.length ? onEnd?.(ApiError.from(result.errors)) : onData(result.data as never)),
          error: (error: unknown) => onEnd?.(connectionError(error)),
          complete: () => onEnd?.(),
        },
      );
    },
    close: () => void sockets?.dispose(),
  };
}

function connectionError(error: unknown): ApiError {
  if (Array.isArray(error)) return ApiError.from(error as GraphQLFormattedError[]);
  if (error instanceof CloseEvent) return new ApiError(`Connection closed (${error.code}${error.reason ? `: ${error.reason}` : ''})`, 'UNAVAILABLE');
  return new ApiError('Connection to the gateway failed', 'UNAVAILABLE');
}
