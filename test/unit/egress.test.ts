import { describe, expect, it } from 'vitest';
import { addressRefusal, checkBaseUrl, type EgressPolicy, EgressRefused, type Resolve, unmapIPv4 } from '../../src/net/egress.js';

const strict: EgressPolicy = { allowLoopback: false, allowedHosts: new Set(), allowedCidrs: [] };

/** A DNS stand-in: names that resolve to private addresses, without any network. */
const DNS: Record<string, string[]> = {
  localhost: ['127.0.0.1', '::1'],
  'ip6-localhost': ['::1'],
  'internal.corp': ['10.1.2.3'],
  'metadata.attacker.example': ['169.254.169.254'],
  'mixed.example': ['93.184.216.34', '192.168.0.10'],
  'mapped.example': ['::ffff:10.0.0.1'],
  'translated.example': ['::ffff:0:7f00:1'],
  'api.provider.example': ['93.184.216.34', '2606:2800:220:1:248:1893:25c8:1946'],
  'ollama.lan': ['10.20.30.40'],
};
const resolve: Resolve = async (host) => {
  const found = DNS[host];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

const REFUSED = [
  'http://127.0.0.1/v1',
  'http://2130706433/', // decimal
  'http://0x7f000001/', // hex
  'http://0177.0.0.1/', // octal
  'http://0x7f.0.0.1/', // mixed
  'http://127.1/', // short form
  'http://[::1]/',
  'http://[::ffff:127.0.0.1]/',
  'http://[::ffff:7f00:1]/',
  'http://[0:0:0:0:0:ffff:127.0.0.1]/',
  'http://169.254.169.254/latest/meta-data/',
  'http://[::ffff:169.254.169.254]/',
  'http://[::ffff:a9fe:a9fe]/',
  'http://0.0.0.0/',
  'http://0/',
  'http://10.0.0.1/',
  'http://172.16.5.4/',
  'http://192.168.1.1/',
  'http://100.64.0.1/',
  'http://198.18.0.1/',
  'http://[fc00::1]/',
  'http://[fd12:3456::1]/',
  'http://[fe80::1]/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://[::]/',
  'http://[::ffff:0:127.0.0.1]/', // IPv4-translated (::ffff:0:0/96, RFC 2765) in every spelling
  'http://[::ffff:0:7f00:1]/',
  'http://[0:0:0:0:ffff:0:7f00:1]/',
  'http://[::ffff:0:a9fe:a9fe]/',
  'http://[::ffff:0:10.0.0.1]/',
  'http://[::ffff:0:0.0.0.0]/',
  'http://[::0:ffff:127.0.0.1]/', // mapped, spelled with a zero group
  'http://[::127.0.0.1]/', // IPv4-compatible (deprecated)
  'http://[::a9fe:a9fe]/',
  'http://[64:ff9b::a9fe:a9fe]/', // NAT64 of the metadata address
  'http://[64:ff9b::127.0.0.1]/',
  'http://[64:ff9b:1::a00:1]/', // local-use NAT64
  'http://[2002:7f00:1::]/', // 6to4 of loopback
  'http://localhost:11434/v1',
  'http://ip6-localhost/',
  'http://internal.corp/v1',
  'http://metadata.attacker.example/',
  'http://mixed.example/', // one private answer is enough
  'http://mapped.example/',
  'http://translated.example/',
  'http://unresolvable.example/',
  'ftp://api.provider.example/',
  'file:///etc/passwd',
  'http://user:pass@api.provider.example/',
  'not a url',
];

describe('base URL safety', () => {
  it(`refuses all ${REFUSED.length} vectors by default`, async () => {
    const accepted: string[] = [];
    for (const url of REFUSED) {
      await checkBaseUrl(strict, url, resolve).then(
        () => accepted.push(url),
        (error: unknown) => expect(error).toBeInstanceOf(EgressRefused),
      );
    }
    expect(accepted).toEqual([]);
    expect(REFUSED.length).toBeGreaterThanOrEqual(30);
  });

  it('accepts public hosts and public addresses', async () => {
    await expect(checkBaseUrl(strict, 'https://api.provider.example/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(strict, 'https://93.184.216.34/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(strict, 'https://[2606:2800:220:1:248:1893:25c8:1946]/', resolve)).resolves.toBeInstanceOf(URL);
  });

  it('lets an allowed CIDR or host through, and nothing else', async () => {
    const policy: EgressPolicy = { allowLoopback: false, allowedHosts: new Set(['gpu-box.internal']), allowedCidrs: ['10.20.0.0/16'] };
    await expect(checkBaseUrl(policy, 'http://ollama.lan:11434/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(policy, 'http://10.20.1.1:8000/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(policy, 'http://gpu-box.internal/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(policy, 'http://internal.corp/v1', resolve)).rejects.toThrow(EgressRefused);
    await expect(checkBaseUrl(policy, 'http://169.254.169.254/', resolve)).rejects.toThrow(EgressRefused);
  });

  it('allows loopback only when the policy says so (development)', async () => {
    const dev: EgressPolicy = { ...strict, allowLoopback: true };
    await expect(checkBaseUrl(dev, 'http://127.0.0.1:8080/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(dev, 'http://[::1]:8080/v1', resolve)).resolves.toBeInstanceOf(URL);
    await expect(checkBaseUrl(dev, 'http://10.0.0.1/v1', resolve)).rejects.toThrow(EgressRefused);
    expect(addressRefusal(dev, '::ffff:127.0.0.1')).toBeUndefined();
  });

  it('reads IPv4-mapped IPv6 in every spelling', () => {
    expect(unmapIPv4('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(unmapIPv4('0:0:0:0:0:ffff:a9fe:a9fe')).toBe('169.254.169.254');
    expect(unmapIPv4('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(unmapIPv4('2001:db8::1')).toBe('2001:db8::1');
  });
});
