// JSON Schema → the OpenAPI 3.0 subset Gemini takes for function parameters
// and responseSchema. Gemini parses a schema as a protocol buffer: a keyword it
// has no field for ($schema, additionalProperties, $ref, const, ...) or a list
// where it wants one type is a 400, so only its own keywords are kept.
import type { JsonSchema } from '../../chat/canonical.js';
import { ProviderCallError } from './adapter.js';

const KEPT = ['title', 'description', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern', 'minimum', 'maximum', 'minProperties', 'maxProperties'];
/** The formats Gemini accepts; any other is refused ("only 'enum' and 'date-time' are supported for STRING type"). */
const FORMATS = new Set(['enum', 'date-time', 'float', 'double', 'int32', 'int64']);

/**
 * Schemas a caller sends are bounded in characters, not in what their references expand to: a definition that
 * refers to the next one twice, thirty deep, would inline to a billion nodes. Past this many, the schema is refused.
 */
export const MAX_SCHEMA_NODES = 10_000;

/** `field`: the request field the schema came from, named when it is refused. */
export function toGeminiSchema(schema: JsonSchema, field: string): JsonSchema {
  const budget = { left: MAX_SCHEMA_NODES, field };
  return convert(schema, schema, [], budget);
}

type Budget = { left: number; field: string };

/** `expanding`: the local references being inlined above this point, so a recursive one stops. */
function convert(schema: JsonSchema, root: JsonSchema, expanding: string[], budget: Budget): JsonSchema {
  if (--budget.left < 0) {
    throw new ProviderCallError(
      'BAD_USER_INPUT',
      `${budget.field}: the schema expands past ${MAX_SCHEMA_NODES} nodes once its $refs are inlined (Gemini resolves none)`,
      undefined,
      false,
      undefined,
      {
        field: budget.field,
      },
    );
  }
  const { $ref, ...rest } = schema;
  if (typeof $ref === 'string') {
    // Gemini resolves no references: a local definition is inlined (its siblings win); a recursive or foreign one leaves only the siblings.
    const target = expanding.includes($ref) ? undefined : definitionAt(root, $ref);
    return target ? convert({ ...target, ...rest }, root, [...expanding, $ref], budget) : convert(rest, root, expanding, budget);
  }
  const { allOf, ...own } = rest;
  const result = convertOwn(own, root, expanding, budget);
  if (!Array.isArray(allOf)) return result;
  // Gemini has no allOf: the members are merged into one schema, the schema's own keywords over theirs.
  return merge(
    allOf
      .filter(isObject)
      .map((member) => convert(member, root, expanding, budget))
      .reduce(merge, {}),
    result,
  );
}

function convertOwn(schema: JsonSchema, root: JsonSchema, expanding: string[], budget: Budget): JsonSchema {
  const sub = (value: unknown) => convert(value as JsonSchema, root, expanding, budget);
  const result: JsonSchema = {};
  for (const keyword of KEPT) if (schema[keyword] !== undefined) result[keyword] = schema[keyword];
  if (typeof schema.format === 'string' && FORMATS.has(schema.format)) result.format = schema.format;

  const types = (Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type]) as string[];
  let nullable = schema.nullable === true || types.includes('null');
  const concrete = types.filter((type) => type !== 'null');
  if (concrete.length > 1) {
    // A list of types is refused: each becomes a member of anyOf with the keywords that apply to it.
    const { type: _types, ...rest } = schema;
    return withNullable({ ...result, anyOf: concrete.map((type) => sub({ ...rest, type })) }, nullable);
  }
  if (concrete.length === 1) result.type = concrete[0];

  const values = 'const' in schema ? [schema.const] : Array.isArray(schema.enum) ? schema.enum : undefined;
  if (values) {
    if (values.includes(null)) nullable = true;
    // Gemini's enum holds strings only (a number in it is a 400): another enum is left out, the type still holds.
    const strings = values.filter((value) => value !== null);
    if (strings.length > 0 && strings.every((value) => typeof value === 'string')) {
      result.enum = strings;
      result.type ??= 'string';
    }
  }
  if (isObject(schema.properties)) {
    const properties = Object.entries(schema.properties as Record<string, unknown>).filter(([, value]) => isObject(value));
    result.properties = Object.fromEntries(properties.map(([name, value]) => [name, sub(value)]));
    if (Array.isArray(schema.required)) result.required = schema.required.filter((name) => typeof name === 'string' && name in (result.properties as JsonSchema));
  }
  if (isObject(schema.items)) result.items = sub(schema.items);
  // JSON Schema may leave the type to the shape; Gemini wants it said.
  if (result.type === undefined && result.properties) result.type = 'object';
  if (result.type === undefined && result.items) result.type = 'array';

  const alternatives = (schema.anyOf ?? schema.oneOf) as unknown;
  if (Array.isArray(alternatives)) {
    // A null alternative is Gemini's `nullable`; a single other alternative needs no anyOf.
    const members = alternatives.filter(isObject).map(sub);
    const others = members.filter((member) => !(member.nullable === true && member.type === undefined && member.anyOf === undefined && member.enum === undefined));
    if (others.length < members.length) nullable = true;
    if (others.length === 1) Object.assign(result, merge(others[0], result));
    else if (others.length > 1) result.anyOf = others;
  }
  return withNullable(result, nullable);
}

function withNullable(schema: JsonSchema, nullable: boolean): JsonSchema {
  return nullable ? { ...schema, nullable: true } : schema;
}

/** Both schemas at once: properties and required joined, any other keyword of `b` over `a`'s. */
function merge(a: JsonSchema, b: JsonSchema): JsonSchema {
  const merged = { ...a, ...b };
  if (a.properties || b.properties) merged.properties = { ...(a.properties as JsonSchema), ...(b.properties as JsonSchema) };
  if (a.required || b.required) merged.required = [...new Set([...((a.required as string[]) ?? []), ...((b.required as string[]) ?? [])])];
  return merged;
}

/** `#/$defs/Name` or `#/definitions/Name` (any JSON pointer into the root schema), or undefined. */
function definitionAt(root: JsonSchema, ref: string): JsonSchema | undefined {
  if (!ref.startsWith('#')) return undefined;
  let node: unknown = root;
  for (const token of ref.slice(1).split('/').slice(1)) {
    if (!isObject(node)) return undefined;
    node = (node as JsonSchema)[token.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return isObject(node) ? (node as JsonSchema) : undefined;
}

function isObject(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
