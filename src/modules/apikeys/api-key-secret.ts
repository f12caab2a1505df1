// The secret of a gateway API key: `gk_` + 32 random bytes in base62. Only an
// HMAC-SHA-256 of it is stored, under a key derived (HKDF) from a keyring entry
// whose id is stored beside the hash: rotating ENCRYPTION_KEYS keeps old API keys
// valid while their entry stays in the keyring, as it does for sealed provider keys.
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../../crypto/keyring.js';

const SECRET_TAG = 'gk_';
const RANDOM_BYTES = 32;
/** `gk_` and 8 base62 characters: enough to find one row, shown to recognise the key. */
export const PREFIX_LENGTH = SECRET_TAG.length + 8;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 32 bytes are 256 bits; 43 base62 digits hold 256.03 bits. */
const BODY_LENGTH = 43;
const SECRET_PATTERN = new RegExp(`^${SECRET_TAG}[0-9A-Za-z]{${BODY_LENGTH}}$`);

function base62(bytes: Buffer): string {
  let value = BigInt(`0x${bytes.toString('hex')}`);
  let out = '';
  for (let i = 0; i < BODY_LENGTH; i++) {
    out = BASE62[Number(value % 62n)] + out;
    value /= 62n;
  }
  return out;
}

export function newSecret(): string {
  return SECRET_TAG + base62(randomBytes(RANDOM_BYTES));
}

/** Whether a bearer credential has the shape of an API key secret (else it is a JWT). */
export function looksLikeSecret(credential: string): boolean {
  return credential.startsWith(SECRET_TAG);
}

export function isWellFormedSecret(secret: string): boolean {
  return SECRET_PATTERN.test(secret);
}

export const secretPrefix = (secret: string): string => secret.slice(0, PREFIX_LENGTH);

export function createSecretHasher(keyring: Keyring) {
  const hashKeys = new Map<string, Buffer>();
  const hashKey = (id: string): Buffer | undefined => {
    let key = hashKeys.get(id);
    const material = key ? undefined : keyring.key(id);
    if (material) {
      key = Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'gateway api key hash', 32));
      hashKeys.set(id, key);
    }
    return key;
  };
  const hmac = (key: Buffer, secret: string) => createHmac('sha256', key).update(secret).digest();
  return {
    /** The hash to store and the keyring entry it was made under. */
    hash(secret: string): { hash: Uint8Array<ArrayBuffer>; keyId: string } {
      const keyId = keyring.activeId;
      return { hash: new Uint8Array(hmac(hashKey(keyId) as Buffer, secret)), keyId };
    },
    /** Constant-time comparison; false when the entry left the keyring. */
    matches(secret: string, stored: Uint8Array, keyId: string): boolean {
      const key = hashKey(keyId);
      if (!key) return false;
      const computed = hmac(key, secret);
      return computed.length === stored.length && timingSafeEqual(computed, stored);
    },
  };
}

export type SecretHasher = ReturnType<typeof createSecretHasher>;
