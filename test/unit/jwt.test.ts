// Token verification remembers verified tokens, but never past their expiry,
// and never remembers a refusal.
import { describe, expect, it } from 'vitest';
import { signToken } from '../../src/auth/dev-token.js';
import { createTokenVerifier } from '../../src/auth/jwt.js';

const jwt = { secret: 'unit-test-secret-unit-test-secret-0123' };
const claims = { workspace: 'ws-jwt', user: 'u1', role: 'admin' };

describe('token verifier', () => {
  it('accepts a remembered token only until it expires', async () => {
    const verify = createTokenVerifier(jwt);
    // `exp` is in whole seconds: a 2 s token is valid for at least one more second, however late in its second it was signed.
    const token = await signToken(jwt, claims, '2s');
    const viewer = await verify(token);
    expect(viewer).toMatchObject({ workspaceId: 'ws-jwt', userId: 'u1', role: 'ADMIN' });
    expect(await verify(token)).toMatchObject({ userId: 'u1' }); // remembered
    await new Promise((resolve) => setTimeout(resolve, viewer.expiresAt - Date.now() + 100));
    await expect(verify(token)).rejects.toThrow('Token has expired');
  });

  it('does not remember refusals: a bad signature is refused every time', async () => {
    const verify = createTokenVerifier(jwt);
    const forged = await signToken({ secret: 'another-secret-another-secret-0123456' }, claims);
    await expect(verify(forged)).rejects.toThrow('Token signature is invalid');
    await expect(verify(forged)).rejects.toThrow('Token signature is invalid');
  });
});
