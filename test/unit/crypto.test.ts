import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseKeyring } from '../../src/crypto/keyring.js';
import { keyHint, maskKey } from '../../src/crypto/mask.js';
import { open, rowAad, SealError, seal, sealedKeyId } from '../../src/crypto/seal.js';

const spec = (...ids: string[]) => ids.map((id) => `${id}:${randomBytes(32).toString('base64')}`).join(',');

describe('seal and open', () => {
  const keyring = parseKeyring(spec('k2', 'k1'));
  const aad = rowAad('ws-1', 'p-1');

  it('round-trips and names the sealing key', () => {
    const envelope = seal(keyring, 'sk-live-abcdef0123456789', aad);
    expect(sealedKeyId(envelope)).toBe('k2');
    expect(open(keyring, envelope, aad)).toBe('sk-live-abcdef0123456789');
    expect(Buffer.from(envelope).includes(Buffer.from('sk-live'))).toBe(false);
  });

  it('uses a fresh IV every time', () => {
    const a = seal(keyring, 'same', aad);
    const b = seal(keyring, 'same', aad);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    expect(Buffer.from(a.subarray(4, 16)).equals(Buffer.from(b.subarray(4, 16)))).toBe(false);
  });

  it("refuses another row's AAD", () => {
    const envelope = seal(keyring, 'secret', aad);
    expect(() => open(keyring, envelope, rowAad('ws-1', 'p-2'))).toThrow(SealError);
    expect(() => open(keyring, envelope, rowAad('ws-2', 'p-1'))).toThrow(/master key "k2"/);
  });

  it('refuses a truncated tag, a flipped bit and a truncated envelope', () => {
    const envelope = seal(keyring, 'secret-value', aad);
    const tagEnd = 2 + 2 + 12 + 16;
    const shortTag = Buffer.concat([Buffer.from(envelope.subarray(0, tagEnd - 4)), Buffer.from(envelope.subarray(tagEnd))]);
    expect(() => open(keyring, shortTag, aad)).toThrow(SealError);
    const flipped = Buffer.from(envelope);
    flipped[flipped.length - 1] ^= 1;
    expect(() => open(keyring, flipped, aad)).toThrow(SealError);
    expect(() => open(keyring, envelope.subarray(0, 20), aad)).toThrow(/truncated/);
  });

  it('names the missing master key instead of returning garbage', () => {
    const old = parseKeyring(spec('old'));
    const envelope = seal(old, 'secret', aad);
    expect(() => open(keyring, envelope, aad)).toThrow('needs master key "old"');
    const wrongBytes = parseKeyring(spec('old'));
    expect(() => open(wrongBytes, envelope, aad)).toThrow('does not open with master key "old"');
  });
});

describe('masking', () => {
  it.each([
    ['sk-proj-abcdefghijklmnop7f3a', '••••7f3a'],
    ['shortkey99', '••••99'],
    ['abc', '••••'],
    ['', '••••'],
  ])('masks %j as %j', (key, masked) => {
    expect(maskKey(keyHint(key))).toBe(masked);
  });

  it('never shows more than 4 characters', () => {
    for (let length = 0; length < 80; length++) {
      const key = 'x'.repeat(length);
      expect(maskKey(keyHint(key)).replace(/•/g, '').length).toBeLessThanOrEqual(Math.min(4, Math.floor(length / 4)));
    }
  });
});
