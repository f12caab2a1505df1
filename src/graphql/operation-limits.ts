// Bounds on what one operation may ask for, applied by the same envelop plugins
// on HTTP, SSE and WebSocket (graphql-ws goes through yoga.getEnveloped, so its
// parse and validate run these too). Limits found in validation are reported as
// validation errors, never thrown: a rule that throws inside graphql-ws's
// onSubscribe would close the socket with 4500 instead of failing one operation.

import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import { type DocumentNode, GraphQLError, Kind, NoSchemaIntrospectionCustomRule, type ValidationContext, visit } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import type { Context } from '../context.js';

type Rejection = (context: ValidationContext | null, error: GraphQLError) => void;

const limitError = (limit: string, error: GraphQLError) => new GraphQLError(error.message.replace(/^Syntax Error: /, ''), { extensions: { code: 'BAD_USER_INPUT', limit } });

/** Reports the armor's rejection as one validation error with a stable code and the limit's name. */
function reportAs(limit: string): { propagateOnRejection: false; onReject: Rejection[] } {
  return { propagateOnRejection: false, onReject: [(context, error) => context?.reportError(limitError(limit, error))] };
}

function throwAs(limit: string, error: GraphQLError): never {
  throw limitError(limit, error);
}

export function operationLimitPlugins(config: Pick<Config, 'operationLimits' | 'introspection' | 'production'>): Plugin[] {
  const limits = config.operationLimits;
  const plugins: Plugin[] = [
    characterLimitPlugin(limits.maxCharacters),
    // Tokens are counted while parsing, before any document exists: that one throws (a parse error).
    maxTokensPlugin({ n: limits.maxTokens, onReject: [(_, error) => throwAs('tokens', error)] }) as Plugin,
    maxDepthPlugin({ n: limits.maxDepth, ...reportAs('depth') }) as Plugin,
    maxAliasesPlugin({ n: limits.maxAliases, ...reportAs('aliases') }) as Plugin,
    maxDirectivesPlugin({ n: limits.maxDirectives, ...reportAs('directives') }) as Plugin,
    costLimitPlugin({ maxCost: limits.maxCost, ...reportAs('cost') }) as Plugin,
    introspectionPlugin(config.introspection),
  ];
  // "Did you mean …?" maps the schema for someone who may not see it.
  if (config.production) plugins.push(blockFieldSuggestionsPlugin({ mask: '' }) as Plugin);
  return plugins;
}

/** The query text's length, checked before the parser sees it. */
function characterLimitPlugin(max: number): Plugin {
  return {
    onParse({ params }) {
      const text = typeof params.source === 'string' ? params.source : params.source.body;
      if (text.length > max) {
        throw new GraphQLError(`Query length limit of ${max} characters exceeded, found ${text.length}.`, {
          extensions: { code: 'BAD_USER_INPUT', limit: 'characters' },
        });
      }
    },
  };
}

function introspectionPlugin(mode: Config['introspection']): Plugin {
  if (mode === 'on') return {};
  if (mode === 'off') return { onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) };
  // ADMIN only: the viewer is known once the context is built, so the check runs before execution.
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const role = (args.contextValue as Partial<Context>).viewer?.role;
      if (role === 'ADMIN' || role === 'OWNER' || !introspects(args.document)) return;
      setResultAndStopExecution({
        errors: [new GraphQLError('Introspection is open to ADMIN and OWNER tokens only', { extensions: { code: 'FORBIDDEN' } })],
      });
    },
  };
}

/** Per document (Yoga caches parsed documents), so each one is walked once. */
const introspecting = new WeakMap<DocumentNode, boolean>();
function introspects(document: DocumentNode): boolean {
  let found = introspecting.get(document);
  if (found === undefined) {
    found = false;
    visit(document, {
      [Kind.FIELD]: (field) => void (found ||= field.name.value === '__schema' || field.name.value === '__type'),
    });
    introspecting.set(document, found);
  }
  return found;
}
