// A statement whose parameters are named where the text uses them. The text is
// written once, with a placeholder per name (`p.id` becomes `$1`, numbered in
// the order of first use), and the values are read from an object by the same
// names: a text and its values cannot fall out of step, and a name the
// parameters' type lacks does not compile.
//
// A statement on every call's path is given a name: Postgres then parses and
// plans it once per connection instead of on every call (the reservation and
// the finalize: about half the server's CPU for the pair, bench:peers).

/** A statement's text, with the name it is prepared under on each connection when it has one. */
export interface StatementText {
  readonly text: string;
  readonly name?: string;
}

export interface Statement<Params> extends StatementText {
  /** The values of `$1…$n`, in order. */
  values(params: Params): unknown[];
}

/** `preparedAs` names it: only for a fixed text used on every call (one prepared statement per name and connection). */
export function statement<Params extends object>(write: (p: Placeholders<Params>) => string, preparedAs?: string): Statement<Params> {
  const grouped = groupedStatement<{ all: Params }>((p) => write(p.all), preparedAs);
  return { ...grouped, values: (params) => grouped.values({ all: params }) };
}

export type Placeholders<Params> = { readonly [Name in keyof Params]: string };

/**
 * A statement whose parameters come in named groups, for a text made of parts written for each group alone:
 * `p.reserve.ids` stands for `params.reserve.ids`. Numbered and read as `statement`'s are.
 */
export function groupedStatement<Groups extends { [Group in keyof Groups]: object }>(
  write: (p: { readonly [Group in keyof Groups]: Placeholders<Groups[Group]> }) => string,
  preparedAs?: string,
): Statement<Groups> {
  const numbers = new Map<string, number>();
  const used: Array<[group: string, name: string]> = [];
  const placeholder = (group: string, name: string) => {
    const key = JSON.stringify([group, name]);
    if (!numbers.has(key)) numbers.set(key, used.push([group, name]));
    return `$${numbers.get(key)}`;
  };
  // Only names are placeholders: a symbol (what a template or an inspection asks for) is not a parameter.
  const placeholdersOf = (group: string) => new Proxy({}, { get: (_target, name) => (typeof name === 'symbol' ? undefined : placeholder(group, name)) });
  const groups = new Proxy({} as Parameters<typeof write>[0], {
    get: (_target, group) => (typeof group === 'symbol' ? undefined : placeholdersOf(group)),
  });
  const text = write(groups);
  return {
    text,
    ...(preparedAs ? { name: preparedAs } : {}),
    values: (params) => used.map(([group, name]) => (params[group as keyof Groups] as Record<string, unknown>)[name]),
  };
}
