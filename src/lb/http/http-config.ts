// The config of a mode "http" (L7) service: listeners, named pools, ordered routes, sticky cookie,
// cache, filter, timeouts — validated with errors naming the field and line like the rest of lb config.
//
// Design: one VIP address, any number of listeners on it, each plain HTTP or HTTPS (TLS offload);
// pools reuse the L4 pieces (algorithms, backends, health checks) and each carries a ready
// ServiceConfig so `new Pool(pool.service)` works unchanged. Example (a service in "services"):
//
//   {
//     "name": "web", "mode": "http", "vip": "198.18.0.2",
//     "listen": [ { "port": 80 },
//                 { "port": 443, "tls": true, "certs": [ { "cert": "web.pem", "key": "web.key" } ] } ],
//     "pools": {
//       "images":  { "algo": "leastconn", "backends": ["198.18.1.11:8080", "198.18.1.12:8080,2"],
//                    "health": { "type": "http", "path": "/health" } },
//       "videos":  { "backends": [ { "address": "198.18.1.13:8443" } ], "tls": { "servername": "videos.test", "cacert": "ca.pem" } },
//       "default": { "backends": ["198.18.1.14:8080"], "maxIdlePerBackend": 8, "maxPerBackend": 64 }
//     },
//     "routes": [
//       { "name": "images", "match": { "pathPrefix": "/api/images/" }, "pool": "images" },
//       { "name": "videos", "match": { "pathRegex": "^/api/videos/", "method": ["GET", "HEAD"] }, "pool": "videos" },
//       { "name": "beta", "match": { "host": "*.example.test", "cookie": { "name": "beta", "value": "1" } }, "pool": "images" }
//     ],
//     "defaultPool": "default",
//     "sticky": { "name": "TSLB", "insert": true, "maxAgeSeconds": 3600 },
//     "cache": { "maxBytes": 67108864, "maxEntryBytes": 8388608 },
//     "filter": { "builtin": true, "rules": [ { "name": "no-trace", "action": "deny", "method": ["TRACE"] } ] },
//     "timeouts": { "connect": 2000, "response": 30000, "idle": 60000 },
//     "retry": true, "accessLog": true
//   }
//
// "vip" is the address alone when "listen" names the ports; "vip": "198.18.0.2:80" without "listen"
// is one plain HTTP listener. A TLS listener's certs are chosen by SNI (the first is the default);
// without certs the CLI supplies one (its local CA, as `serve --https`). Pool backends are
// "addr:port", "addr:port,weight" or { "address", "weight" }. Pool "tls": true (verify against the
// system/local CA) or { servername?, cacert?, insecure? }. "cache": false turns caching off;
// defaults: cache on (64 MiB, 8 MiB per entry, explicit freshness only), builtin filter on,
// timeouts 5000/30000/60000 ms, retry on, accessLog on. With no defaultPool and a single pool, that
// pool is the default; with several, unrouted requests have no pool (the engine answers 404).

import { formatIpv4Addr, parseIpv4Addr } from '../../wire/addr.js';
import type { BackendConfig, Checker, HealthConfig, ServiceConfig } from '../config.js';
import type { AlgoName } from '../algo/types.js';
import type { Json } from '../json-lines.js';
import type { HttpCacheOptions } from './cache.js';
import { BUILTIN_MAX_HEADER_BYTES, type FilterRule } from './filter.js';
import type { RouteMatch, RouteRule } from './routes.js';
import type { StickyConfig } from './sticky.js';

export interface HttpListener {
  port: number;
  tls: boolean;
  /** PEM file paths; SNI picks among them, the first is the default. Empty: the CLI's own. */
  certs: { cert: string; key: string }[];
}

export interface HttpPoolTls {
  /** SNI and the name verified (default: the backend's address). */
  servername?: string;
  /** PEM file of the CA that signs the backends' certificates. */
  cacert?: string;
  /** Skip certificate verification (testing only). */
  insecure: boolean;
}

export interface HttpPoolConfig {
  name: string;
  algo: AlgoName;
  tableSize: number;
  backends: BackendConfig[];
  health: HealthConfig | undefined;
  /** Re-encrypt to the backends (HTTPS), or plain HTTP when undefined. */
  tls: HttpPoolTls | undefined;
  /** Idle keep-alive connections kept per backend. */
  maxIdlePerBackend: number;
  /** Connections (idle + busy) per backend; further requests wait for one. */
  maxPerBackend: number;
  /** The pool as an L4 ServiceConfig (name "SERVICE/POOL", mode "http"): `new Pool(service)`. */
  service: ServiceConfig;
}

export interface HttpTimeouts {
  /** TCP (and TLS) connect to a backend, ms. */
  connect: number;
  /** From the request sent to the response head, ms. */
  response: number;
  /** A client keep-alive connection with no request in progress, ms. */
  idle: number;
}

export interface HttpServiceConfig {
  /** The VIP address ("198.18.0.2") shared by the listeners. */
  address: string;
  addr: number;
  listeners: HttpListener[];
  /** The pools in file order (names unique). */
  pools: HttpPoolConfig[];
  routes: RouteRule[];
  defaultPool: string | undefined;
  sticky: StickyConfig | undefined;
  cache: HttpCacheOptions | false;
  filter: { builtin: boolean; maxHeaderBytes: number; rules: FilterRule[] };
  timeouts: HttpTimeouts;
  retry: boolean;
  accessLog: boolean;
}

export const DEFAULT_HTTP_TIMEOUTS: HttpTimeouts = { connect: 5000, response: 30_000, idle: 60_000 };
export const DEFAULT_HTTP_CACHE: HttpCacheOptions = { maxBytes: 64 * 1024 * 1024, maxEntryBytes: 8 * 1024 * 1024, defaultTtlMs: 0 };

/** RFC 9110 §5.6.2 token: header names, methods, cookie names (RFC 6265 §4.1.1). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const NAME = /^[A-Za-z0-9_.-]+$/;
const show = (v: Json | undefined): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Validates one mode "http" service (already checked to be an object with known fields) into a
 * ServiceConfig carrying `http`. `p` is its path ("services[0]") for errors.
 */
export function validateHttpService(c: Checker, p: string, o: { [k: string]: Json }, nameGiven: string | undefined): ServiceConfig {
  // ---- VIP and listeners ----
  if (typeof o.vip !== 'string') c.fail(`${p}.vip`, `must be the VIP address like "198.18.0.2" (with "listen"), or "198.18.0.2:80", not ${show(o.vip)}`);
  let addr: number;
  let listeners: HttpListener[];
  if (o.listen === undefined) {
    const ep = c.endpoint(`${p}.vip`, o.vip);
    addr = ep.addr;
    listeners = [{ port: ep.port, tls: false, certs: [] }];
  } else {
    if (/:/.test(o.vip)) c.fail(`${p}.vip`, `give the address alone (like "198.18.0.2") when "listen" names the ports, not ${show(o.vip)}`);
    const a = parseIpv4Addr(o.vip);
    if (a === undefined) c.fail(`${p}.vip`, `must be an IPv4 address like "198.18.0.2", not ${show(o.vip)}`);
    addr = a;
    if (!Array.isArray(o.listen) || o.listen.length === 0) c.fail(`${p}.listen`, 'must be a non-empty array like [{ "port": 80 }, { "port": 443, "tls": true }]');
    const ports = new Set<number>();
    listeners = o.listen.map((l, k) => {
      const lp = `${p}.listen[${k}]`;
      const lo = c.object(lp, l, ['port', 'tls', 'certs']);
      const port = c.int(`${lp}.port`, lo.port, undefined, 1, 65535);
      if (ports.has(port)) c.fail(`${lp}.port`, `port ${port} is listed twice`);
      ports.add(port);
      const tls = c.bool(`${lp}.tls`, lo.tls, false);
      const certs: { cert: string; key: string }[] = [];
      if (lo.certs !== undefined) {
        if (!tls) c.fail(`${lp}.certs`, 'only a TLS listener ("tls": true) takes certificates');
        if (!Array.isArray(lo.certs)) c.fail(`${lp}.certs`, 'must be an array like [{ "cert": "site.pem", "key": "site.key" }]');
        lo.certs.forEach((x, j) => {
          const cp = `${lp}.certs[${j}]`;
          const co = c.object(cp, x, ['cert', 'key']);
          certs.push({ cert: c.str(`${cp}.cert`, co.cert, undefined, undefined, 'a PEM file path'), key: c.str(`${cp}.key`, co.key, undefined, undefined, 'a PEM file path') });
        });
      }
      return { port, tls, certs };
    });
  }
  const address = formatIpv4Addr(addr);
  const name = nameGiven ?? `${address}:${listeners[0]!.port}`;

  // ---- pools ----
  const poolsRaw = c.object(`${p}.pools`, o.pools ?? c.fail(`${p}.pools`, 'is required: an object of named pools like { "default": { "backends": ["198.18.1.11:8080"] } }'), Object.keys(o.pools ?? {}));
  const poolNames = Object.keys(poolsRaw);
  if (poolNames.length === 0) c.fail(`${p}.pools`, 'must name at least one pool');
  const vipKey = `${address}:${listeners[0]!.port}`;
  const pools: HttpPoolConfig[] = [];
  for (const pn of poolNames) {
    const pp = `${p}.pools.${pn}`;
    if (!NAME.test(pn)) c.fail(pp, `a pool name uses letters, digits, "_", "." and "-" only, not ${show(pn)}`);
    const po = c.object(pp, poolsRaw[pn], ['algo', 'tableSize', 'backends', 'health', 'tls', 'maxIdlePerBackend', 'maxPerBackend']);
    const { algo, tableSize } = c.algo(pp, po.algo, po.tableSize);
    const backends = c.backends(`${pp}.backends`, po.backends, true);
    const health = c.health(`${pp}.health`, po.health);
    let tls: HttpPoolTls | undefined;
    if (po.tls === true) tls = { insecure: false };
    else if (po.tls !== undefined && po.tls !== false) {
      const to = c.object(`${pp}.tls`, po.tls, ['servername', 'cacert', 'insecure']);
      tls = { insecure: c.bool(`${pp}.tls.insecure`, to.insecure, false) };
      if (to.servername !== undefined) tls.servername = c.str(`${pp}.tls.servername`, to.servername, undefined, /^[A-Za-z0-9.-]+$/, 'a DNS name');
      if (to.cacert !== undefined) tls.cacert = c.str(`${pp}.tls.cacert`, to.cacert, undefined, undefined, 'a PEM file path');
      if (tls.insecure && tls.cacert !== undefined) c.fail(`${pp}.tls.insecure`, 'turns verification off, so "cacert" would be unused: give one or the other');
    }
    const maxPerBackend = c.int(`${pp}.maxPerBackend`, po.maxPerBackend, 256, 1, 100_000);
    const maxIdlePerBackend = c.int(`${pp}.maxIdlePerBackend`, po.maxIdlePerBackend, Math.min(16, maxPerBackend), 0, maxPerBackend);
    const service: ServiceConfig = { name: `${name}/${pn}`, vip: vipKey, vipAddr: addr, vipPort: listeners[0]!.port, mode: 'http', algo, tableSize, backends, health };
    pools.push({ name: pn, algo, tableSize, backends, health, tls, maxIdlePerBackend, maxPerBackend, service });
  }
  const poolRef = (path: string, v: Json | undefined): string => {
    if (typeof v !== 'string' || !poolNames.includes(v)) c.fail(path, `must name a pool (one of: ${poolNames.join(', ')}), not ${show(v)}`);
    return v;
  };

  // ---- routes ----
  const routes: RouteRule[] = [];
  if (o.routes !== undefined) {
    if (!Array.isArray(o.routes)) c.fail(`${p}.routes`, 'must be an array of { "name", "match", "pool" }');
    const names = new Set<string>();
    o.routes.forEach((r, k) => {
      const rp = `${p}.routes[${k}]`;
      const ro = c.object(rp, r, ['name', 'match', 'pool']);
      const rn = c.str(`${rp}.name`, ro.name, `route-${k + 1}`);
      if (names.has(rn)) c.fail(`${rp}.name`, `route name ${show(rn)} is used twice`);
      names.add(rn);
      routes.push({ name: rn, match: routeMatch(c, `${rp}.match`, ro.match), pool: poolRef(`${rp}.pool`, ro.pool) });
    });
  }
  const defaultPool = o.defaultPool !== undefined ? poolRef(`${p}.defaultPool`, o.defaultPool) : poolNames.length === 1 ? poolNames[0] : undefined;

  // ---- sticky ----
  let sticky: StickyConfig | undefined;
  if (o.sticky !== undefined && o.sticky !== null && o.sticky !== false) {
    const so = c.object(`${p}.sticky`, o.sticky, ['name', 'insert', 'maxAgeSeconds']);
    sticky = { name: c.str(`${p}.sticky.name`, so.name, undefined, TOKEN, 'a cookie name (RFC 6265 token) like "TSLB"'), insert: c.bool(`${p}.sticky.insert`, so.insert, true) };
    if (so.maxAgeSeconds !== undefined) sticky.maxAgeSeconds = c.int(`${p}.sticky.maxAgeSeconds`, so.maxAgeSeconds, undefined, 1, 2 ** 31 - 1);
  }

  // ---- cache ----
  let cache: HttpCacheOptions | false = { ...DEFAULT_HTTP_CACHE };
  if (o.cache === false) cache = false;
  else if (o.cache !== undefined && o.cache !== true) {
    const co = c.object(`${p}.cache`, o.cache, ['maxBytes', 'maxEntryBytes', 'defaultTtlMs']);
    const maxBytes = c.int(`${p}.cache.maxBytes`, co.maxBytes, DEFAULT_HTTP_CACHE.maxBytes, 1024, 2 ** 40);
    const maxEntryBytes = c.int(`${p}.cache.maxEntryBytes`, co.maxEntryBytes, Math.min(DEFAULT_HTTP_CACHE.maxEntryBytes, maxBytes), 1, maxBytes);
    cache = { maxBytes, maxEntryBytes, defaultTtlMs: c.int(`${p}.cache.defaultTtlMs`, co.defaultTtlMs, 0, 0, 86_400_000 * 365) };
  }

  // ---- filter ----
  const fo = o.filter === undefined ? {} : c.object(`${p}.filter`, o.filter, ['builtin', 'maxHeaderBytes', 'rules']);
  const filter = {
    builtin: c.bool(`${p}.filter.builtin`, fo.builtin, true),
    maxHeaderBytes: c.int(`${p}.filter.maxHeaderBytes`, fo.maxHeaderBytes, BUILTIN_MAX_HEADER_BYTES, 256, 1024 * 1024),
    rules: [] as FilterRule[],
  };
  if (fo.rules !== undefined) {
    if (!Array.isArray(fo.rules)) c.fail(`${p}.filter.rules`, 'must be an array of { "name", "action", … }');
    const names = new Set<string>();
    fo.rules.forEach((r, k) => {
      const fp = `${p}.filter.rules[${k}]`;
      const ro = c.object(fp, r, ['name', 'action', 'method', 'path', 'query', 'header', 'maxBodyBytes', 'maxHeaderBytes']);
      const rn = c.str(`${fp}.name`, ro.name, `rule-${k + 1}`);
      if (rn.startsWith('builtin:')) c.fail(`${fp}.name`, 'names starting "builtin:" belong to the built-in rules');
      if (names.has(rn)) c.fail(`${fp}.name`, `rule name ${show(rn)} is used twice`);
      names.add(rn);
      const rule: FilterRule = { name: rn, action: c.oneOf<'allow' | 'deny'>(`${fp}.action`, ro.action, undefined, ['allow', 'deny']) };
      if (ro.method !== undefined) rule.method = methods(c, `${fp}.method`, ro.method);
      if (ro.path !== undefined) rule.path = c.regex(`${fp}.path`, ro.path);
      if (ro.query !== undefined) rule.query = c.regex(`${fp}.query`, ro.query);
      if (ro.header !== undefined) {
        const hp = `${fp}.header`;
        const ho = c.object(hp, ro.header, ['name', 'present', 'value']);
        rule.header = { name: c.str(`${hp}.name`, ho.name, undefined, TOKEN, 'a header name') };
        if (ho.present !== undefined) rule.header.present = c.bool(`${hp}.present`, ho.present, true);
        if (ho.value !== undefined) rule.header.value = c.regex(`${hp}.value`, ho.value);
        if (rule.header.present === false && rule.header.value !== undefined) c.fail(`${hp}.value`, 'cannot match the value of a header required to be absent');
      }
      if (ro.maxBodyBytes !== undefined) rule.maxBodyBytes = c.int(`${fp}.maxBodyBytes`, ro.maxBodyBytes, undefined, 0, Number.MAX_SAFE_INTEGER);
      if (ro.maxHeaderBytes !== undefined) rule.maxHeaderBytes = c.int(`${fp}.maxHeaderBytes`, ro.maxHeaderBytes, undefined, 0, 1024 * 1024);
      filter.rules.push(rule);
    });
  }

  // ---- timeouts, flags ----
  const to = o.timeouts === undefined ? {} : c.object(`${p}.timeouts`, o.timeouts, ['connect', 'response', 'idle']);
  const d = DEFAULT_HTTP_TIMEOUTS;
  const timeouts: HttpTimeouts = {
    connect: c.int(`${p}.timeouts.connect`, to.connect, d.connect, 1, 3_600_000),
    response: c.int(`${p}.timeouts.response`, to.response, d.response, 1, 3_600_000),
    idle: c.int(`${p}.timeouts.idle`, to.idle, d.idle, 1, 3_600_000),
  };
  const retry = c.bool(`${p}.retry`, o.retry, true);
  const accessLog = c.bool(`${p}.accessLog`, o.accessLog, true);

  // The top-level summary for code that only knows L4 services (see ServiceConfig.http).
  const seen = new Set<string>();
  const allBackends: BackendConfig[] = [];
  for (const pool of pools) for (const b of pool.backends) if (!seen.has(b.key) && seen.add(b.key)) allBackends.push(b);
  const main = pools.find((x) => x.name === defaultPool) ?? pools[0]!;
  const http: HttpServiceConfig = { address, addr, listeners, pools, routes, defaultPool, sticky, cache, filter, timeouts, retry, accessLog };
  return { name, vip: vipKey, vipAddr: addr, vipPort: listeners[0]!.port, mode: 'http', algo: main.algo, tableSize: main.tableSize, backends: allBackends, health: undefined, http };
}

function methods(c: Checker, path: string, v: Json): string[] {
  if (!Array.isArray(v) || v.length === 0) c.fail(path, 'must be a non-empty array of methods like ["GET", "HEAD"]');
  return v.map((m, i) => c.str(`${path}[${i}]`, m, undefined, TOKEN, 'a method name like "GET" (case-sensitive)'));
}

function routeMatch(c: Checker, mp: string, v: Json | undefined): RouteMatch {
  const mo = c.object(mp, v ?? c.fail(mp, 'is required: an object of conditions, e.g. { "pathPrefix": "/api/" } ({} matches everything)'), ['host', 'pathPrefix', 'pathRegex', 'header', 'cookie', 'method']);
  const m: RouteMatch = {};
  if (mo.host !== undefined) m.host = c.str(`${mp}.host`, mo.host, undefined, /^(\*\.)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$|^\[[0-9a-fA-F:.]+\]$/, 'a host name like "api.example.test" or "*.example.test"').toLowerCase();
  if (mo.pathPrefix !== undefined) m.pathPrefix = c.str(`${mp}.pathPrefix`, mo.pathPrefix, undefined, /^\//, 'a path prefix starting with "/"');
  if (mo.pathRegex !== undefined) m.pathRegex = c.regex(`${mp}.pathRegex`, mo.pathRegex);
  if (mo.header !== undefined) {
    const hp = `${mp}.header`;
    const ho = c.object(hp, mo.header, ['name', 'value', 'regex', 'present']);
    const h: NonNullable<RouteMatch['header']> = { name: c.str(`${hp}.name`, ho.name, undefined, TOKEN, 'a header name') };
    if (ho.value !== undefined) h.value = c.str(`${hp}.value`, ho.value, undefined, undefined, 'a string');
    if (ho.regex !== undefined) h.regex = c.regex(`${hp}.regex`, ho.regex);
    if (ho.present !== undefined) h.present = c.bool(`${hp}.present`, ho.present, true);
    if (h.present === false && (h.value !== undefined || h.regex !== undefined)) c.fail(`${hp}.present`, 'a header required to be absent has no value to match');
    m.header = h;
  }
  if (mo.cookie !== undefined) {
    const cp = `${mp}.cookie`;
    const co = c.object(cp, mo.cookie, ['name', 'value', 'regex']);
    const ck: NonNullable<RouteMatch['cookie']> = { name: c.str(`${cp}.name`, co.name, undefined, TOKEN, 'a cookie name') };
    if (co.value !== undefined) ck.value = c.str(`${cp}.value`, co.value, undefined, undefined, 'a string');
    if (co.regex !== undefined) ck.regex = c.regex(`${cp}.regex`, co.regex);
    m.cookie = ck;
  }
  if (mo.method !== undefined) m.method = methods(c, `${mp}.method`, mo.method);
  return m;
}
