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
export function statement<Params extends object>(write: (p: { readonly [Name in keyof Params]: string }) => string, preparedAs?: string): Statement<Params> {
  const names: (keyof Params)[] = [];
  const placeholders = new Proxy({} as { readonly [Name in keyof Params]: string }, {
    get: (_target, name) => `$${names.indexOf(name as keyof Params) + 1 || names.push(name as keyof Params)}`,
  });
  const text = write(placeholders);
  return { text, ...(preparedAs ? { name: preparedAs } : {}), values: (params) => names.map((name) => params[name]) };
}
