// The shared HTTP cache (RFC 9111): what is stored (max-age, s-maxage, Expires; never no-store,
// private, no-cache, Vary: *), Vary secondary keys, Age on hits, request bypass, LRU by bytes.

import { describe, expect, it } from 'vitest';
import { HttpCache, parseCacheControl } from '../../../src/lb/http/cache.js';
import { requestView } from '../../../src/lb/http/routes.js';
import { mulberry32 } from '../../helpers/prng.js';

type H = [string, string][];
const req = (path: string, headers: Record<string, string> = {}, method = 'GET') => requestView(method, path, { host: 'www.example.test', ...headers });
const body = (s: string) => new TextEncoder().encode(s);
const T0 = 1_700_000_000_000;

/** The backend answered `headers` with `text`: store it if allowed; returns the decision. */
function fill(c: HttpCache, r: ReturnType<typeof req>, headers: H, text: string, now = T0, status = 200) {
  const d = c.shouldStore(r, status, headers, now);
  if (d.store) c.store(r, status, headers, body(text), now, d.ttlMs, d.vary);
  return d;
}

describe('what is stored', () => {
  it('stores_max_age_and_serves_it_until_it_expires_with_age', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/a'), [['Cache-Control', 'max-age=60'], ['Content-Type', 'text/plain']], 'hello')).toEqual({ store: true, ttlMs: 60_000, vary: [] });
    const hit = c.lookup(req('/a'), T0 + 10_500)!;
    expect(hit.status).toBe(200);
    expect(new TextDecoder().decode(hit.body)).toBe('hello');
    // RFC 9111 §5.1: Age on a response served from the cache
    expect(hit.headers).toEqual([['Cache-Control', 'max-age=60'], ['Content-Type', 'text/plain'], ['Age', '10']]);
    expect(hit.ageSeconds(T0 + 30_000)).toBe(30);
    expect(c.lookup(req('/a'), T0 + 60_000)).toBeUndefined();
    expect(c.counters).toMatchObject({ hits: 1, misses: 1, stores: 1, entries: 0, bytes: 0 });
  });

  it('prefers_s_maxage_over_max_age_for_a_shared_cache', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/s'), [['Cache-Control', 'max-age=600, s-maxage=5']], 'x')).toMatchObject({ store: true, ttlMs: 5000 });
    expect(c.lookup(req('/s'), T0 + 4000)).toBeDefined();
    expect(c.lookup(req('/s'), T0 + 5000)).toBeUndefined();
  });

  it('counts_a_received_age_against_freshness', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/aged'), [['Cache-Control', 'max-age=60'], ['Age', '50']], 'x')).toMatchObject({ store: true, ttlMs: 10_000 });
    expect(c.lookup(req('/aged'), T0 + 2000)!.headers).toContainEqual(['Age', '52']);
    expect(fill(c, req('/old'), [['Cache-Control', 'max-age=60'], ['Age', '60']], 'x')).toEqual({ store: false, reason: 'already stale' });
  });

  it('uses_expires_minus_date_and_treats_a_bad_expires_as_stale', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const date = new Date(T0).toUTCString();
    const exp = new Date(T0 + 120_000).toUTCString();
    expect(fill(c, req('/e'), [['Date', date], ['Expires', exp]], 'x')).toMatchObject({ store: true, ttlMs: 120_000 });
    expect(fill(c, req('/e0'), [['Expires', '0']], 'x')).toEqual({ store: false, reason: 'already stale' });
  });

  it('never_stores_no_store_private_or_no_cache_responses', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/n'), [['Cache-Control', 'no-store, max-age=60']], 'x')).toEqual({ store: false, reason: 'no-store' });
    expect(fill(c, req('/p'), [['Cache-Control', 'private, max-age=60']], 'x')).toEqual({ store: false, reason: 'private' });
    expect(fill(c, req('/c'), [['cache-control', 'max-age=60'], ['Cache-Control', 'No-Cache']], 'x')).toEqual({ store: false, reason: 'no-cache' });
    expect(c.lookup(req('/n'), T0)).toBeUndefined();
    expect(c.counters.stores).toBe(0);
  });

  it('needs_explicit_freshness_unless_a_default_ttl_is_configured', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/h'), [['Content-Type', 'text/html']], 'x')).toEqual({ store: false, reason: 'no explicit freshness' });
    const h = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16, defaultTtlMs: 3000 });
    expect(fill(h, req('/h'), [['Content-Type', 'text/html']], 'x')).toMatchObject({ store: true, ttlMs: 3000 });
  });

  it('stores_only_GET_and_cacheable_statuses', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const cc: H = [['Cache-Control', 'max-age=60']];
    expect(fill(c, req('/p', {}, 'POST'), cc, 'x').store).toBe(false);
    expect(fill(c, req('/r'), cc, 'x', T0, 206).store).toBe(false);
    expect(fill(c, req('/r'), cc, 'x', T0, 500).store).toBe(false);
    expect(fill(c, req('/r'), cc, 'x', T0, 302).store).toBe(false);
    for (const s of [200, 203, 204, 300, 301, 308, 404, 410]) expect(fill(c, req(`/ok${s}`), cc, 'x', T0, s).store, String(s)).toBe(true);
    expect(c.lookup(req('/ok404'), T0)!.status).toBe(404);
  });

  it('does_not_store_authorized_requests_unless_public_or_s_maxage_rfc9111_3_5', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const auth = { authorization: 'Bearer t' };
    expect(fill(c, req('/me', auth), [['Cache-Control', 'max-age=60']], 'x').store).toBe(false);
    expect(fill(c, req('/pub', auth), [['Cache-Control', 'public, max-age=60']], 'x').store).toBe(true);
    expect(fill(c, req('/sm', auth), [['Cache-Control', 's-maxage=60']], 'x').store).toBe(true);
  });

  it('does_not_store_set_cookie_responses_or_oversized_ones', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 10 });
    expect(fill(c, req('/sc'), [['Cache-Control', 'max-age=60'], ['Set-Cookie', 'a=1']], 'x')).toEqual({ store: false, reason: 'Set-Cookie' });
    expect(fill(c, req('/big'), [['Cache-Control', 'max-age=60'], ['Content-Length', '11']], 'x'.repeat(11))).toEqual({ store: false, reason: 'too large' });
    // without a Content-Length the size is only known at store(): still refused
    expect(fill(c, req('/big2'), [['Cache-Control', 'max-age=60']], 'x'.repeat(11)).store).toBe(true);
    expect(c.lookup(req('/big2'), T0)).toBeUndefined();
  });
});

describe('keys and lookups', () => {
  it('keys_by_host_path_and_query', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    fill(c, req('/q?a=1'), [['Cache-Control', 'max-age=60']], 'one');
    expect(c.lookup(req('/q?a=2'), T0)).toBeUndefined();
    expect(c.lookup(requestView('GET', '/q?a=1', { host: 'other.test' }), T0)).toBeUndefined();
    expect(new TextDecoder().decode(c.lookup(req('/q?a=1'), T0)!.body)).toBe('one');
  });

  it('keys_http_and_https_apart_rfc9111_2', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const plain = requestView('GET', '/r', { host: 'h.test' }, { scheme: 'http' });
    fill(c, plain, [['Cache-Control', 'max-age=60'], ['Location', 'https://h.test/r']], '', T0, 301);
    expect(c.lookup(requestView('GET', '/r', { host: 'h.test' }, { scheme: 'https' }), T0)).toBeUndefined();
    expect(c.lookup(requestView('GET', '/r', { host: 'h.test' }), T0)?.status).toBe(301);
  });

  it('serves_head_from_the_get_entry', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    fill(c, req('/h'), [['Cache-Control', 'max-age=60']], 'x');
    expect(c.lookup(req('/h', {}, 'HEAD'), T0)?.status).toBe(200);
    expect(c.lookup(req('/h', {}, 'POST'), T0)).toBeUndefined();
  });

  it('varies_by_the_named_request_headers', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    const h: H = [['Cache-Control', 'max-age=60'], ['Vary', 'Accept-Encoding, Accept-Language']];
    expect(fill(c, req('/v', { 'accept-encoding': 'gzip' }), h, 'gz')).toMatchObject({ vary: ['accept-encoding', 'accept-language'] });
    fill(c, req('/v'), h, 'plain');
    const text = (r: ReturnType<typeof req>) => {
      const hit = c.lookup(r, T0);
      return hit && new TextDecoder().decode(hit.body);
    };
    expect(text(req('/v', { 'accept-encoding': 'gzip' }))).toBe('gz');
    expect(text(req('/v'))).toBe('plain');
    expect(text(req('/v', { 'accept-encoding': 'br' }))).toBeUndefined();
    expect(text(req('/v', { 'accept-encoding': 'gzip', 'accept-language': 'fr' }))).toBeUndefined();
    expect(c.counters.entries).toBe(2);
  });

  it('never_stores_vary_star', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    expect(fill(c, req('/star'), [['Cache-Control', 'max-age=60'], ['Vary', 'Accept, *']], 'x')).toEqual({ store: false, reason: 'Vary: *' });
    expect(c.lookup(req('/star'), T0)).toBeUndefined();
  });

  it('bypasses_the_cache_for_no_cache_and_no_store_requests', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    fill(c, req('/b'), [['Cache-Control', 'max-age=60']], 'x');
    expect(c.lookup(req('/b', { 'cache-control': 'no-cache' }), T0)).toBeUndefined();
    expect(c.lookup(req('/b', { pragma: 'no-cache' }), T0)).toBeUndefined();
    expect(c.lookup(req('/b', { 'cache-control': 'no-store' }), T0)).toBeUndefined();
    expect(c.counters.bypasses).toBe(3);
    // a no-store request's response is not stored either (RFC 9111 §3)
    expect(c.shouldStore(req('/b2', { 'cache-control': 'no-store' }), 200, [['Cache-Control', 'max-age=60']], T0)).toEqual({ store: false, reason: 'request no-store' });
    // request max-age: an older entry is not acceptable
    expect(c.lookup(req('/b', { 'cache-control': 'max-age=5' }), T0 + 6000)).toBeUndefined();
    expect(c.lookup(req('/b'), T0 + 6000)).toBeDefined();
    // request min-fresh: it must stay fresh that much longer (60 s lifetime, 50 s left at +10 s)
    expect(c.lookup(req('/b', { 'cache-control': 'min-fresh=51' }), T0 + 10_000)).toBeUndefined();
    expect(c.lookup(req('/b', { 'cache-control': 'min-fresh=50' }), T0 + 10_000)).toBeDefined();
  });

  it('invalidates_on_a_successful_unsafe_method_rfc9111_4_4', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    fill(c, req('/doc'), [['Cache-Control', 'max-age=60']], 'v1');
    c.invalidate(req('/doc', {}, 'PUT'), 500);
    expect(c.lookup(req('/doc'), T0)).toBeDefined();
    c.invalidate(req('/doc', {}, 'PUT'), 204);
    expect(c.lookup(req('/doc'), T0)).toBeUndefined();
    expect(c.counters.invalidations).toBe(1);
  });

  it('a_new_response_replaces_the_stored_one', () => {
    const c = new HttpCache({ maxBytes: 1 << 20, maxEntryBytes: 1 << 16 });
    fill(c, req('/r'), [['Cache-Control', 'max-age=60']], 'v1');
    fill(c, req('/r'), [['Cache-Control', 'max-age=60']], 'v2', T0 + 1000);
    expect(new TextDecoder().decode(c.lookup(req('/r'), T0 + 1000)!.body)).toBe('v2');
    expect(c.counters.entries).toBe(1);
  });
});

describe('LRU by bytes', () => {
  it('evicts_the_least_recently_used_entries_to_stay_under_max_bytes', () => {
    const c = new HttpCache({ maxBytes: 3000, maxEntryBytes: 2000 });
    const cc: H = [['Cache-Control', 'max-age=600']];
    fill(c, req('/1'), cc, 'a'.repeat(800));
    fill(c, req('/2'), cc, 'b'.repeat(800));
    fill(c, req('/3'), cc, 'c'.repeat(800));
    expect(c.counters.entries).toBe(3);
    expect(c.counters.bytes).toBeLessThanOrEqual(3000);
    c.lookup(req('/1'), T0); // /1 is now the most recently used
    fill(c, req('/4'), cc, 'd'.repeat(800));
    expect(c.counters.evictions).toBe(1);
    expect(c.lookup(req('/2'), T0)).toBeUndefined();
    for (const p of ['/1', '/3', '/4']) expect(c.lookup(req(p), T0), p).toBeDefined();
    expect(c.counters.bytes).toBeLessThanOrEqual(3000);
    fill(c, req('/huge'), cc, 'e'.repeat(1900));
    expect(c.counters.bytes).toBeLessThanOrEqual(3000);
    expect(c.lookup(req('/huge'), T0)).toBeDefined();
  });
});

describe('Cache-Control parsing', () => {
  it('parses_directives_case_insensitively_first_wins_quotes_kept_together', () => {
    const m = parseCacheControl('Max-Age=60, no-cache="Set-Cookie, X-A", max-age=5 ,public');
    expect([...m]).toEqual([['max-age', '60'], ['no-cache', 'Set-Cookie, X-A'], ['public', true]]);
    expect([...parseCacheControl(',,, =, "x')]).toEqual([['"x', true]]);
  });
});

describe('fuzz: the cache never throws on backend or client headers', () => {
  it('survives_random_cache_control_vary_expires_and_age', () => {
    const rng = mulberry32(0xcac4e);
    const seeds = ['max-age=60, s-maxage=5', 'no-cache="a, b", public', 'Accept-Encoding, *', 'Thu, 01 Dec 2026 16:00:00 GMT', '50', 'private="x"'];
    const str = () => String.fromCharCode(...(rng.int(3) === 0 ? rng.bytes(rng.int(30)) : rng.mutate(new TextEncoder().encode(seeds[rng.int(seeds.length)]!))));
    const c = new HttpCache({ maxBytes: 20_000, maxEntryBytes: 4000 });
    for (let i = 0; i < 3000; i++) {
      const r = requestView('GET', `/f${rng.int(20)}`, { host: 'h', 'cache-control': str(), [str().toLowerCase()]: str() });
      const headers: H = [['Cache-Control', str()], ['Vary', str()], ['Expires', str()], ['Age', str()], ['Date', str()]];
      const d = c.shouldStore(r, [200, 404, 206][rng.int(3)]!, headers, T0 + i);
      if (d.store) {
        expect(d.ttlMs).toBeGreaterThan(0);
        c.store(r, 200, headers, rng.bytes(rng.int(5000)), T0 + i, d.ttlMs, d.vary);
      }
      c.lookup(r, T0 + i);
      parseCacheControl(str());
      expect(c.counters.bytes).toBeLessThanOrEqual(20_000);
    }
    expect(c.counters.stores).toBeGreaterThan(50); // the mutations leave many storable responses
  });
});
