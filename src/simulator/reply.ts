// Deterministic replies: the same request always gets the same text and counts.

export interface SimMessage {
  role: string;
  content: string;
}

/** About four characters a token, like the providers' own rule of thumb. */
export function countTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The reply's text, cut into `chunks` pieces of `chunkSize` characters. */
export function replyChunks(messages: SimMessage[], chunks: number, chunkSize: number): string[] {
  const lastUser = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const seed = `Echo: ${lastUser.slice(0, 40)}. `;
  let text = seed;
  while (text.length < chunks * chunkSize) text += 'lorem ipsum dolor sit amet ';
  text = text.slice(0, chunks * chunkSize);
  return Array.from({ length: chunks }, (_, i) => text.slice(i * chunkSize, (i + 1) * chunkSize));
}

export const THINKING = ['Considering the question. ', 'Drafting an answer. '];

export function promptTokens(messages: SimMessage[], system = ''): number {
  return countTokens(system + messages.map((m) => m.content).join(''));
}
