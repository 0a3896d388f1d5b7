// tunstack lb mode http (L7), kernel-side backends and curl: requests routed by path prefix, path
// regex, host, header, cookie and method exactly as configured (in order, default pool last); a sticky
// cookie keeps a client on one backend and falls back when that backend is drained; the backends see
// X-Forwarded-For / X-Forwarded-Proto / Forwarded (https over the TLS listener) without hop-by-hop
// fields; the cache answers a second GET (X-Cache: HIT, backend count unchanged) but never stores
// no-store; the filter answers 403/413 for traversal, a denied method and an oversized header, and
// none of them reaches a backend; 503 with a clear body when a pool has no backend up; malformed
// requests get a 400 (or a close) and a backend's malformed response a 502, and the proxy keeps serving.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../src/lb/json-lines.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { ensureServerIdentity } from '../../src/socket/tls-state-dir.js';
import { inNs, isRoot } from '../helpers/harness.js';
import { codesAndIds, startHttpEnv, type HttpEnv } from '../lb/http-env.js';

const BACKENDS = [
  { id: 'img1', addr: '198.18.1.11' },
  { id: 'img2', addr: '198.18.1.12' },
  { id: 'vid', addr: '198.18.1.13' },
  { id: 'api', addr: '198.18.1.14' },
  { id: 'beta', addr: '198.18.1.15' },
  { id: 'def1', addr: '198.18.1.16' },
  { id: 'def2', addr: '198.18.1.17' },
];

const SERVICE: { [k: string]: Json } = {
  vip: '198.18.0.2',
  listen: [{ port: 80 }, { port: 443, tls: true }],
  pools: {
    images: { backends: ['198.18.1.11:8080', '198.18.1.12:8080'] },
    videos: { backends: ['198.18.1.13:8080'] },
    api: { backends: ['198.18.1.14:8080'] },
    beta: { backends: ['198.18.1.15:8080'] },
    default: { backends: ['198.18.1.16:8080', '198.18.1.17:8080'] },
  },
  routes: [
    { name: 'images', match: { pathPrefix: '/api/images/' }, pool: 'images' },
    { name: 'videos', match: { pathRegex: '^/api/videos/[0-9]+$' }, pool: 'videos' },
    { name: 'api-host', match: { host: 'api.example.test' }, pool: 'api' },
    { name: 'api-v2', match: { header: { name: 'X-Api-Version', value: '2' } }, pool: 'api' },
    { name: 'beta-cookie', match: { cookie: { name: 'beta', value: '1' } }, pool: 'beta' },
    { name: 'uploads', match: { method: ['POST', 'PUT'] }, pool: 'videos' },
  ],
  defaultPool: 'default',
  sticky: { name: 'TSLB', insert: true },
  filter: { rules: [{ name: 'no-delete', action: 'deny', method: ['DELETE'] }] },
};

const URL = 'http://198.18.0.2';
const W = ['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %header{x-backend}\\n'];

describe.skipIf(!isRoot)('lb mode http: routing, sticky, forwarding headers, cache, filter (root)', () => {
  let env: HttpEnv;
  beforeAll(async () => {
    env = await startHttpEnv(SERVICE, BACKENDS);
  }, 60_000);
  afterAll(async () => env?.close());

  const one = async (args: string[]) => codesAndIds((await env.curl([...W, ...args])).stdout);

  it('routes_by_path_prefix_regex_host_header_cookie_and_method_in_order_with_a_default_pool', async () => {
    const cases: Array<[string[], string | RegExp, string]> = [
      [[`${URL}/api/images/cat.png`], /^img[12]$/, 'images'],
      [[`${URL}/api/images`], /^def[12]$/, '(default)'], // a prefix is matched as given ("/api/images/")
      [[`${URL}/api/videos/42`], 'vid', 'videos'],
      [[`${URL}/api/videos/42/thumb`], /^def[12]$/, '(default)'], // the regex is anchored at both ends
      [['-H', 'Host: api.example.test', `${URL}/anything`], 'api', 'api-host'],
      [['-H', 'Host: API.Example.TEST:80', `${URL}/anything`], 'api', 'api-host'],
      [['-H', 'Host: www.example.test', `${URL}/anything`], /^def[12]$/, '(default)'],
      [['-H', 'X-Api-Version: 2', `${URL}/v`], 'api', 'api-v2'],
      [['-H', 'X-Api-Version: 3', `${URL}/v`], /^def[12]$/, '(default)'],
      [['-b', 'beta=1', `${URL}/b`], 'beta', 'beta-cookie'],
      [['-b', 'beta=0', `${URL}/b`], /^def[12]$/, '(default)'],
      [['-X', 'POST', '-d', 'x=1', `${URL}/form`], 'vid', 'uploads'],
      [['-X', 'PUT', '-d', 'x=1', `${URL}/form`], 'vid', 'uploads'],
      // The first matching rule wins: the path rule comes before the method and header rules.
      [['-X', 'POST', '-d', 'x=1', `${URL}/api/images/new`], /^img[12]$/, 'images'],
      [['-H', 'X-Api-Version: 2', '-b', 'beta=1', `${URL}/api/images/a`], /^img[12]$/, 'images'],
      [['-H', 'X-Api-Version: 2', '-b', 'beta=1', `${URL}/z`], 'api', 'api-v2'],
    ];
    const before = env.stats().routes;
    const want: Record<string, number> = {};
    for (const [args, id] of cases) {
      const got = await one(args);
      expect(got, args.join(' ')).toHaveLength(1);
      expect(got[0]![0], args.join(' ')).toBe('200');
      if (typeof id === 'string') expect(got[0]![1], args.join(' ')).toBe(id);
      else expect(got[0]![1], args.join(' ')).toMatch(id);
    }
    for (const [, , route] of cases) want[route] = (want[route] ?? 0) + 1;
    const after = env.stats().routes;
    for (const [route, n] of Object.entries(want)) expect((after[route]?.requests ?? 0) - (before[route]?.requests ?? 0), route).toBe(n);
    expect(env.access.some((l) => /"GET \/api\/videos\/42 HTTP\/1\.1" route=videos backend=198\.18\.1\.13:8080 status=200 /.test(l))).toBe(true);
  });

  it('keeps_a_client_on_one_backend_for_50_requests_by_its_sticky_cookie_and_falls_back_when_that_backend_is_drained', async () => {
    // Without the cookie, round robin alternates between the two default backends.
    const plain = await one([`${URL}/s?n=[1-10]`]);
    expect(new Set(plain.map(([, id]) => id))).toEqual(new Set(['def1', 'def2']));
    // With a cookie jar (one curl, keep-alive, 50 requests): the Set-Cookie of the first answer pins the rest.
    const jar = `/tmp/tunstack-l7-jar-${process.pid}`;
    const r = await env.curl(['-s', '--max-time', '30', '-b', '', '-c', jar, '-D', '-', '-o', '/dev/null', '-w', 'ID %header{x-backend}\\n', `${URL}/s?n=[1-50]`]);
    const ids = r.stdout.split('\n').filter((l) => l.startsWith('ID ')).map((l) => l.slice(3).trim());
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(1);
    const pinned = ids[0]!;
    const setCookies = r.stdout.split('\n').filter((l) => /^set-cookie: TSLB=/i.test(l));
    expect(setCookies).toHaveLength(1); // only the first response inserts it
    expect(setCookies[0]).toMatch(/^set-cookie: TSLB=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly\r?$/i);
    const cookie = /TSLB=([A-Za-z0-9_-]{22})/.exec(setCookies[0]!)![1]!;
    // The cookie names no address.
    expect(cookie).not.toMatch(/198|8080/);
    // Drain the pinned backend: the same cookie now lands on the other one, with a new cookie.
    const pinnedKey = pinned === 'def1' ? '198.18.1.16:8080' : '198.18.1.17:8080';
    expect(env.lb.drain(pinnedKey, true)).toBe(true);
    try {
      const moved = await env.curl(['-s', '--max-time', '10', '-b', `TSLB=${cookie}`, '-D', '-', '-o', '/dev/null', '-w', 'ID %header{x-backend}\\n', `${URL}/s?n=[1-5]`]);
      const movedIds = moved.stdout.split('\n').filter((l) => l.startsWith('ID ')).map((l) => l.slice(3).trim());
      expect(movedIds).toEqual(Array(5).fill(pinned === 'def1' ? 'def2' : 'def1'));
      expect(moved.stdout.split('\n').filter((l) => /^set-cookie: TSLB=/i.test(l))).toHaveLength(5);
    } finally {
      env.lb.drain(pinnedKey, false);
    }
    // Back up: the original cookie goes to its backend again.
    const back = await one(['-b', `TSLB=${cookie}`, `${URL}/s?n=[1-5]`]);
    expect(back.map(([, id]) => id)).toEqual(Array(5).fill(pinned));
  });

  it('tells_the_backend_the_client_address_and_protocol_and_drops_hop_by_hop_fields', async () => {
    const hdrs = ['-H', 'Connection: keep-alive, X-Secret', '-H', 'X-Secret: 1', '-H', 'Keep-Alive: timeout=5', '-H', 'X-Forwarded-For: 203.0.113.7'];
    const plain = JSON.parse((await env.curl(['-sS', '--max-time', '10', ...hdrs, `${URL}/echo`])).stdout) as { headers: Record<string, string> };
    expect(plain.headers['x-forwarded-for']).toBe('203.0.113.7, 198.18.0.1');
    expect(plain.headers['x-forwarded-proto']).toBe('http');
    expect(plain.headers.forwarded).toBe('for=198.18.0.1;proto=http;host=198.18.0.2;by="198.18.0.2:80"');
    expect(plain.headers['x-secret']).toBeUndefined();
    expect(plain.headers['keep-alive']).toBeUndefined();
    expect(plain.headers.host).toBe('198.18.0.2');
    // HTTPS to the VIP (certificate from the local CA, verified by curl); the backend gets plain HTTP.
    const r = await env.curl(['-sS', '--max-time', '20', '--cacert', env.caPath, '-w', '\\n%{ssl_verify_result} %{scheme}', 'https://198.18.0.2/echo']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.at(-1)).toBe('0 HTTPS');
    const tls = JSON.parse(lines[0]!) as { headers: Record<string, string> };
    expect(tls.headers['x-forwarded-for']).toBe('198.18.0.1');
    expect(tls.headers['x-forwarded-proto']).toBe('https');
    expect(tls.headers.forwarded).toBe('for=198.18.0.1;proto=https;host=198.18.0.2;by="198.18.0.2:443"');
    // A client's absolute-form target (as sent to a proxy): the backend gets origin-form and its authority as Host.
    const abs = JSON.parse((await env.curl(['-sS', '--max-time', '10', '-x', 'http://198.18.0.2:80', '-H', 'Host: other.test', 'http://api.example.test/echo?q=1'])).stdout) as { id: string; url: string; headers: Record<string, string> };
    expect(abs.id).toBe('api');
    expect(abs.url).toBe('/echo?q=1');
    expect(abs.headers.host).toBe('api.example.test');
    // Sticky cookies set over HTTPS are Secure.
    const sc = await env.curl(['-sS', '--max-time', '20', '--cacert', env.caPath, '-D', '-', '-o', '/dev/null', 'https://198.18.0.2/x']);
    expect(sc.stdout).toMatch(/^set-cookie: TSLB=[A-Za-z0-9_-]{22}; Path=\/; HttpOnly; Secure\r$/im);
  });

  it('serves_a_cacheable_GET_from_the_cache_the_second_time_and_never_stores_no_store', async () => {
    const get = (path: string) => env.curl(['-sS', '--max-time', '10', '-D', '-', `${URL}${path}`]);
    const served = async (path: string) => {
      const all = await env.allCounts();
      return ['def1', 'def2'].reduce((a, id) => a + (all[id]!.paths[path] ?? 0), 0);
    };
    const first = await get('/cache/max-age/60/a');
    expect(first.stdout).toMatch(/^X-Cache: MISS\r$/m);
    const body1 = first.stdout.split('\r\n\r\n')[1];
    expect(await served('/cache/max-age/60/a')).toBe(1);
    const second = await get('/cache/max-age/60/a');
    expect(second.stdout).toMatch(/^X-Cache: HIT\r$/m);
    expect(second.stdout).toMatch(/^Age: \d+\r$/m);
    expect(second.stdout).toMatch(/^cache-control: public, max-age=60\r$/m);
    expect(second.stdout.split('\r\n\r\n')[1]).toBe(body1);
    expect(await served('/cache/max-age/60/a')).toBe(1); // the backend was not asked again
    // A different query is a different resource.
    expect((await get('/cache/max-age/60/a?v=2')).stdout).toMatch(/^X-Cache: MISS\r$/m);
    // no-store: every request goes to a backend.
    for (let i = 0; i < 3; i++) expect((await get('/cache/no-store/b')).stdout).toMatch(/^X-Cache: MISS\r$/m);
    expect(await served('/cache/no-store/b')).toBe(3);
    const cache = env.stats().cache!;
    expect(cache.hits).toBeGreaterThanOrEqual(1);
    expect(env.stats().routes['(default)']!.cacheHits).toBeGreaterThanOrEqual(1);
    expect(env.access.some((l) => /"GET \/cache\/max-age\/60\/a HTTP\/1\.1" .* status=200 .* cache=HIT /.test(l))).toBe(true);
  });

  it('refuses_traversal_a_denied_method_and_an_oversized_header_with_403_or_413_before_any_backend', async () => {
    const total = async () => Object.values(await env.allCounts()).reduce((a, c) => a + c.requests, 0);
    const before = await total();
    const status = async (args: string[]) => (await env.curl(['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
    expect(await status(['--path-as-is', `${URL}/../etc/passwd`])).toBe('403');
    expect(await status(['--path-as-is', `${URL}/api/images/..%2f..%2fetc/passwd`])).toBe('403');
    expect(await status(['-X', 'DELETE', `${URL}/api/images/cat.png`])).toBe('403');
    expect(await status(['-H', `X-Big: ${'a'.repeat(20_000)}`, `${URL}/`])).toBe('413');
    const body = await env.curl(['-s', '--max-time', '10', '--path-as-is', `${URL}/../etc/passwd`]);
    expect(body.stdout).toBe('403 Forbidden: the request was refused by filter rule builtin:path-traversal\n');
    expect(await total()).toBe(before); // none of them reached a backend
    const f = env.stats().filter;
    expect(f.byRule['builtin:path-traversal']).toBe(3);
    expect(f.byRule['no-delete']).toBe(1);
    expect(f.byRule['builtin:header-size']).toBe(1);
    // Every block is logged with the rule that fired.
    expect(env.log.filter((l) => /^filter: 198\.18\.0\.1:\d+ "DELETE \/api\/images\/cat\.png" denied by rule no-delete \(403\)$/.test(l))).toHaveLength(1);
    expect(env.access.filter((l) => / status=413 .*filter=deny:builtin:header-size/.test(l))).toHaveLength(1);
    // An allowed request still goes through.
    expect(await status([`${URL}/api/images/ok`])).toBe('200');
  });

  it('answers_503_with_a_clear_body_when_no_backend_of_the_pool_is_up', async () => {
    env.lb.drain('198.18.1.13:8080', true);
    try {
      const r = await env.curl(['-s', '--max-time', '10', '-w', '\\n%{http_code}', `${URL}/api/videos/7`]);
      expect(r.stdout).toBe('503 Service Unavailable: no backend of pool videos is up\n\n503');
    } finally {
      env.lb.drain('198.18.1.13:8080', false);
    }
    expect((await one([`${URL}/api/videos/7`]))[0]).toEqual(['200', 'vid']);
  });
});

describe.skipIf(!isRoot)('lb mode http: certificates by SNI, malformed input from clients and backends (root)', () => {
  let env: HttpEnv;
  beforeAll(async () => {
    env = await startHttpEnv(
      (be): { [k: string]: Json } => {
        // Two certificates from the CA for two names: the TLS listener on 8443 picks one by SNI.
        const certs = ['a.example.test', 'b.example.test'].map((name): Json => {
          const id = ensureServerIdentity(be.stateDir, { address: name, crypto: nobleProvider, now: Date.now() });
          return { cert: id.certPath, key: id.keyPath };
        });
        return { vip: '198.18.0.2', listen: [{ port: 80 }, { port: 443, tls: true }, { port: 8443, tls: true, certs }], pools: { web: { backends: ['198.18.1.11:8080', '198.18.1.12:8080'] } } };
      },
      BACKENDS.slice(0, 2),
    );
  }, 60_000);
  afterAll(async () => env?.close());

  it('answers_malformed_requests_with_400_or_a_close_and_a_malformed_backend_response_with_502_and_keeps_serving', async () => {
    // Raw bytes from the kernel side: each payload on its own connection, the first response line printed.
    const script = [
      'import socket',
      'payloads = [b"GARBAGE\\r\\n\\r\\n", b"GET / HTTP/1.1\\r\\nHost: x\\r\\nBad Header\\r\\n\\r\\n",',
      '  b"GET / HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello",',
      '  b"POST /sink HTTP/1.1\\r\\nHost: x\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\n", b"\\x16\\x03\\x01\\x00\\x05hello"]',
      'for p in payloads:',
      '    s = socket.create_connection(("198.18.0.2", 80), timeout=5)',
      '    s.sendall(p)',
      '    try:',
      '        d = s.recv(200)',
      '    except Exception as e:',
      '        d = repr(e).encode()',
      '    print((d.split(b"\\r\\n")[0] or b"(closed)").decode("latin1"))',
      '    s.close()',
    ].join('\n');
    const out = await inNs(env.ns, 'python3', ['-c', script], 30_000);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines.slice(0, 3)).toEqual(['HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request', 'HTTP/1.1 400 Bad Request']);
    // A chunked body that breaks after the head was routed: the connection just closes.
    expect(['(closed)', 'HTTP/1.1 400 Bad Request']).toContain(lines[3]);
    expect(lines[4]).toBe('HTTP/1.1 400 Bad Request');
    // A backend's malformed head is a 502 (after the retry meets the other backend's, just as bad).
    const bad = await env.curl(['-s', '--max-time', '10', '-w', '%{http_code}', 'http://198.18.0.2/garbage']);
    expect(bad.stdout).toMatch(/^502 Bad Gateway: backend 198\.18\.1\.1[12]:8080 failed before responding \(HPE_INVALID_CONTENT_LENGTH: .*\)\n502$/);
    // Not TLS on the TLS port: an alert, and the listener stays up.
    const notTls = await env.curl(['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', 'http://198.18.0.2:443/']);
    expect(notTls.stdout).toBe('000');
    const ok = await env.curl([...W, 'http://198.18.0.2/a?n=[1-4]', '--cacert', env.caPath, '-o', '/dev/null', 'https://198.18.0.2/b']);
    expect(codesAndIds(ok.stdout).map(([c]) => c)).toEqual(['200', '200', '200', '200', '200']);
  });

  it('chooses_the_listener_certificate_by_sni', async () => {
    for (const name of ['a.example.test', 'b.example.test']) {
      const r = await env.curl(['-sS', '--max-time', '20', '--cacert', env.caPath, '--resolve', `${name}:8443:198.18.0.2`, '-w', ' %{ssl_verify_result}', `https://${name}:8443/sni`]);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^img[12]\n 0$/);
    }
    // No SNI (an IP address): the first certificate, which names a.example.test, not the address.
    const ip = await env.curl(['-sS', '--max-time', '20', '--cacert', env.caPath, 'https://198.18.0.2:8443/']);
    expect(ip.code).not.toBe(0);
    expect(ip.stderr).toMatch(/198\.18\.0\.2|certificate|SSL/i);
    const named = await env.curl(['-sS', '--max-time', '20', '--cacert', env.caPath, '--resolve', 'c.example.test:8443:198.18.0.2', 'https://c.example.test:8443/']);
    expect(named.code).not.toBe(0); // an unknown name gets the default certificate, which does not match
  });
});
