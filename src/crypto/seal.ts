// AES-256-GCM envelopes for provider keys and alert channel targets.
//
//   byte 0      format version (1)
//   byte 1      length n of the key id
//   2..2+n      key id (ASCII): which master key sealed it
//   next 12     IV, fresh and random for every seal
//   next 16     authentication tag
//   rest        ciphertext
//
// The AAD binds an envelope to its row (workspace and provider id), so a
// ciphertext copied onto another row fails to open instead of decrypting there.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Keyring } from './keyring.js';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SealError extends Error {
  override name = 'SealError';
}

/** What a sealed key is bound to. */
export function rowAad(workspaceId: string, providerId: string): Buffer {
  return Buffer.from(`provider-key:v1:${workspaceId}:${providerId}`);
}

/** What an alert channel's sealed URL and signing secret are bound to. */
export function channelAad(workspaceId: string, channelId: string): Buffer {
  return Buffer.from(`alert-channel:v1:${workspaceId}:${channelId}`);
}

export function seal(keyring: Keyring, plaintext: string, aad: Buffer): Uint8Array<ArrayBuffer> {
  const keyId = Buffer.from(keyring.activeId, 'ascii');
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyring.key(keyring.activeId)!, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return new Uint8Array(Buffer.concat([Buffer.from([VERSION, keyId.length]), keyId, iv, cipher.getAuthTag(), ciphertext]));
}

/** The id of the master key that sealed `envelope`. */
export function sealedKeyId(envelope: Uint8Array): string {
  const buffer = Buffer.from(envelope);
  if (buffer.length < 2 || buffer[0] !== VERSION) throw new SealError('Sealed key has an unknown format');
  return buffer.subarray(2, 2 + buffer[1]).toString('ascii');
}

export function open(keyring: Keyring, envelope: Uint8Array, aad: Buffer): string {
  const buffer = Buffer.from(envelope);
  const keyId = sealedKeyId(buffer);
  const key = keyring.key(keyId);
  if (!key) throw new SealError(`Sealed key needs master key "${keyId}", which ENCRYPTION_KEYS does not hold`);
  const ivStart = 2 + buffer[1];
  const tagStart = ivStart + IV_BYTES;
  const dataStart = tagStart + TAG_BYTES;
  if (buffer.length < dataStart) throw new SealError(`Sealed key (master key "${keyId}") is truncated`);
  try {
    // authTagLength pins the tag size: without it Node accepts a truncated tag.
    const decipher = createDecipheriv('aes-256-gcm', key, buffer.subarray(ivStart, tagStart), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad);
    decipher.setAuthTag(buffer.subarray(tagStart, dataStart));
    return Buffer.concat([decipher.update(buffer.subarray(dataStart)), decipher.final()]).toString('utf8');
  } catch {
    throw new SealError(`Sealed key does not open with master key "${keyId}": wrong key, another row's ciphertext, or tampered data`);
  }
}
