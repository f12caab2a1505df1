// A per-row read done once however many GraphQL fields of that row ask for it
// (rows are objects of one request, so a WeakMap keyed by them lives as long as it).
export function oncePerRow<Row extends object, T>(read: (row: Row) => Promise<T>): (row: Row) => Promise<T> {
  const done = new WeakMap<Row, Promise<T>>();
  return (row) => {
    let result = done.get(row);
    if (!result) done.set(row, (result = read(row)));
    return result;
  };
}
