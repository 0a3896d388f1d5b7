// An in-memory shared HTTP cache (RFC 9111), pure: the store decision, freshness, Vary secondary
// keys, Age on hits, invalidation by unsafe methods, and a byte-bounded LRU. Time arrives as `now`.
//
// Design: the primary key is scheme + host + path + query (§2: method is always GET here; HEAD is answered
// from the GET entry, the caller sends no body). Each key holds variants told apart by the Vary'd
// request headers (§4.1). There is no revalidation: what is not fresh is a miss and is refetched, so
// responses that demand revalidation (no-cache) are not stored (deliberate, conservative deviation).
// Stored: GET, final status 200 203 204 300 301 308 404 405 410 414 501 (RFC 9110 §15.1's
// heuristically cacheable set) and only with explicit freshness (s-maxage > max-age > Expires),
// or with `defaultTtlMs` > 0 as the heuristic lifetime (§4.2.2). Never stored: 206/304/others.

import { HOP_BY_HOP } from './forwarding.js';
import type { RequestView } from './routes.js';

export interface CachedResponse {
  status: number;
  /** The stored header list with Age (RFC 9111 §5.1) set for the lookup's `now`. */
  headers: [string, string][];
  body: Uint8Array;
  /** RFC 9111 §4.2.3 current_age in whole seconds at `now`. */
  ageSeconds(now: number): number;
}

export interface HttpCacheOptions {
  /** Total bytes (bodies + headers + per-entry overhead) kept; least recently used go first. */
  maxBytes: number;
  /** Responses larger than this are not stored. */
  maxEntryBytes: number;
  /** Heuristic freshness for responses without explicit freshness; 0 (default): explicit only. */
  defaultTtlMs?: number;
}

export type StoreDecision = { store: true; ttlMs: number; vary: string[] } | { store: false; reason: string };

export interface CacheCounters {
  hits: number;
  misses: number;
  /** Lookups skipped because the request said no-store / no-cache (also counted as misses). */
  bypasses: number;
  stores: number;
  evictions: number;
  /** Entries removed by an unsafe method (RFC 9111 §4.4). */
  invalidations: number;
  bytes: number;
  entries: number;
}

/** RFC 9110 §15.1: status codes "heuristically cacheable" by default. */
export const CACHEABLE_STATUS: ReadonlySet<number> = new Set([200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501]);

const ENTRY_OVERHEAD = 128;

interface Entry {
  primary: string;
  /** Lowercase names from Vary, and the request's normalised values for them. */
  vary: string[];
  varyValues: (string | undefined)[];
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  storedAt: number;
  /** The Age the response already had when it arrived (§4.2.3 corrected_initial_age, simplified). */
  initialAgeMs: number;
  expiresAt: number;
  size: number;
}

/**
 * RFC 9111 §5.2: Cache-Control = #cache-directive; cache-directive = token [ "=" ( token /
 * quoted-string ) ]; names are case-insensitive; the first occurrence of a directive wins (§4.2.1).
 * Commas inside quoted strings don't split. Never throws.
 */
export function parseCacheControl(value: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (typeof value !== 'string') return out;
  let i = 0;
  const n = value.length;
  while (i < n) {
    while (i < n && (value[i] === ',' || value[i] === ' ' || value[i] === '\t')) i++;
    let name = '';
    while (i < n && value[i] !== '=' && value[i] !== ',') name += value[i++];
    name = name.trim().toLowerCase();
    let arg: string | true = true;
    if (i < n && value[i] === '=') {
      i++;
      while (i < n && (value[i] === ' ' || value[i] === '\t')) i++;
      if (value[i] === '"') {
        i++;
        let s = '';
        while (i < n && value[i] !== '"') {
          if (value[i] === '\\' && i + 1 < n) i++;
          s += value[i++];
        }
        i++; // closing quote (or end)
        arg = s;
        while (i < n && value[i] !== ',') i++;
      } else {
        let s = '';
        while (i < n && value[i] !== ',') s += value[i++];
        arg = s.trim();
      }
    }
    if (name !== '' && !out.has(name)) out.set(name, arg);
  }
  return out;
}

/** RFC 9111 §1.2.2 delta-seconds: digits only; anything else is invalid (undefined). */
function deltaSeconds(v: string | true | undefined): number | undefined {
  if (typeof v !== 'string' || !/^\d+$/.test(v)) return undefined;
  return Math.min(Number(v), 2 ** 31); // §1.2.2: overflow is 2^31
}

function headerValue(headers: [string, string][], lower: string): string | undefined {
  const vals = headers.filter(([n]) => n.toLowerCase() === lower).map(([, v]) => v);
  return vals.length === 0 ? undefined : vals.join(', ');
}

/** RFC 9111 §4.1: field values normalised for comparison (whitespace around commas collapsed). */
function normaliseForVary(v: string | undefined): string | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim().replace(/\s+/g, ' ')).join(',');
}

function requestDirectives(req: RequestView): Map<string, string | true> {
  const cc = req.header('cache-control');
  if (cc !== undefined) return parseCacheControl(cc);
  // RFC 9111 §5.4: Pragma is deprecated; honoured (as no-cache) only without Cache-Control.
  const pragma = req.header('pragma');
  const m = new Map<string, string | true>();
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) m.set('no-cache', true);
  return m;
}

export class HttpCache {
  /** Insertion order is recency: the first entry is the least recently used. */
  private readonly lru = new Map<Entry, true>();
  private readonly byKey = new Map<string, Entry[]>();
  readonly counters: CacheCounters = { hits: 0, misses: 0, bypasses: 0, stores: 0, evictions: 0, invalidations: 0, bytes: 0, entries: 0 };

  constructor(private readonly opts: HttpCacheOptions) {}

  static primaryKey(req: RequestView): string {
    return `${req.scheme ?? 'http'}://${req.host}\n${req.path}${req.query !== '' ? '?' + req.query : ''}`;
  }

  /** A fresh stored response for this GET/HEAD, or undefined (a miss: forward it). */
  lookup(req: RequestView, now: number): CachedResponse | undefined {
    if (req.method !== 'GET' && req.method !== 'HEAD') return undefined;
    const cc = requestDirectives(req);
    // RFC 9111 §5.2.1.5 no-store / §5.2.1.4 no-cache: don't answer from the cache (we never
    // revalidate, so no-cache means going to the origin).
    if (cc.has('no-store') || cc.has('no-cache')) {
      this.counters.bypasses++;
      this.counters.misses++;
      return undefined;
    }
    const list = this.byKey.get(HttpCache.primaryKey(req));
    const e = list?.find((x) => x.vary.every((name, i) => normaliseForVary(req.header(name)) === x.varyValues[i]));
    if (!e) {
      this.counters.misses++;
      return undefined;
    }
    if (now >= e.expiresAt) {
      this.remove(e);
      this.counters.misses++;
      return undefined;
    }
    const age = ageOf(e, now);
    // RFC 9111 §5.2.1.1 max-age in a request: the client will not accept an older response.
    const maxAge = deltaSeconds(cc.get('max-age'));
    // §5.2.1.3 min-fresh: the response must stay fresh for at least that many more seconds.
    const minFresh = deltaSeconds(cc.get('min-fresh'));
    if ((maxAge !== undefined && age > maxAge) || (minFresh !== undefined && e.expiresAt - now < minFresh * 1000)) {
      this.counters.misses++;
      return undefined;
    }
    this.lru.delete(e);
    this.lru.set(e, true);
    this.counters.hits++;
    return {
      status: e.status,
      // RFC 9111 §5.1: a cache that serves a stored response sends Age.
      headers: [...e.headers, ['Age', String(age)]],
      body: e.body,
      ageSeconds: (t: number) => ageOf(e, t),
    };
  }

  /**
   * Whether (and for how long) a backend's response to `req` may be stored. Give it the backend's
   * headers, before the proxy adds its own (a sticky Set-Cookie would make the response unstorable).
   */
  shouldStore(req: RequestView, status: number, headers: [string, string][], now: number): StoreDecision {
    if (req.method !== 'GET') return { store: false, reason: `method ${req.method}` };
    const rq = requestDirectives(req);
    // RFC 9111 §3: "the no-store cache directive is not present in the request".
    if (rq.has('no-store')) return { store: false, reason: 'request no-store' };
    if (!CACHEABLE_STATUS.has(status)) return { store: false, reason: `status ${status}` };
    const cc = parseCacheControl(headerValue(headers, 'cache-control'));
    if (cc.has('no-store')) return { store: false, reason: 'no-store' }; // §5.2.2.5
    if (cc.has('private')) return { store: false, reason: 'private' }; // §5.2.2.7: a shared cache MUST NOT store
    // §5.2.2.4: no-cache requires revalidation on every use; we don't revalidate (deviation: not stored).
    if (cc.has('no-cache')) return { store: false, reason: 'no-cache' };
    // §3.5: a shared cache MUST NOT use a response to a request with Authorization unless the
    // response has must-revalidate, public or s-maxage.
    if (req.header('authorization') !== undefined && !cc.has('public') && !cc.has('s-maxage') && !cc.has('must-revalidate')) {
      return { store: false, reason: 'Authorization without public/s-maxage' };
    }
    const varyRaw = headerValue(headers, 'vary');
    const vary = varyRaw === undefined ? [] : varyRaw.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
    // §4.1: "A stored response with a Vary header field value containing a member "*" always fails to match."
    if (vary.includes('*')) return { store: false, reason: 'Vary: *' };
    // Deviation: a Set-Cookie response would hand one client's cookie to others; not stored.
    if (headers.some(([n]) => n.toLowerCase() === 'set-cookie')) return { store: false, reason: 'Set-Cookie' };
    const len = headerValue(headers, 'content-length');
    if (len !== undefined && /^\d+$/.test(len.trim()) && Number(len) > this.opts.maxEntryBytes) return { store: false, reason: 'too large' };
    const lifetime = freshnessLifetimeMs(cc, headers, now, this.opts.defaultTtlMs ?? 0);
    if (lifetime === undefined) return { store: false, reason: 'no explicit freshness' };
    const age = (deltaSeconds(headerValue(headers, 'age')?.trim()) ?? 0) * 1000;
    const ttlMs = lifetime - age;
    if (ttlMs <= 0) return { store: false, reason: 'already stale' };
    return { store: true, ttlMs, vary };
  }

  /** Stores a complete response (after shouldStore said yes). Bodies over maxEntryBytes are dropped. */
  store(req: RequestView, status: number, headers: [string, string][], body: Uint8Array, now: number, ttlMs: number, vary: string[]): void {
    if (body.length > this.opts.maxEntryBytes) return;
    const kept = headers.filter(([n]) => {
      const l = n.toLowerCase();
      return !HOP_BY_HOP.has(l) && l !== 'age' && l !== 'x-cache';
    });
    const primary = HttpCache.primaryKey(req);
    const age = (deltaSeconds(headerValue(headers, 'age')?.trim()) ?? 0) * 1000;
    let size = ENTRY_OVERHEAD + primary.length + body.length;
    for (const [n, v] of kept) size += n.length + v.length + 4;
    if (size > this.opts.maxBytes) return;
    const e: Entry = {
      primary,
      vary,
      varyValues: vary.map((name) => normaliseForVary(req.header(name))),
      status,
      headers: kept,
      body,
      storedAt: now,
      initialAgeMs: age,
      expiresAt: now + ttlMs,
      size,
    };
    // One variant per secondary key: a new response replaces the old (RFC 9111 §3.1 "update").
    const list = this.byKey.get(primary) ?? [];
    const same = list.find((x) => x.vary.length === e.vary.length && x.vary.every((n, i) => n === e.vary[i] && x.varyValues[i] === e.varyValues[i]));
    if (same) this.remove(same);
    const fresh = this.byKey.get(primary) ?? [];
    fresh.push(e);
    this.byKey.set(primary, fresh);
    this.lru.set(e, true);
    this.counters.stores++;
    this.counters.bytes += size;
    this.counters.entries++;
    for (const old of this.lru.keys()) {
      if (this.counters.bytes <= this.opts.maxBytes) break;
      this.remove(old);
      this.counters.evictions++;
    }
  }

  /**
   * RFC 9111 §4.4: a non-error response to an unsafe method invalidates the target URI's stored
   * responses. Call with every response to a method other than GET/HEAD/OPTIONS/TRACE.
   */
  invalidate(req: RequestView, status: number): void {
    if (['GET', 'HEAD', 'OPTIONS', 'TRACE'].includes(req.method) || status < 200 || status >= 400) return;
    const list = this.byKey.get(HttpCache.primaryKey(req));
    for (const e of [...(list ?? [])]) {
      this.remove(e);
      this.counters.invalidations++;
    }
  }

  private remove(e: Entry): void {
    if (!this.lru.delete(e)) return;
    const list = this.byKey.get(e.primary);
    if (list) {
      const rest = list.filter((x) => x !== e);
      if (rest.length === 0) this.byKey.delete(e.primary);
      else this.byKey.set(e.primary, rest);
    }
    this.counters.bytes -= e.size;
    this.counters.entries--;
  }
}

function ageOf(e: Entry, now: number): number {
  return Math.max(0, Math.floor((e.initialAgeMs + now - e.storedAt) / 1000));
}

/**
 * RFC 9111 §4.2.1 freshness_lifetime: s-maxage (shared caches, §5.2.2.10) over max-age (§5.2.2.1)
 * over Expires − Date (§5.3; an invalid Expires such as "0" means already expired); else the
 * heuristic default when configured and allowed (§4.2.2), else undefined (not storable here).
 */
function freshnessLifetimeMs(cc: Map<string, string | true>, headers: [string, string][], now: number, heuristicMs: number): number | undefined {
  if (cc.has('s-maxage')) return (deltaSeconds(cc.get('s-maxage')) ?? 0) * 1000;
  if (cc.has('max-age')) return (deltaSeconds(cc.get('max-age')) ?? 0) * 1000;
  const expires = headerValue(headers, 'expires');
  if (expires !== undefined) {
    const t = Date.parse(expires);
    if (Number.isNaN(t)) return 0;
    const dateHdr = headerValue(headers, 'date');
    const d = dateHdr === undefined ? NaN : Date.parse(dateHdr);
    return Math.max(0, t - (Number.isNaN(d) ? now : d));
  }
  return heuristicMs > 0 ? heuristicMs : undefined;
}
