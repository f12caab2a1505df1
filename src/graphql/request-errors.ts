// What a client sees of a request that is not valid GraphQL, the same on every
// transport: the contract's BAD_USER_INPUT (Yoga says GRAPHQL_PARSE_FAILED or
// GRAPHQL_VALIDATION_FAILED on HTTP only, graphql-ws gets no code), and never
// the rejected variable's value, which graphql-js echoes whole ("got invalid
// value { apiKey: … }") and which may hold an API key. Runs after Yoga's hooks.
import { GraphQLError, visit, type DocumentNode, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const YOGA_REQUEST_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED']);
/** A reason that names only types, fields and enum values (no echoed input). */
const SAFE_REASON = /^(?:[A-Za-z ,.?]|"[A-Za-z_][\w!\[\]]{0,40}")*$/;

/** `Variable "$input" got invalid value {…} at "input.kind"; Reason.` without the value (and the reason only if it echoes nothing). */
export function withoutEchoedValue(message: string): string {
  const match = /^Variable "\$(\w+)" got invalid value /.exec(message);
  if (!match) return message;
  const name = match[1];
  const path = [...message.matchAll(new RegExp(` at "(${name}(?:\\.\\w+|\\[\\d+\\])*)"; `, 'g'))].at(-1)?.[1];
  const reason = message.slice(message.lastIndexOf('; ') + 2);
  return `Variable "$${name}" got an invalid value${path ? ` at "${path}"` : ''}; ${SAFE_REASON.test(reason) ? reason : 'it does not fit the type.'}`;
}

function recode(error: unknown): void {
  if (!(error instanceof Error) || error.name !== 'GraphQLError') return;
  const graphQLError = error as GraphQLError & { message: string };
  const extensions = graphQLError.extensions as Record<string, unknown>;
  if (extensions.code === undefined || YOGA_REQUEST_CODES.has(String(extensions.code))) extensions.code = 'BAD_USER_INPUT';
  graphQLError.message = withoutEchoedValue(graphQLError.message);
}

/** Errors of a result that never ran a resolver (variables that do not coerce). */
function recodeRequestErrors(result: unknown): void {
  const { errors, data } = result as ExecutionResult;
  if (errors && data === undefined) errors.forEach(recode);
}

/** Postgres text cannot hold U+0000: a string with one is refused before any resolver sees it. */
function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(holdsNul);
  if (value && typeof value === 'object') return Object.values(value).some(holdsNul);
  return false;
}

/** Yoga caches parsed documents, so each one is walked once, not on every execute. */
const nulInDocument = new WeakMap<DocumentNode, boolean>();
function documentHoldsNul(document: DocumentNode): boolean {
  let found = nulInDocument.get(document);
  if (found === undefined) {
    found = false;
    visit(document, { StringValue: (node) => void (found ||= node.value.includes('\u0000')) });
    nulInDocument.set(document, found);
  }
  return found;
}

const NUL_REFUSED = { errors: [new GraphQLError('Strings may not contain the character U+0000', { extensions: { code: 'BAD_USER_INPUT' } })] };

export function requestErrorsPlugin(): Plugin {
  const refuseNul = ({ args, setResultAndStopExecution }: { args: { document: DocumentNode; variableValues?: unknown }; setResultAndStopExecution: (result: ExecutionResult) => void }) => {
    if (holdsNul(args.variableValues) || documentHoldsNul(args.document)) setResultAndStopExecution(NUL_REFUSED);
  };
  return {
    // Yoga puts the JSON parser's message, which quotes the body, in `originalError` (and chooses the status by
    // its presence): the name stays, the message goes.
    onResultProcess({ result }) {
      if (Symbol.asyncIterator in (result as object)) return;
      for (const item of Array.isArray(result) ? result : [result]) {
        for (const error of (item as ExecutionResult).errors ?? []) {
          const extensions = error.extensions as { originalError?: { name?: unknown; message?: unknown } };
          if (extensions.originalError) extensions.originalError = { name: String(extensions.originalError.name ?? 'Error'), message: 'Details withheld' };
        }
      }
    },
    onParse: () => ({ result }) => recode(result),
    onValidate: () => ({ result }) => result.forEach(recode),
    onExecute: (payload) => {
      refuseNul(payload);
      return { onExecuteDone: ({ result }) => recodeRequestErrors(result) };
    },
    onSubscribe: (payload) => {
      refuseNul(payload);
      return { onSubscribeResult: ({ result }) => recodeRequestErrors(result) };
    },
  };
}
