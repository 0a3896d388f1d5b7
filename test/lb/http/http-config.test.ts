// The mode "http" service config: listeners on one VIP, named pools, routes, sticky, cache, filter,
// timeouts — defaults filled in, and errors that name the file, line and field.

import { describe, expect, it } from 'vitest';
import { parseConfigText } from '../../../src/lb/config.js';
import { Pool } from '../../../src/lb/pool.js';
import { Router, requestView } from '../../../src/lb/http/routes.js';
import { RequestFilter } from '../../../src/lb/http/filter.js';

const good = `{
  "services": [
    {
      "name": "web",
      "mode": "http",
      "vip": "198.18.0.2",
      "listen": [
        { "port": 80 },
        { "port": 443, "tls": true, "certs": [ { "cert": "web.pem", "key": "web.key" } ] }
      ],
      "pools": {
        "images": { "algo": "leastconn", "backends": ["198.18.1.11:8080", "198.18.1.12:8080,3"], "health": { "type": "http", "path": "/health" } },
        "videos": { "backends": [ { "address": "198.18.1.13:8443" } ], "tls": { "servername": "videos.test", "cacert": "ca.pem" } },
        "default": { "backends": ["198.18.1.14:8080"], "maxIdlePerBackend": 4, "maxPerBackend": 32 }
      },
      "routes": [
        { "name": "images", "match": { "pathPrefix": "/api/images/" }, "pool": "images" },
        { "name": "videos", "match": { "pathRegex": "^/api/videos/", "method": ["GET", "HEAD"] }, "pool": "videos" },
        { "match": { "host": "*.example.test", "cookie": { "name": "beta", "value": "1" }, "header": { "name": "X-Beta", "present": true } }, "pool": "images" }
      ],
      "defaultPool": "default",
      "sticky": { "name": "TSLB", "maxAgeSeconds": 3600 },
      "cache": { "maxBytes": 1048576, "maxEntryBytes": 65536 },
      "filter": { "rules": [ { "name": "no-trace", "action": "deny", "method": ["TRACE"] }, { "name": "no-admin", "action": "deny", "path": "^/admin" } ] },
      "timeouts": { "connect": 2000 },
      "accessLog": false
    },
    { "name": "tcp", "vip": "198.18.0.2:5432", "mode": "proxy", "backends": ["198.18.1.20:5432"] }
  ],
  "stats": { "port": 8404 }
}`;

const bad = (from: string, to: string) => () => parseConfigText(good.replace(from, to), 'lb.json');

describe('mode http config', () => {
  it('parses_a_full_http_service_next_to_an_l4_one', () => {
    const c = parseConfigText(good, 'lb.json');
    const s = c.services[0]!;
    expect(s).toMatchObject({ name: 'web', mode: 'http', vip: '198.18.0.2:80', vipPort: 80, algo: 'roundrobin' });
    const h = s.http!;
    expect(h.address).toBe('198.18.0.2');
    expect(h.listeners).toEqual([
      { port: 80, tls: false, certs: [] },
      { port: 443, tls: true, certs: [{ cert: 'web.pem', key: 'web.key' }] },
    ]);
    expect(h.pools.map((p) => p.name)).toEqual(['images', 'videos', 'default']);
    const [images, videos, dflt] = h.pools;
    expect(images!.backends.map((b) => [b.key, b.weight])).toEqual([['198.18.1.11:8080', 1], ['198.18.1.12:8080', 3]]);
    expect(images!).toMatchObject({ algo: 'leastconn', tls: undefined, maxPerBackend: 256, maxIdlePerBackend: 16 });
    expect(images!.health).toMatchObject({ type: 'http', path: '/health', expect: 200 });
    expect(videos!.tls).toEqual({ servername: 'videos.test', cacert: 'ca.pem', insecure: false });
    expect(dflt).toMatchObject({ maxIdlePerBackend: 4, maxPerBackend: 32 });
    expect(h.routes.map((r) => [r.name, r.pool])).toEqual([['images', 'images'], ['videos', 'videos'], ['route-3', 'images']]);
    expect(h.routes[2]!.match).toEqual({ host: '*.example.test', cookie: { name: 'beta', value: '1' }, header: { name: 'X-Beta', present: true } });
    expect(h.defaultPool).toBe('default');
    expect(h.sticky).toEqual({ name: 'TSLB', insert: true, maxAgeSeconds: 3600 });
    expect(h.cache).toEqual({ maxBytes: 1048576, maxEntryBytes: 65536, defaultTtlMs: 0 });
    expect(h.filter.builtin).toBe(true);
    expect(h.filter.maxHeaderBytes).toBe(16384);
    expect(h.filter.rules.map((r) => r.name)).toEqual(['no-trace', 'no-admin']);
    expect(h.timeouts).toEqual({ connect: 2000, response: 30_000, idle: 60_000 });
    expect([h.retry, h.accessLog]).toEqual([true, false]);
    // the L4 summary: every pool's backends once
    expect(s.backends.map((b) => b.key)).toEqual(['198.18.1.11:8080', '198.18.1.12:8080', '198.18.1.13:8443', '198.18.1.14:8080']);
    expect(c.services[1]).toMatchObject({ mode: 'proxy', vip: '198.18.0.2:5432' });
  });

  it('feeds_the_router_filter_and_l4_pool_directly', () => {
    const h = parseConfigText(good, 'lb.json').services[0]!.http!;
    const router = new Router(h.routes, h.defaultPool);
    expect(router.route(requestView('GET', '/api/videos/1', { host: 'x' }))?.pool).toBe('videos');
    expect(router.route(requestView('POST', '/api/videos/1', { host: 'x' }))?.pool).toBe('default');
    expect(router.route(requestView('GET', '/', { host: 'a.example.test', cookie: 'beta=1', 'x-beta': '' }))?.rule).toBe('route-3');
    const filter = new RequestFilter(h.filter.rules, h.filter);
    expect(filter.check(requestView('TRACE', '/', {}), { headerBytes: 10, contentLength: undefined })).toMatchObject({ status: 403, rule: 'no-trace' });
    const pool = new Pool(h.pools[0]!.service);
    expect(pool.name).toBe('web/images');
    expect(pool.choose({ srcAddr: 1, srcPort: 2 })?.key).toMatch(/^198\.18\.1\.1[12]:8080$/);
  });

  it('takes_vip_with_port_as_one_plain_listener_and_fills_defaults', () => {
    const c = parseConfigText('{"services":[{"mode":"http","vip":"198.18.0.2:8080","pools":{"p":{"backends":["198.18.1.11:80"]}}}]}', 'x');
    const s = c.services[0]!;
    expect(s.name).toBe('198.18.0.2:8080');
    expect(s.http).toMatchObject({ listeners: [{ port: 8080, tls: false, certs: [] }], defaultPool: 'p', routes: [], sticky: undefined, retry: true, accessLog: true });
    expect(s.http!.cache).toEqual({ maxBytes: 64 * 1024 * 1024, maxEntryBytes: 8 * 1024 * 1024, defaultTtlMs: 0 });
    const off = parseConfigText('{"services":[{"mode":"http","vip":"198.18.0.2:8080","cache":false,"pools":{"a":{"backends":["198.18.1.11:80"]},"b":{"backends":["198.18.1.12:80"],"tls":true}}}]}', 'x');
    expect(off.services[0]!.http).toMatchObject({ cache: false, defaultPool: undefined });
    expect(off.services[0]!.http!.pools[1]!.tls).toEqual({ insecure: false });
  });

  it('names_the_line_and_field_of_a_bad_regex', () => {
    expect(bad('"^/api/videos/"', '"^/api/(videos/"')).toThrow(/^lb\.json:18: services\[0\]\.routes\[1\]\.match\.pathRegex: not a valid regular expression "\^\/api\/\(videos\/"/);
    expect(bad('"path": "^/admin"', '"path": "*x"')).toThrow(/^lb\.json:24: services\[0\]\.filter\.rules\[1\]\.path: not a valid regular expression/);
  });

  it('names_a_route_to_an_unknown_pool', () => {
    expect(bad('"pool": "videos"', '"pool": "video"')).toThrow('lb.json:18: services[0].routes[1].pool: must name a pool (one of: images, videos, default), not "video"');
    expect(bad('"defaultPool": "default"', '"defaultPool": "nope"')).toThrow(/^lb\.json:21: services\[0\]\.defaultPool: must name a pool/);
  });

  it('names_bad_listeners', () => {
    expect(bad('{ "port": 80 }', '{ "port": 443 }')).toThrow(/^lb\.json:9: services\[0\]\.listen\[1\]\.port: port 443 is listed twice/);
    expect(bad('{ "port": 80 }', '{ "port": 80, "certs": [] }')).toThrow(/^lb\.json:8: services\[0\]\.listen\[0\]\.certs: only a TLS listener/);
    expect(bad('"vip": "198.18.0.2",', '"vip": "198.18.0.2:80",')).toThrow(/^lb\.json:6: services\[0\]\.vip: give the address alone/);
    expect(bad('"port": 5432', '"port": 1')).not.toThrow();
    expect(() => parseConfigText(good.replace('"198.18.0.2:5432"', '"198.18.0.2:443"'), 'lb.json')).toThrow(/^lb\.json:28: services\[1\]\.vip: 198\.18\.0\.2:443 is already used/);
    expect(bad('"port": 8404', '"port": 443')).toThrow(/stats\.port: 443 is also a service port \(198\.18\.0\.2:443\)/);
  });

  it('names_bad_pools_backends_and_options', () => {
    expect(bad('"198.18.1.12:8080,3"', '"198.18.1.12:8080,x"')).toThrow(/^lb\.json:12: services\[0\]\.pools\.images\.backends\[1\]: must be "address:port" or "address:port,weight"/);
    expect(bad('"algo": "leastconn"', '"algo": "fastest"')).toThrow(/^lb\.json:12: services\[0\]\.pools\.images\.algo: must be one of/);
    expect(bad('"maxPerBackend": 32', '"maxPerBackend": 2')).toThrow(/pools\.default\.maxIdlePerBackend: must be a whole number from 0 to 2, not 4/);
    expect(bad('"cacert": "ca.pem"', '"cacert": "ca.pem", "insecure": true')).toThrow(/pools\.videos\.tls\.insecure: turns verification off/);
    expect(bad('"maxIdlePerBackend": 4', '"maxIdle": 4')).toThrow(/^lb\.json:14: services\[0\]\.pools\.default\.maxIdle: unknown field/);
    expect(bad('"accessLog": false', '"accessLog": "yes"')).toThrow(/^lb\.json:26: services\[0\]\.accessLog: must be true or false/);
    expect(bad('"accessLog": false', '"backends": []')).toThrow(/^lb\.json:26: services\[0\]\.backends: a mode "http" service gives backends per pool: "pools"/);
    expect(bad('"accessLog": false', '"acessLog": false')).toThrow(/^lb\.json:26: services\[0\]\.acessLog: unknown field \(expected one of: name, vip, mode, listen, pools/);
    expect(bad('"name": "TSLB"', '"name": "TS LB"')).toThrow(/^lb\.json:22: services\[0\]\.sticky\.name: must be a cookie name/);
    expect(bad('"method": ["TRACE"]', '"method": ["TR ACE"]')).toThrow(/filter\.rules\[0\]\.method\[0\]: must be a method name/);
    expect(bad('"name": "no-trace"', '"name": "builtin:x"')).toThrow(/filter\.rules\[0\]\.name: names starting "builtin:"/);
    expect(bad('"connect": 2000', '"connect": 0')).toThrow(/^lb\.json:25: services\[0\]\.timeouts\.connect: must be a whole number from 1/);
    expect(bad('"maxEntryBytes": 65536', '"maxEntryBytes": 2097152')).toThrow(/cache\.maxEntryBytes: must be a whole number from 1 to 1048576/);
  });

  it('still_parses_nat_and_proxy_services_unchanged', () => {
    const c = parseConfigText('{"services":[{"vip":"198.18.0.2:80","backends":["198.18.1.11:8080"]}]}', 'x');
    expect(c.services[0]).toMatchObject({ mode: 'nat', algo: 'roundrobin' });
    expect(c.services[0]!.http).toBeUndefined();
    expect(() => parseConfigText('{"services":[{"vip":"198.18.0.2:80","mode":"tcp","backends":["198.18.1.11:8080"]}]}', 'x')).toThrow(/mode: must be one of nat, proxy, http/);
  });
});
