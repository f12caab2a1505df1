// The master keys from ENCRYPTION_KEYS: `id:base64key,...`. The first seals,
// every one opens, so a new key can be put first and old rows re-sealed online.
import { encryptionKeysProblem } from '../config.js';

export interface Keyring {
  readonly activeId: string;
  key(id: string): Buffer | undefined;
  readonly ids: readonly string[];
}

export function parseKeyring(spec: string): Keyring {
  const problem = encryptionKeysProblem(spec);
  if (problem) throw new Error(`ENCRYPTION_KEYS: ${problem}`);
  const keys = new Map<string, Buffer>();
  for (const entry of spec.split(',')) {
    const [id, key] = entry.trim().split(':');
    keys.set(id, Buffer.from(key, 'base64'));
  }
  const ids = [...keys.keys()];
  return { activeId: ids[0], key: (id) => keys.get(id), ids };
}
