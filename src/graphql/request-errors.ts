// What a client sees of a request that is not valid GraphQL, the same on every
// transport: the contract's BAD_USER_INPUT (Yoga says GRAPHQL_PARSE_FAILED or
// GRAPHQL_VALIDATION_FAILED on HTTP only, graphql-ws gets no code), and never
// the rejected variable's value, which graphql-js echoes whole ("got invalid
// value { apiKey: … }") and which may hold an API key. Runs after Yoga's hooks.
import { type DocumentNode, type ExecutionResult, GraphQLError, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';

/** Yoga's codes for a request that is not GraphQL (parse, validation, and BAD_REQUEST: invalid JSON, batches, GET mutations). */
const YOGA_REQUEST_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST']);
/** A reason that names only types, fields, enum values and numbers (no echoed input). */
const SAFE_REASON = /^(?:[A-Za-z0-9 ,.?:^()+-]|"[A-Za-z_][\w![\]]{0,40}")*$/;
/** graphql-js's reasons that quote the rejected input itself (a string value, an unknown field name): said again without it. */
const ECHOING_REASONS: Array<[RegExp, (match: RegExpExecArray) => string]> = [
  [/does not exist in "(\w+)" enum\.$|^Enum "(\w+)" cannot represent /, (m) => `it is not a value of the "${m[1] ?? m[2]}" enum.`],
  [/is not defined by type "(\w+)"\.$/, (m) => `it has a field that "${m[1]}" does not define.`],
  [/^Int cannot represent /, () => 'Int must be an integer from -2147483648 to 2147483647.'],
  [/^Float cannot represent /, () => 'Float must be a finite number.'],
  [/^(\w+) cannot represent /, (m) => `${m[1]} cannot represent this value.`],
];
/** graphql-js's suggestion: only schema names, but a map of the schema for whoever may not see it. */
const SUGGESTION = / Did you mean (?:the enum value )?(?:"\w+"(?:, or |, | or )?)+\?$/;

/**
 * `Variable "$input" got invalid value {…} at "input.kind"; Reason.` without the value, and with the reason
 * only in words that echo nothing; `suggest: false` (production) drops "Did you mean …?" as well.
 */
export function withoutEchoedValue(message: string, { suggest = false }: { suggest?: boolean } = {}): string {
  const match = /^Variable "\$(\w+)" got invalid value /.exec(message);
  if (!match) return message;
  const name = match[1];
  const path = [...message.matchAll(new RegExp(` at "(${name}(?:\\.\\w+|\\[\\d+\\])*)"; `, 'g'))].at(-1)?.[1];
  const reason = message.slice(message.lastIndexOf('; ') + 2);
  const suggestion = suggest ? (SUGGESTION.exec(reason)?.[0] ?? '') : '';
  return `Variable "$${name}" got an invalid value${path ? ` at "${path}"` : ''}; ${saidSafely(reason.replace(SUGGESTION, ''))}${suggestion}`;
}

function saidSafely(reason: string): string {
  for (const [pattern, say] of ECHOING_REASONS) {
    const found = pattern.exec(reason);
    if (found) return say(found);
  }
  return SAFE_REASON.test(reason) ? reason : 'it does not fit the type.';
}

function recode(error: unknown, suggest: boolean): void {
  if (!(error instanceof Error) || error.name !== 'GraphQLError') return;
  const graphQLError = error as GraphQLError & { message: string };
  const extensions = graphQLError.extensions as Record<string, unknown>;
  if (extensions.code === undefined || YOGA_REQUEST_CODES.has(String(extensions.code))) extensions.code = 'BAD_USER_INPUT';
  graphQLError.message = withoutEchoedValue(graphQLError.message, { suggest });
}

/** Errors of a result that never ran a resolver (variables that do not coerce). */
function recodeRequestErrors(result: unknown, suggest: boolean): void {
  const { errors, data } = result as ExecutionResult;
  if (errors && data === undefined) for (const error of errors) recode(error, suggest);
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

/** `suggest`: keep graphql-js's "Did you mean …?" (development). */
export function requestErrorsPlugin({ suggest }: { suggest: boolean }): Plugin {
  const refuseNul = ({
    args,
    setResultAndStopExecution,
  }: {
    args: { document: DocumentNode; variableValues?: unknown };
    setResultAndStopExecution: (result: ExecutionResult) => void;
  }) => {
    if (holdsNul(args.variableValues) || documentHoldsNul(args.document)) setResultAndStopExecution(NUL_REFUSED);
  };
  return {
    // Yoga puts the JSON parser's message, which quotes the body, in `originalError` (and chooses the status by
    // its presence): the name stays, the message goes.
    onResultProcess({ result }) {
      if (Symbol.asyncIterator in (result as object)) return;
      for (const item of Array.isArray(result) ? result : [result]) {
        for (const error of (item as ExecutionResult).errors ?? []) {
          const extensions = error.extensions as { code?: unknown; originalError?: { name?: unknown; message?: unknown } };
          if (extensions.originalError) extensions.originalError = { name: String(extensions.originalError.name ?? 'Error'), message: 'Details withheld' };
          if (extensions.code === 'BAD_REQUEST') extensions.code = 'BAD_USER_INPUT';
        }
      }
    },
    onParse:
      () =>
      ({ result }) =>
        recode(result, suggest),
    onValidate:
      () =>
      ({ result }) => {
        for (const error of result) recode(error, suggest);
      },
    onExecute: (payload) => {
      refuseNul(payload);
      return { onExecuteDone: ({ result }) => recodeRequestErrors(result, suggest) };
    },
    onSubscribe: (payload) => {
      refuseNul(payload);
      return { onSubscribeResult: ({ result }) => recodeRequestErrors(result, suggest) };
    },
  };
}
