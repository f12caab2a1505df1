// `{ ...base, field }` as Object.assign makes it. V8 in Node 20 builds an
// object literal that spreads an object and then sets fields of its own on a
// slow path: about 0.6 µs with one field, 1.6 µs with two and 2.3 µs over an
// eight-field base (`node` 20.20, loops of 200,000), against 0.05–0.1 µs for
// Object.assign. A chat call made about a dozen.

/** A copy of `base` with `fields` set over it: `{ ...base, ...fields }`. */
export function withFields<Base extends object, Fields extends object>(base: Base, fields: Fields): Omit<Base, keyof Fields> & Fields {
  return Object.assign({}, base, fields);
}
