// L7 routing: the request view over node's parsed fields (host, path, query, cookies) and ordered
// AND-rules on host, path prefix/regex, header, cookie and method, with a default pool.

import { describe, expect, it } from 'vitest';
import { normalizePath, originForm, parseCookieHeader, requestView, Router, type RouteRule } from '../../../src/lb/http/routes.js';
import { mulberry32 } from '../../helpers/prng.js';

const req = (method: string, url: string, headers: Record<string, string | string[]> = {}) => requestView(method, url, { host: 'www.example.test', ...headers });

describe('requestView', () => {
  it('splits_path_and_query_and_lowercases_the_host_without_port', () => {
    const r = requestView('GET', '/api/images/1.png?size=big&x=1', { host: 'WWW.Example.TEST:8080' });
    expect([r.method, r.path, r.query, r.host]).toEqual(['GET', '/api/images/1.png', 'size=big&x=1', 'www.example.test']);
    expect(requestView('GET', '/', { host: '[::1]:80' }).host).toBe('[::1]');
    expect(requestView('GET', '/', {}).host).toBe('');
  });

  it('takes_the_host_from_an_absolute_form_target_rfc9112_3_2_2', () => {
    const r = requestView('GET', 'http://user@Other.Test:81/p?q=1', { host: 'ignored.test' });
    expect([r.host, r.path, r.query]).toEqual(['other.test', '/p', 'q=1']);
    expect(requestView('GET', 'http://a.test', {}).path).toBe('/');
  });

  it('joins_repeated_headers_and_reads_by_lowercase_name', () => {
    const r = requestView('GET', '/', { 'x-tag': ['a', 'b'], accept: 'text/html' });
    expect(r.header('X-Tag')).toBe('a, b');
    expect(r.header('accept')).toBe('text/html');
    expect(r.header('missing')).toBeUndefined();
    expect(r.header('constructor')).toBeUndefined();
  });

  it('parses_cookies_per_rfc6265_first_of_a_name_wins_quotes_removed', () => {
    const r = requestView('GET', '/', { cookie: 'a=1; b="two"; a=3;bad; =x; c=; d = 4 ' });
    expect(r.cookie('a')).toBe('1');
    expect(r.cookie('b')).toBe('two');
    expect(r.cookie('c')).toBe('');
    expect(r.cookie('d')).toBe('4');
    expect(r.cookie('bad')).toBeUndefined();
    expect(r.cookie('x')).toBeUndefined();
    // node joins several Cookie lines with "; " when given as an array
    expect(requestView('GET', '/', { cookie: ['s=1', 't=2'] }).cookie('t')).toBe('2');
  });
});

describe('originForm', () => {
  it('gives_the_backend_an_origin_form_target_or_nothing', () => {
    expect(originForm(requestView('GET', '/a/b?x=1', {}))).toBe('/a/b?x=1');
    expect(originForm(requestView('GET', 'http://h.test:81/a?b', {}))).toBe('/a?b');
    expect(originForm(requestView('GET', 'http://h.test', {}))).toBe('/');
    expect(originForm(requestView('OPTIONS', '*', {}))).toBe('*');
    expect(originForm(requestView('GET', '*', {}))).toBeUndefined();
    expect(originForm(requestView('CONNECT', 'h.test:443', {}))).toBeUndefined();
  });
});

describe('Router', () => {
  const rules: RouteRule[] = [
    { name: 'images', match: { pathPrefix: '/api/images/' }, pool: 'images' },
    { name: 'videos', match: { pathRegex: '^/api/videos/[0-9]+$' }, pool: 'videos' },
    { name: 'admin-host', match: { host: 'admin.example.test' }, pool: 'admin' },
    { name: 'wild', match: { host: '*.svc.test' }, pool: 'svc' },
    { name: 'beta', match: { header: { name: 'X-Beta', value: 'yes' } }, pool: 'beta' },
    { name: 'canary', match: { cookie: { name: 'canary', regex: '^(1|true)$' } }, pool: 'canary' },
    { name: 'writes', match: { method: ['POST', 'PUT'], pathPrefix: '/api/' }, pool: 'writes' },
    { name: 'no-ua', match: { header: { name: 'user-agent', present: false } }, pool: 'bots' },
  ];
  const router = new Router(rules, 'default');
  const route = (r: ReturnType<typeof req>) => router.route(r)?.pool;

  it('routes_by_path_prefix_and_regex', () => {
    expect(route(req('GET', '/api/images/cat.png', { 'user-agent': 'curl' }))).toBe('images');
    expect(route(req('GET', '/api/videos/42', { 'user-agent': 'curl' }))).toBe('videos');
    expect(route(req('GET', '/api/videos/x42', { 'user-agent': 'curl' }))).toBe('default');
    expect(route(req('GET', '/api/imagesX', { 'user-agent': 'curl' }))).toBe('default');
  });

  it('routes_in_order_first_match_wins', () => {
    // images comes before writes: a POST to /api/images/ goes to images
    expect(route(req('POST', '/api/images/up', { 'user-agent': 'curl' }))).toBe('images');
    expect(route(req('POST', '/api/other', { 'user-agent': 'curl' }))).toBe('writes');
  });

  it('requires_every_condition_of_a_rule_AND', () => {
    // writes needs the method AND the prefix
    expect(route(req('GET', '/api/other', { 'user-agent': 'curl' }))).toBe('default');
    expect(route(req('POST', '/other', { 'user-agent': 'curl' }))).toBe('default');
    const and = new Router([{ name: 'both', match: { host: 'a.test', pathPrefix: '/x', method: ['GET'], header: { name: 'x-k', regex: '^v' }, cookie: { name: 'c' } }, pool: 'p' }], undefined);
    const full = { host: 'a.test', 'x-k': 'val', cookie: 'c=1' };
    expect(and.route(requestView('GET', '/x1', full))?.rule).toBe('both');
    for (const drop of ['host', 'x-k', 'cookie'] as const) {
      const h: Record<string, string> = { ...full };
      delete h[drop];
      expect(and.route(requestView('GET', '/x1', h))).toBeUndefined();
    }
    expect(and.route(requestView('HEAD', '/x1', full))).toBeUndefined();
    expect(and.route(requestView('GET', '/y', full))).toBeUndefined();
  });

  it('matches_exact_and_wildcard_hosts', () => {
    expect(route(req('GET', '/', { host: 'Admin.Example.Test:443', 'user-agent': 'c' }))).toBe('admin');
    expect(route(req('GET', '/', { host: 'a.svc.test', 'user-agent': 'c' }))).toBe('svc');
    expect(route(req('GET', '/', { host: 'a.b.svc.test', 'user-agent': 'c' }))).toBe('svc');
    // the wildcard needs a label before it, and a real dot boundary
    expect(route(req('GET', '/', { host: 'svc.test', 'user-agent': 'c' }))).toBe('default');
    expect(route(req('GET', '/', { host: 'xsvc.test', 'user-agent': 'c' }))).toBe('default');
  });

  it('matches_headers_cookies_and_absence', () => {
    expect(route(req('GET', '/', { 'x-beta': 'yes', 'user-agent': 'c' }))).toBe('beta');
    expect(route(req('GET', '/', { 'x-beta': 'no', 'user-agent': 'c' }))).toBe('default');
    expect(route(req('GET', '/', { cookie: 'other=1; canary=true', 'user-agent': 'c' }))).toBe('canary');
    expect(route(req('GET', '/', { cookie: 'canary=0', 'user-agent': 'c' }))).toBe('default');
    expect(route(req('GET', '/'))).toBe('bots');
  });

  it('falls_back_to_the_default_pool_or_nothing', () => {
    expect(router.route(req('GET', '/nothing', { 'user-agent': 'c' }))).toEqual({ rule: '(default)', pool: 'default' });
    expect(new Router(rules, undefined).route(req('GET', '/nothing', { 'user-agent': 'c' }))).toBeUndefined();
    expect(router.counters.get('(default)')).toBeGreaterThan(0);
  });

  it('routes_equivalent_spellings_of_a_path_alike_rfc3986_6_2_2', () => {
    expect(normalizePath('/api/%69mages/%7Ex%2fy%2F')).toBe('/api/images/~x%2Fy%2F');
    expect(normalizePath('//api///images/')).toBe('/api/images/');
    expect(normalizePath('/%zz%')).toBe('/%zz%');
    expect(route(req('GET', '/api/%69mages/a.png', { 'user-agent': 'c' }))).toBe('images');
    expect(route(req('GET', '//api/images/a.png', { 'user-agent': 'c' }))).toBe('images');
    // an encoded "/" is not a separator: it stays encoded
    expect(route(req('GET', '/api%2Fimages/a.png', { 'user-agent': 'c' }))).toBe('default');
  });

  it('methods_are_case_sensitive_rfc9110_9_1', () => {
    const r = new Router([{ name: 'get', match: { method: ['GET'] }, pool: 'p' }], undefined);
    expect(r.route(requestView('get', '/', {}))).toBeUndefined();
    expect(r.route(requestView('GET', '/', {}))?.pool).toBe('p');
  });

  it('rejects_a_bad_regex_at_construction_naming_the_rule', () => {
    expect(() => new Router([{ name: 'bad', match: { pathRegex: '(' }, pool: 'p' }], undefined)).toThrow(/route bad: match\.pathRegex/);
  });
});

describe('fuzz: request views and cookie parsing never throw', () => {
  it('survives_random_and_mutated_targets_headers_and_cookies', () => {
    const rng = mulberry32(0x1a7e);
    const seeds = ['/api/images/a.png?x=1', 'http://h.test:80/p', 'a=1; b="2"; c', '*', 'host.test:443', '[::1]:8080', '%2e%2e/%00'];
    const str = (): string => {
      const base = new TextEncoder().encode(seeds[rng.int(seeds.length)]!);
      const m = rng.int(3) === 0 ? rng.bytes(rng.int(40)) : rng.mutate(base);
      return String.fromCharCode(...m);
    };
    const router = new Router([{ name: 'r', match: { host: '*.test', cookie: { name: 'a', regex: '1' }, header: { name: 'x', present: false } }, pool: 'p' }], 'd');
    for (let i = 0; i < 3000; i++) {
      const headers: Record<string, string | string[]> = { host: str(), cookie: rng.int(2) ? str() : [str(), str()] };
      const v = requestView(str(), str(), headers);
      expect(typeof v.path).toBe('string');
      v.cookie(str());
      v.cookie('a');
      v.header(str());
      expect(router.route(v)).toBeDefined();
      parseCookieHeader(str());
    }
  });
});
