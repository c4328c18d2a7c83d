// Which proxy, if any, a URL goes through: the environment variables upstream's
// reqwest 0.12 reads (through hyper-util 0.1's proxy matcher), with its rules.
//
// - `https:` URLs use HTTPS_PROXY, else ALL_PROXY; `http:` URLs use HTTP_PROXY,
//   else ALL_PROXY. Of each pair the upper-case name wins when it is set at
//   all, even empty (an empty value then means "none": the lower-case one is
//   not read). Under CGI (REQUEST_METHOD set) no proxy is used at all.
// - A value without a scheme is an http:// proxy; `user:password@` becomes a
//   `Proxy-Authorization: Basic` header (percent-decoded first).
// - NO_PROXY (else no_proxy): comma-separated; an IP address or CIDR network
//   matches IP hosts only; `*` matches every host name (not an IP literal);
//   any other entry is a domain that matches itself and its subdomains, a
//   leading dot changing nothing, case-insensitively. `host:port` entries
//   never match, and loopback is not exempt unless listed.
//
// Where this refuses what reqwest would take (an https://, socks or other
// proxy scheme), it says so at start-up naming the variable, rather than fail
// every request later (reqwest without its `socks` feature) or silently
// ignore the value (an unknown scheme). docs/wire.md "Proxies".
import * as net from 'node:net';

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

export interface ProxyEndpoint {
  readonly host: string;
  readonly port: number;
  /** `Basic …`, when the URL carried credentials. */
  readonly authorization?: string;
  /** `http://host:port`: what messages and logs show (never the credentials). */
  readonly display: string;
  /** The variable it came from, e.g. `HTTPS_PROXY`. */
  readonly variable: string;
}

export interface NoProxy {
  readonly domains: readonly string[];
  readonly ips: net.BlockList;
  readonly empty: boolean;
}

export interface ProxySettings {
  readonly http?: ProxyEndpoint;
  readonly https?: ProxyEndpoint;
  readonly noProxy: NoProxy;
}

/** A proxy variable the agent cannot use; thrown at start-up. */
export class ProxyConfigError extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'ProxyConfigError';
  }
}

export const NO_PROXY_SETTINGS: ProxySettings = { noProxy: parseNoProxy('') };

/** The first of `names` that is set (even to ""), as hyper-util reads them. */
function firstSet(env: ProxyEnv, names: readonly string[]): { readonly name: string; readonly value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** `user:pass@` is replaced so an error never echoes a password. */
const redacted = (value: string): string => value.replace(/\/\/[^/@]*@/, '//***@').replace(/^[^/@]*@/, '***@');

function decodeLossy(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseProxyUrl(variable: string, value: string): ProxyEndpoint | undefined {
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== 'http') {
    const why = scheme === 'https' ? 'a TLS connection to the proxy itself' : scheme.startsWith('socks') ? 'SOCKS' : `the ${scheme}: scheme`;
    throw new ProxyConfigError(variable, `${redacted(trimmed)}: only http:// proxies are supported, not ${why} (an http:// proxy still carries https to the control plane through a CONNECT tunnel)`);
  }
  let url: URL;
  try {
    url = new URL(scheme === undefined ? `http://${trimmed}` : trimmed);
  } catch {
    throw new ProxyConfigError(variable, `${redacted(trimmed)}: not a proxy URL (expected http://[user:password@]host[:port])`);
  }
  if (url.hostname === '') throw new ProxyConfigError(variable, `${redacted(trimmed)}: no host`);
  const port = url.port === '' ? 80 : Number(url.port);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const display = `http://${url.host}`;
  if (url.username === '' && url.password === '') return { host, port, display, variable };
  const credentials = `${decodeLossy(url.username)}:${decodeLossy(url.password)}`;
  return { host, port, display, variable, authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` };
}

/** `addr/len` as Rust's `IpNet` parses it (host bits allowed), or undefined. */
function parseCidr(entry: string): { readonly address: string; readonly prefix: number; readonly family: 'ipv4' | 'ipv6' } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(entry);
  if (m === null) return undefined;
  const [, address = '', len = ''] = m;
  const version = net.isIP(address);
  const prefix = Number(len);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

export function parseNoProxy(raw: string): NoProxy {
  const ips = new net.BlockList();
  const domains: string[] = [];
  let empty = true;
  for (const entry of raw.split(',').map((s) => s.trim())) {
    if (entry === '') continue;
    empty = false;
    const cidr = parseCidr(entry);
    const version = net.isIP(entry);
    if (cidr !== undefined) ips.addSubnet(cidr.address, cidr.prefix, cidr.family);
    else if (version !== 0) ips.addAddress(entry, version === 4 ? 'ipv4' : 'ipv6');
    else domains.push(entry.toLowerCase());
  }
  return { domains, ips, empty };
}

/** Whether `host` (a URL's host name, IPv6 in brackets or not) bypasses the proxy. */
export function noProxyMatches(noProxy: NoProxy, host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const version = net.isIP(bare);
  if (version !== 0) return noProxy.ips.check(bare, version === 4 ? 'ipv4' : 'ipv6');
  const name = bare.toLowerCase();
  return noProxy.domains.some((d) => {
    if (d === name || (d.startsWith('.') && d.slice(1) === name)) return true;
    if (name.endsWith(d)) return d.startsWith('.') || name[name.length - d.length - 1] === '.';
    return d === '*';
  });
}

export function proxySettingsFromEnv(env: ProxyEnv): ProxySettings {
  if (env['REQUEST_METHOD'] !== undefined) return NO_PROXY_SETTINGS;
  const parse = (names: readonly string[]): ProxyEndpoint | undefined => {
    const found = firstSet(env, names);
    return found === undefined ? undefined : parseProxyUrl(found.name, found.value);
  };
  const all = parse(['ALL_PROXY', 'all_proxy']);
  const http = parse(['HTTP_PROXY', 'http_proxy']) ?? all;
  const https = parse(['HTTPS_PROXY', 'https_proxy']) ?? all;
  return {
    ...(http === undefined ? {} : { http }),
    ...(https === undefined ? {} : { https }),
    noProxy: parseNoProxy(firstSet(env, ['NO_PROXY', 'no_proxy'])?.value ?? ''),
  };
}

/** The proxy `url` goes through, or undefined for a direct connection. */
export function proxyFor(settings: ProxySettings, url: URL): ProxyEndpoint | undefined {
  const proxy = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (proxy === undefined || noProxyMatches(settings.noProxy, url.hostname)) return undefined;
  return proxy;
}
