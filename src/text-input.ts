// The free text the API routes by, stores or reports on, each kind bounded in
// length and in characters: no value may break an index (Postgres refuses a
// btree row over about 2.7 KB, and the ledger's rollup key holds the model, agent,
// operation and user: at most about 630 bytes with the workspace), a
// metric, a CSV cell or a log line. Refusals name the field and the rule,
// never the value.
import { BadUserInputError } from './errors.js';

/** Model names as providers spell them (`gpt-4o`, `meta-llama/Llama-3.1-8B-Instruct`, `llama3.1:8b`): printable ASCII, no spaces. */
const MODEL_NAME = /^[\x21-\x7e]{1,200}$/;
/** Names a program gives its callers: agents, operations. */
const NAME = /^[A-Za-z0-9._:/ -]{1,64}$/;
/** Text people read (labels): any characters but control ones. */
const DISPLAY_TEXT = /^[^\p{Cc}]*$/u;
/** Search text (it is only compared, never stored). */
const MAX_SEARCH_CHARACTERS = 200;

export function modelName(value: string, field: string): string {
  if (!MODEL_NAME.test(value)) throw new BadUserInputError(`${field} must be a model name: 1 to 200 printable ASCII characters without spaces`, field);
  return value;
}

export function callerName(value: string, field: string): string {
  if (!NAME.test(value)) throw new BadUserInputError(`${field} must be 1 to 64 letters, digits, spaces or . _ : / -`, field);
  return value;
}

/** Trimmed display text of 1 to `max` characters. */
export function displayText(value: string, field: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > max || !DISPLAY_TEXT.test(trimmed))
    throw new BadUserInputError(`${field} must be 1 to ${max} characters, none of them control characters`, field);
  return trimmed;
}

export function searchText(value: string, field: string): string {
  if (value.length > MAX_SEARCH_CHARACTERS) throw new BadUserInputError(`${field} must be at most ${MAX_SEARCH_CHARACTERS} characters`, field);
  return value;
}
