// The request filter: built-in rules (path traversal in every encoding, NUL bytes, oversized
// headers → 413) run first and are switchable; then ordered allow/deny rules, first match decides.

import { describe, expect, it } from 'vitest';
import { isTraversal, RequestFilter, requestHeadBytes, type FilterRule } from '../../../src/lb/http/filter.js';
import { requestView } from '../../../src/lb/http/routes.js';
import { mulberry32 } from '../../helpers/prng.js';

const small = { headerBytes: 200, contentLength: undefined };
const get = (url: string, headers: Record<string, string> = {}, method = 'GET') => requestView(method, url, { host: 'h.test', ...headers });

describe('built-in rules', () => {
  const f = new RequestFilter([], { builtin: true });

  it('denies_path_traversal_raw_and_encoded', () => {
    for (const url of [
      '/../etc/passwd',
      '/%2e%2e/etc/passwd',
      '/%2E%2e/etc/passwd',
      '/a/..%2fb',
      '/a/..%2f..%2fetc/passwd',
      '/a/%252e%252e/b', // double encoding
      '/a/%c0%ae%c0%ae/b', // overlong UTF-8 "."
      '/a/..%c0%afb', // overlong "/"
      '/a/%e0%80%ae%e0%80%ae/b', // 3-byte overlong
      '/a\\..\\b', // backslash separators
      '/a/..%5cb',
      '/a/..;/b', // Tomcat path parameters
      '/a/%u002e%u002e/b', // IIS %u
      '/..',
      '..',
    ]) {
      expect(f.check(get(url), small), url).toEqual({ action: 'deny', status: 403, rule: 'builtin:path-traversal' });
    }
  });

  it('allows_dots_that_are_not_a_parent_segment', () => {
    for (const url of ['/a..b/c', '/.../x', '/a/.hidden', '/a/./b', '/v1.2/x..', '/%2e%2ex', '/?q=../x']) {
      expect(f.check(get(url), small), url).toEqual({ action: 'allow' });
    }
    expect(isTraversal('/files/report..final.pdf')).toBe(false);
  });

  it('denies_nul_bytes_raw_or_encoded_in_path_or_query', () => {
    for (const url of ['/a%00.txt', '/a\u0000b', '/x?name=a%00', '/a%2500']) {
      expect(f.check(get(url), small), url).toEqual({ action: 'deny', status: 403, rule: 'builtin:nul-byte' });
    }
  });

  it('answers_413_to_oversized_headers_default_16_KiB', () => {
    expect(f.check(get('/'), { headerBytes: 16 * 1024 + 1, contentLength: undefined })).toEqual({ action: 'deny', status: 413, rule: 'builtin:header-size' });
    expect(f.check(get('/'), { headerBytes: 16 * 1024, contentLength: undefined }).action).toBe('allow');
    const tight = new RequestFilter([], { builtin: true, maxHeaderBytes: 1000 });
    expect(tight.check(get('/'), { headerBytes: 1001, contentLength: undefined })).toMatchObject({ status: 413 });
  });

  it('counts_a_request_head_as_sent_on_the_wire', () => {
    const head = 'GET /x HTTP/1.1\r\nHost: h.test\r\nAccept: */*\r\n\r\n';
    expect(requestHeadBytes('GET', '/x', ['Host', 'h.test', 'Accept', '*/*'])).toBe(head.length);
  });

  it('can_be_switched_off', () => {
    const off = new RequestFilter([], { builtin: false });
    expect(off.check(get('/../etc/passwd'), { headerBytes: 100_000, contentLength: undefined })).toEqual({ action: 'allow' });
  });

  it('counts_decisions_per_rule', () => {
    const c = new RequestFilter([], { builtin: true });
    c.check(get('/../x'), small);
    c.check(get('/%2e%2e/x'), small);
    c.check(get('/ok'), small);
    expect(c.counters).toMatchObject({ checked: 3, allowed: 1, denied: 2 });
    expect(c.counters.byRule.get('builtin:path-traversal')).toBe(2);
  });
});

describe('configured rules', () => {
  const rules: FilterRule[] = [
    { name: 'allow-internal', action: 'allow', header: { name: 'X-Internal', value: '^yes$' } },
    { name: 'no-delete', action: 'deny', method: ['DELETE', 'TRACE'] },
    { name: 'no-admin', action: 'deny', path: '^/admin(/|$)' },
    { name: 'need-ua', action: 'deny', header: { name: 'user-agent', present: false } },
    { name: 'big-upload', action: 'deny', method: ['POST', 'PUT'], maxBodyBytes: 1000 },
    { name: 'fat-head', action: 'deny', maxHeaderBytes: 4096 },
    { name: 'no-sql', action: 'deny', query: 'union\\s+select' },
  ];
  const f = new RequestFilter(rules, { builtin: true });
  const ua = { 'user-agent': 'curl/8' };

  it('denies_a_method_with_403', () => {
    expect(f.check(get('/x', ua, 'DELETE'), small)).toEqual({ action: 'deny', status: 403, rule: 'no-delete' });
    expect(f.check(get('/x', ua, 'GET'), small)).toEqual({ action: 'allow' });
  });

  it('denies_by_path_regex_header_absence_and_query', () => {
    expect(f.check(get('/admin/users', ua), small)).toMatchObject({ rule: 'no-admin', status: 403 });
    expect(f.check(get('/administrator', ua), small)).toEqual({ action: 'allow' });
    expect(f.check(get('/x'), small)).toMatchObject({ rule: 'need-ua', status: 403 });
    expect(f.check(get('/x?id=1 union  select', ua), small)).toMatchObject({ rule: 'no-sql' });
  });

  it('path_rules_see_the_normal_form_so_encoding_does_not_bypass_them', () => {
    for (const url of ['/%61dmin/users', '//admin', '/%61%64%6d%69%6e']) expect(f.check(get(url, ua), small), url).toMatchObject({ rule: 'no-admin' });
    // a deny pattern written against the raw spelling still fires
    const raw = new RequestFilter([{ name: 'enc', action: 'deny', path: '%2[fF]secret' }], { builtin: true });
    expect(raw.check(get('/a%2fsecret'), small)).toMatchObject({ action: 'deny', rule: 'enc' });
  });

  it('size_rules_answer_413', () => {
    expect(f.check(get('/up', ua, 'POST'), { headerBytes: 100, contentLength: 1001 })).toEqual({ action: 'deny', status: 413, rule: 'big-upload' });
    expect(f.check(get('/up', ua, 'POST'), { headerBytes: 100, contentLength: 1000 })).toEqual({ action: 'allow' });
    // a chunked body has no Content-Length: the rule cannot judge it here
    expect(f.check(get('/up', ua, 'POST'), { headerBytes: 100, contentLength: undefined })).toEqual({ action: 'allow' });
    expect(f.check(get('/x', ua), { headerBytes: 5000, contentLength: undefined })).toEqual({ action: 'deny', status: 413, rule: 'fat-head' });
  });

  it('an_allow_before_a_deny_wins_first_match_decides', () => {
    const internal = { ...ua, 'x-internal': 'yes' };
    expect(f.check(get('/admin', internal, 'DELETE'), small)).toEqual({ action: 'allow', rule: 'allow-internal' });
    // … but the built-ins still run first
    expect(f.check(get('/../admin', internal), small)).toMatchObject({ action: 'deny', rule: 'builtin:path-traversal' });
  });

  it('rejects_a_bad_regex_at_construction_naming_rule_and_field', () => {
    expect(() => new RequestFilter([{ name: 'r1', action: 'deny', path: '[' }], { builtin: true })).toThrow(/filter rule r1: path/);
  });
});

describe('fuzz: the filter never throws', () => {
  it('survives_random_and_mutated_targets', () => {
    const rng = mulberry32(0xf117e4);
    const seeds = ['/../etc/passwd', '/%2e%2e/x', '/a/..%2fb', '/%c0%ae%c0%ae/', '/%u002e%u002e/', '/a%00', '/%25%32%65', '/%'];
    const f = new RequestFilter([{ name: 'p', action: 'deny', path: 'x+y', header: { name: 'a', value: '.' } }], { builtin: true });
    for (let i = 0; i < 5000; i++) {
      const base = new TextEncoder().encode(seeds[rng.int(seeds.length)]!);
      const bytes = rng.int(4) === 0 ? rng.bytes(rng.int(64)) : rng.mutate(base);
      const url = String.fromCharCode(...bytes);
      const v = f.check(requestView('GET', url, { a: String.fromCharCode(...rng.bytes(8)) }), { headerBytes: rng.int(40000), contentLength: rng.int(2) ? rng.int(1e6) : undefined });
      expect(['allow', 'deny']).toContain(v.action);
    }
    expect(f.counters.checked).toBe(5000);
  });
});
