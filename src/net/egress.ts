// Where the gateway may send a provider key. By default only to public
// addresses: a base URL naming (or resolving to) loopback, private, link-local
// or otherwise special addresses is refused, in every notation, at save time
// and again on every connection (DNS can change its answer). Redirects are refused.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { createHttpClient, type HttpClient, headersOf } from './http-fetch.js';

export interface EgressPolicy {
  /** Development: the local simulator and Ollama live on loopback. */
  allowLoopback: boolean;
  /** Host names the operator trusts (checked before any address rule). */
  allowedHosts: ReadonlySet<string>;
  /** Networks the operator allows, e.g. a private Ollama or vLLM. */
  allowedCidrs: readonly string[];
}

export class EgressRefused extends Error {
  override name = 'EgressRefused';
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Special-purpose ranges (RFC 6890 and successors): never a provider on the internet. */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form
  ['::ffff:0:0:0', 96], // IPv4-translated (RFC 2765): an IPv4 address in disguise, never a host on the internet
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48], // NAT64: an IPv4 address in disguise
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16], // discard, IETF/Teredo, docs, 6to4
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NON_PUBLIC.addSubnet(net, bits, 'ipv6');

/** `::ffff:a.b.c.d` (in any spelling) → `a.b.c.d`; anything else unchanged. */
export function unmapIPv4(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIPv6(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff].join('.');
  }
  return address;
}

function expandIPv6(address: string): number[] {
  let text = address.toLowerCase().split('%')[0];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
}

const NON_PUBLIC_ADDRESS = 'a loopback, private, link-local or reserved address';

/** Why an address may not receive a key, or undefined when it may. */
export function addressRefusal(policy: EgressPolicy, rawAddress: string): string | undefined {
  const address = unmapIPv4(rawAddress.replace(/^\[|\]$/g, ''));
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (isIP(address) === 0) return `"${rawAddress}" is not an IP address`;
  if (policy.allowedCidrs.length > 0 && allowList(policy).check(address, family)) return undefined;
  if (policy.allowLoopback && LOOPBACK.check(address, family)) return undefined;
  if (NON_PUBLIC.check(address, family)) return `${address} is ${NON_PUBLIC_ADDRESS}`;
  return undefined;
}

const allowLists = new WeakMap<EgressPolicy, BlockList>();
function allowList(policy: EgressPolicy): BlockList {
  let list = allowLists.get(policy);
  if (!list) {
    list = new BlockList();
    for (const cidr of policy.allowedCidrs) {
      const [net, bits] = cidr.split('/');
      const family = isIP(net) === 6 ? 'ipv6' : 'ipv4';
      list.addSubnet(net, Number(bits ?? (family === 'ipv6' ? 128 : 32)), family);
    }
    allowLists.set(policy, list);
  }
  return list;
}

export type Resolve = (hostname: string) => Promise<string[]>;

export const systemResolve: Resolve = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses: LookupAddress[]) => (error ? reject(error) : resolve(addresses.map((entry) => entry.address)))),
  );

/** What is wrong with a URL itself (scheme, credentials, a literal address), without DNS. */
function urlRefusal(policy: EgressPolicy, url: URL): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'URL must use http or https';
  if (url.username || url.password) return 'URL must not contain credentials';
  // The WHATWG parser has already turned decimal, hex and octal IPv4 spellings into dotted form.
  const host = bareHost(url);
  if (policy.allowedHosts.has(host) || !isIP(host)) return undefined;
  const refusal = addressRefusal(policy, host);
  return refusal && `URL is not allowed: ${refusal}`;
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/**
 * Checks a base URL before it is saved or used: http(s) only, no credentials in
 * it, and every address its host names or resolves to is allowed.
 */
export async function checkBaseUrl(policy: EgressPolicy, raw: string, resolve: Resolve = systemResolve): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EgressRefused('URL is not valid');
  }
  const refusal = urlRefusal(policy, url);
  if (refusal) throw new EgressRefused(refusal);
  const host = bareHost(url);
  if (policy.allowedHosts.has(host) || isIP(host)) return url;
  const addresses = await resolve(host).catch(() => {
    throw new EgressRefused(`URL host "${host}" does not resolve`);
  });
  // Which address is not said: the caller learns no address of the gateway's network from its DNS.
  if (addresses.some((address) => addressRefusal(policy, address))) throw new EgressRefused(`URL is not allowed: ${host} resolves to ${NON_PUBLIC_ADDRESS}`);
  return url;
}

/**
 * The HTTP client every provider request goes through: every connection's
 * addresses are re-checked at connect time, and no redirect is followed, so a
 * key (and a prompt) goes only to the base URL that was checked. Providers
 * answer their API paths directly; a redirect there is a misconfigured base URL
 * or an attempt to send the key elsewhere.
 */
export function createGuardedHttp(policy: EgressPolicy, limits: { maxLineBytes: number }): HttpClient {
  const lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const refused = !policy.allowedHosts.has(hostname.toLowerCase()) && addresses.some((entry) => addressRefusal(policy, entry.address));
      if (refused) return callback(new EgressRefused(`Connection refused by egress policy: ${hostname} resolves to ${NON_PUBLIC_ADDRESS}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
  const client = createHttpClient({ lookup, maxLineBytes: limits.maxLineBytes });
  // Literal addresses are checked here; names at connect time, by `lookup`.
  const checked = (input: string | URL | Request) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const refusal = urlRefusal(policy, url);
    if (refusal) throw new EgressRefused(refusal);
    return url;
  };
  const redirect = (status: number, headers: () => Headers) =>
    status >= 300 && status < 400 && headers().has('location')
      ? new EgressRefused(`The server answered with a redirect (HTTP ${status}); redirects are not followed, so a request goes only to the URL that was checked`)
      : null;

  return {
    async read(input, init) {
      const answer = await client.read(checked(input), init);
      const refused = redirect(answer.status, () => headersOf(answer.rawHeaders));
      if (refused) throw refused;
      return answer;
    },
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const response = await client.fetch(checked(input), init);
      const refused = redirect(response.status, () => response.headers);
      if (refused) {
        await response.body?.cancel();
        throw refused;
      }
      return response;
    }) as typeof fetch,
  };
}
