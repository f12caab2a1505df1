// The data of each event of a server-sent event stream, for a protocol whose
// SDK cannot be given our fetch (see gemini.adapter.ts). As the HTML standard
// has it, lines end in "\r\n", "\n" or "\r", comments are skipped and an
// event's data lines are joined; unlike it, a stream that ends inside an event
// is an error (a cut answer), not an event silently dropped.

/** Yields each event's `data` (its data lines joined by "\n"); events without data are skipped. */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let line = '';
  let data: string[] = [];
  // A "\r\n" may be cut between two reads: the "\n" then ends no second line.
  let afterCarriageReturn = false;
  const reader = body.getReader();
  // Whoever stops reading early (a cancelled call) closes the upstream request with it.
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      let text = decoder.decode(read.value, { stream: true });
      if (afterCarriageReturn && text.startsWith('\n')) text = text.slice(1);
      afterCarriageReturn = text.endsWith('\r');
      const pieces = text.split(/\r\n|\r|\n/);
      line += pieces[0];
      for (const next of pieces.slice(1)) {
        if (line === '') {
          if (data.length > 0) yield data.join('\n');
          data = [];
        } else if (fieldName(line) === 'data') {
          const value = line.slice(5);
          data.push(value.startsWith(' ') ? value.slice(1) : value);
        } // other fields (event, id, retry) and comments (":") carry nothing these protocols use
        line = next;
      }
    }
    decoder.decode(); // throws when the stream ended inside a character
    if (line !== '' || data.length > 0) throw new SyntaxError('the stream ended inside an event');
  } finally {
    reader.cancel().catch(() => undefined);
  }
}

function fieldName(line: string): string {
  const colon = line.indexOf(':');
  return colon === -1 ? line : line.slice(0, colon);
}
