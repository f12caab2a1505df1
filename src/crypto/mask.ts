// The only part of a key that is ever shown: at most its last 4 characters,
// and fewer for short keys, so a mask never gives away a guessable share of one.
const DOTS = '••••';

/** The characters kept (stored as the provider's key hint). */
export function keyHint(key: string): string {
  const shown = key.length >= 16 ? 4 : key.length >= 8 ? 2 : 0;
  return shown === 0 ? '' : key.slice(-shown);
}

export function maskKey(hint: string): string {
  return `${DOTS}${hint.slice(-4)}`;
}
