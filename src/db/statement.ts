// A statement whose parameters are named where the text uses them. The text is
// written once, with a placeholder per name (`p.id` becomes `$1`, numbered in
// the order of first use), and the values are read from an object by the same
// names: a text and its values cannot fall out of step, and a name the
// parameters' type lacks does not compile.

export interface Statement<Params> {
  readonly text: string;
  /** The values of `$1…$n`, in order. */
  values(params: Params): unknown[];
}

export function statement<Params extends object>(write: (p: { readonly [Name in keyof Params]: string }) => string): Statement<Params> {
  const names: (keyof Params)[] = [];
  const placeholders = new Proxy({} as { readonly [Name in keyof Params]: string }, {
    get: (_target, name) => `$${names.indexOf(name as keyof Params) + 1 || names.push(name as keyof Params)}`,
  });
  const text = write(placeholders);
  return { text, values: (params) => names.map((name) => params[name]) };
}
