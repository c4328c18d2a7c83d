// Which proxy a URL goes through, read from the environment as upstream's
// reqwest 0.12 reads it (hyper-util 0.1.20's matcher, whose own tests these
// tables follow: src/client/proxy/matcher.rs in hyperium/hyper-util).
import { noProxyMatches, parseNoProxy, ProxyConfigError, proxyFor, proxySettingsFromEnv, type ProxyEnv } from '../../../src/io/http/proxy-env';

const via = (env: ProxyEnv, url: string): string | undefined => {
  const p = proxyFor(proxySettingsFromEnv(env), new URL(url));
  return p === undefined ? undefined : `${p.display} ${p.variable}`;
};

describe('proxy variables', () => {
  it.each<[string, ProxyEnv, string, string | undefined]>([
    ['nothing set: direct', {}, 'https://cp.example:8443', undefined],
    ['HTTPS_PROXY for https', { HTTPS_PROXY: 'http://p:3128' }, 'https://cp.example', 'http://p:3128 HTTPS_PROXY'],
    ['https_proxy (lower case) for https', { https_proxy: 'http://p:3128' }, 'https://cp.example', 'http://p:3128 https_proxy'],
    ['upper case wins over lower', { HTTPS_PROXY: 'http://up:1', https_proxy: 'http://low:2' }, 'https://cp.example', 'http://up:1 HTTPS_PROXY'],
    ['an empty upper-case value hides the lower-case one', { HTTPS_PROXY: '', https_proxy: 'http://low:2' }, 'https://cp.example', undefined],
    ['HTTP_PROXY is not used for https', { HTTP_PROXY: 'http://p:3128' }, 'https://cp.example', undefined],
    ['HTTP_PROXY for http', { HTTP_PROXY: 'http://p:3128' }, 'http://cp.example', 'http://p:3128 HTTP_PROXY'],
    ['HTTPS_PROXY is not used for http', { HTTPS_PROXY: 'http://p:3128' }, 'http://cp.example', undefined],
    ['ALL_PROXY for https', { ALL_PROXY: 'http://all:1' }, 'https://cp.example', 'http://all:1 ALL_PROXY'],
    ['all_proxy for http', { all_proxy: 'http://all:1' }, 'http://cp.example', 'http://all:1 all_proxy'],
    ['the scheme variable beats ALL_PROXY', { ALL_PROXY: 'http://all:1', HTTPS_PROXY: 'http://s:2' }, 'https://cp.example', 'http://s:2 HTTPS_PROXY'],
    ['an empty scheme variable falls back to ALL_PROXY', { HTTPS_PROXY: '', ALL_PROXY: 'http://all:1' }, 'https://cp.example', 'http://all:1 ALL_PROXY'],
    ['no scheme means http://', { HTTPS_PROXY: 'p.example:3128' }, 'https://cp.example', 'http://p.example:3128 HTTPS_PROXY'],
    ['no port means 80', { HTTPS_PROXY: 'http://p.example' }, 'https://cp.example', 'http://p.example HTTPS_PROXY'],
    ['an IP proxy without a scheme', { HTTPS_PROXY: '127.0.0.1:8887' }, 'https://cp.example', 'http://127.0.0.1:8887 HTTPS_PROXY'],
    ['loopback is not exempt', { HTTPS_PROXY: 'http://p:1' }, 'https://127.0.0.1:8443', 'http://p:1 HTTPS_PROXY'],
    ['localhost is not exempt', { HTTPS_PROXY: 'http://p:1' }, 'https://localhost:8443', 'http://p:1 HTTPS_PROXY'],
    ['under CGI (REQUEST_METHOD set) no proxy at all', { HTTPS_PROXY: 'http://p:1', REQUEST_METHOD: 'GET' }, 'https://cp.example', undefined],
    ['NO_PROXY bypasses', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'cp.example' }, 'https://cp.example', undefined],
    ['no_proxy (lower case) bypasses', { HTTPS_PROXY: 'http://p:1', no_proxy: 'cp.example' }, 'https://cp.example', undefined],
    ['NO_PROXY wins over no_proxy', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'other', no_proxy: 'cp.example' }, 'https://cp.example', 'http://p:1 HTTPS_PROXY'],
  ])('%s', (_, env, url, expected) => {
    expect(via(env, url)).toBe(expected);
  });

  it('credentials become a Basic Proxy-Authorization (percent-decoded, a missing password empty), never part of what is shown', () => {
    const withPass = proxySettingsFromEnv({ HTTPS_PROXY: 'http://Aladdin:open%20sesame@p:3128' }).https;
    expect(withPass?.authorization).toBe(`Basic ${Buffer.from('Aladdin:open sesame').toString('base64')}`);
    expect(withPass?.display).toBe('http://p:3128');
    expect(proxySettingsFromEnv({ HTTPS_PROXY: 'http://Aladdin@p' }).https?.authorization).toBe('Basic QWxhZGRpbjo=');
    // hyper-util's own vector: no scheme, credentials and all.
    expect(proxySettingsFromEnv({ ALL_PROXY: 'Aladdin:opensesame@y.ep' }).https?.authorization).toBe('Basic QWxhZGRpbjpvcGVuc2VzYW1l');
    expect(proxySettingsFromEnv({ HTTPS_PROXY: 'http://p:3128' }).https?.authorization).toBeUndefined();
  });

  it.each([
    ['HTTPS_PROXY', 'https://p:3128', /HTTPS_PROXY: https:\/\/p:3128: only http:\/\/ proxies are supported, not a TLS connection to the proxy itself/],
    ['ALL_PROXY', 'socks5://p:1080', /ALL_PROXY: socks5:\/\/p:1080: only http:\/\/ proxies are supported, not SOCKS/],
    ['https_proxy', 'socks5h://user:secret@p:1080', /https_proxy: socks5h:\/\/\*\*\*@p:1080: only http/],
    ['HTTP_PROXY', 'ftp://p:21', /HTTP_PROXY: .*not the ftp: scheme/],
    ['HTTPS_PROXY', 'http://', /HTTPS_PROXY: .*(not a proxy URL|no host)/],
  ])('%s=%s is refused at start-up, naming the variable (and never echoing a password)', (name, value, message) => {
    let caught: unknown;
    try {
      proxySettingsFromEnv({ [name]: value });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ProxyConfigError);
    expect((caught as ProxyConfigError).variable).toBe(name);
    expect((caught as Error).message).toMatch(message);
    expect((caught as Error).message).not.toContain('secret');
  });
});

describe('NO_PROXY matching', () => {
  // hyper-util's test_no_proxy_ip_ranges and test_domain_matcher tables, and the edges around them.
  const list = '.foo.bar, bar.baz,10.42.1.1/24,::1,10.124.7.8,2001::/17';
  it.each<[string, string, boolean]>([
    [list, 'hyper.rs', false],
    [list, 'notfoo.bar', false],
    [list, 'notbar.baz', false],
    [list, '10.43.1.1', false],
    [list, '10.124.7.7', false],
    [list, '[ffff:db8:a0b:12f0::1]', false],
    [list, '[2005:db8:a0b:12f0::1]', false],
    [list, 'hello.foo.bar', true],
    [list, 'bar.baz', true],
    [list, 'foo.bar.baz', true],
    [list, 'foo.bar', true],
    [list, '10.42.1.100', true],
    [list, '[::1]', true],
    [list, '::1', true],
    [list, '[2001:db8:a0b:12f0::1]', true],
    [list, '10.124.7.8', true],
    ['.foo.bar,bar.foo', 'FOO.BAR', true],
    ['.foo.bar,bar.foo', 'WWW.BAR.FOO', true],
    ['.foo.bar,bar.foo', 'Bar.foo', true],
    ['CP.Example', 'cp.example', true],
    ['*', 'any.where', true],
    ['*', 'localhost', true],
    // An IP host is checked against IP entries only: `*` does not cover it (as in reqwest).
    ['*', '127.0.0.1', false],
    ['localhost', '127.0.0.1', false],
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.0/8', '127.0.0.53', true],
    // host:port entries never match a host (reqwest compares host names only).
    ['cp.example:8443', 'cp.example', false],
    // A prefix longer than the family allows is not a network, so a (never matching) domain.
    ['10.0.0.0/33', '10.0.0.1', false],
    ['', 'cp.example', false],
    [' , ,', 'cp.example', false],
    ['example', 'cp.example', true],
    ['example', 'cpexample', false],
  ])('NO_PROXY=%j, host %s: %s', (raw, host, bypass) => {
    expect(noProxyMatches(parseNoProxy(raw), host)).toBe(bypass);
  });
});
