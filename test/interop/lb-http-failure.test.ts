// tunstack lb mode http (L7) when backends fail: idempotent requests retried on another backend (a
// refused connection, a connect timeout, a backend killed mid-run) and the request body replayed; no client error once
// the health check marks the killed backend down; POST not retried; 502/504 with a clear body. And the
// command line: `tunstack lb --config` with an http service (access log, SIGUSR1 stats, SIGHUP reload
// of the routes) and `--mode http` from flags with an HTTPS listener.

import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../src/lb/json-lines.js';
import { CLI, inNs, isRoot, sh } from '../helpers/harness.js';
import { codesAndIds, sleep, startHttpBackends, startHttpEnv, waitFor, type HttpBackends, type HttpEnv } from '../lb/http-env.js';
import { startLb, waitForText, type LbProc } from '../lb/lb-cli.js';

const BACKENDS = [
  { id: 'b1', addr: '198.18.1.11' },
  { id: 'b2', addr: '198.18.1.12' },
  { id: 'b3', addr: '198.18.1.13' },
];

const SERVICE: { [k: string]: Json } = {
  vip: '198.18.0.2',
  listen: [{ port: 80 }],
  pools: {
    web: { backends: ['198.18.1.11:8080', '198.18.1.12:8080', '198.18.1.13:8080'], health: { type: 'http', path: '/health', interval: 200, timeout: 150, rise: 2, fall: 2 } },
    // Port 9999 is closed on 198.18.1.11: every connection to it is refused (no health checks here).
    flaky: { backends: ['198.18.1.11:9999', '198.18.1.12:8080'] },
    dead: { backends: ['198.18.1.11:9999'] },
    // Nothing answers 198.18.1.50 (not an address of the namespace, which does not forward): SYNs vanish.
    blackhole: { backends: ['198.18.1.50:8080', '198.18.1.12:8080'] },
    slow: { backends: ['198.18.1.13:8080'] },
  },
  routes: [
    { name: 'flaky', match: { pathPrefix: '/flaky/' }, pool: 'flaky' },
    { name: 'dead', match: { pathPrefix: '/dead/' }, pool: 'dead' },
    { name: 'blackhole', match: { pathPrefix: '/blackhole/' }, pool: 'blackhole' },
    { name: 'slow', match: { pathPrefix: '/slow/' }, pool: 'slow' },
  ],
  defaultPool: 'web',
  timeouts: { connect: 1000, response: 1500, idle: 1500 },
};

const W = ['-s', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %header{x-backend}\\n'];

describe.skipIf(!isRoot)('lb mode http: retries, health, 502/504 (root)', () => {
  let env: HttpEnv;
  beforeAll(async () => {
    env = await startHttpEnv(SERVICE, BACKENDS);
  }, 60_000);
  afterAll(async () => env?.close());

  it('retries_idempotent_requests_on_another_backend_when_the_connection_is_refused_and_replays_the_body', async () => {
    const retriesBefore = env.stats().retries;
    // Round robin alternates 9999 (refused) and b2: every GET ends on b2.
    const gets = codesAndIds((await env.curl([...W, 'http://198.18.0.2/flaky/g?n=[1-6]'])).stdout);
    expect(gets).toEqual(Array(6).fill(['200', 'b2']));
    // PUT is idempotent too: its body is replayed to the other backend, byte-exact.
    const body = 'x'.repeat(40_000);
    const want = createHash('sha256').update(body).digest('hex');
    for (let i = 0; i < 2; i++) {
      const put = await env.curl(['-sS', '--max-time', '10', '-X', 'PUT', '--data-binary', body, 'http://198.18.0.2/flaky/sink']);
      expect(put.stdout).toBe(`${want} 40000\n`);
    }
    // Round robin also moves on for the retry, so (nearly) every request meets the refusing backend first.
    const retries = env.stats().retries - retriesBefore;
    expect(retries).toBeGreaterThanOrEqual(6);
    expect(env.log.filter((l) => /^retry: (GET|PUT) \/flaky\/\S+ on another backend of pool flaky: 198\.18\.1\.11:9999 connection refused$/.test(l))).toHaveLength(retries);
    // POST is not idempotent (RFC 9110 §9.2.2): never retried, the client gets the 502.
    const posts = codesAndIds((await env.curl([...W, '-X', 'POST', '-d', 'a=1', 'http://198.18.0.2/flaky/p?n=[1-4]'])).stdout).map(([c]) => c);
    expect(posts.sort()).toEqual(['200', '200', '502', '502']);
  });

  it('retries_on_another_backend_when_the_connect_times_out', async () => {
    const got = codesAndIds((await env.curl([...W, 'http://198.18.0.2/blackhole/g?n=[1-2]'])).stdout);
    expect(got).toEqual([['200', 'b2'], ['200', 'b2']]);
    expect(env.log.filter((l) => /^retry: GET \/blackhole\/g\?n=\d on another backend of pool blackhole: 198\.18\.1\.50:8080 connect timed out after 1000 ms$/.test(l)).length).toBeGreaterThanOrEqual(1);
  });

  it('answers_502_when_no_backend_can_be_reached_and_504_when_the_response_does_not_come_in_time', async () => {
    const dead = await env.curl(['-s', '--max-time', '10', '-w', '%{http_code}', 'http://198.18.0.2/dead/x']);
    expect(dead.stdout).toBe('502 Bad Gateway: backend failed (198.18.1.11:9999: connection refused) and no other backend of pool dead is up\n502');
    const slow = await env.curl(['-s', '--max-time', '10', '-w', '%{http_code}', 'http://198.18.0.2/slow/4000']);
    expect(slow.stdout).toBe('504 Gateway Timeout: backend 198.18.1.13:8080 sent no response within 1500 ms\n504');
    expect(env.stats().gatewayTimeout).toBe(1);
    // The slow backend is still there for requests that are quick.
    expect(codesAndIds((await env.curl([...W, 'http://198.18.0.2/slow/1'])).stdout)).toEqual([['200', 'b3']]);
  });

  it('closes_idle_client_connections_and_idle_pooled_backend_connections_after_the_idle_timeout', async () => {
    // One keep-alive request on a raw connection, then silence: the proxy closes it after 1.5 s.
    const script = [
      'import socket',
      's = socket.create_connection(("198.18.0.2", 80), timeout=10)',
      's.sendall(b"GET /slow/1 HTTP/1.1\\r\\nHost: 198.18.0.2\\r\\n\\r\\n")',
      'first = s.recv(4096)',
      'rest = s.recv(4096)',
      'print(first.split(b"\\r\\n")[0].decode(), len(rest))',
    ].join('\n');
    const r = await inNs(env.ns, 'python3', ['-c', script], 20_000);
    // recv() returned: the proxy closed the connection (without it, the 10 s socket timeout would raise).
    expect(r.stdout.trim()).toBe('HTTP/1.1 200 OK 0');
    // The backend connection it used went back to the pool and was closed once idle as long.
    const slow = () => env.stats().pools.find((p) => p.pool === 'slow')!.backends[0]!;
    expect(await waitFor(() => slow().connectionsOpen === 0, 5000)).toBeGreaterThanOrEqual(0);
  });

  it('keeps_answering_while_a_backend_is_killed_mid_run_and_sends_it_nothing_once_it_is_marked_down', async () => {
    const web = () => env.lb.pools().find((p) => p.name === 'web/web')!;
    expect(await waitFor(() => web().backends.every((b) => b.state === 'up'), 5000)).toBeGreaterThanOrEqual(0);
    expect(new Set(codesAndIds((await env.curl([...W, 'http://198.18.0.2/w?n=[1-9]'])).stdout).map(([, id]) => id))).toEqual(new Set(['b1', 'b2', 'b3']));
    const retriesBefore = env.stats().retries;
    // Five keep-alive clients, 80 requests each, while backend 2 is killed (its connections reset).
    const script = Array.from({ length: 5 }, (_, c) => `curl -s --max-time 60 -o /dev/null -w '%{http_code} %header{x-backend}\\n' 'http://198.18.0.2/w/${c}?n=[1-80]' > /tmp/tunstack-l7-kill-$$-${c} &`).join('\n');
    const load = inNs(env.ns, 'sh', ['-c', `${script}\nwait\ncat /tmp/tunstack-l7-kill-$$-*; rm -f /tmp/tunstack-l7-kill-$$-*`], 90_000);
    await sleep(150);
    await env.kill('b2');
    const b2 = web().find('198.18.1.12:8080')!;
    expect(await waitFor(() => b2.state === 'down', 5000)).toBeGreaterThanOrEqual(0);
    const during = codesAndIds((await load).stdout);
    expect(during).toHaveLength(400);
    console.log(`backend killed mid-run: ${env.stats().retries - retriesBefore} requests retried; ${b2.lastChange}`);
    // Idempotent requests were retried on another backend: no client saw an error.
    expect(during.filter(([c]) => c !== '200')).toEqual([]);
    // Once marked down, it gets nothing and nobody notices.
    const after = codesAndIds((await env.curl([...W, 'http://198.18.0.2/w?n=[1-30]'])).stdout);
    expect(after.filter(([c]) => c !== '200')).toEqual([]);
    expect(after.filter(([, id]) => id === 'b2')).toEqual([]);
    expect(new Set(after.map(([, id]) => id))).toEqual(new Set(['b1', 'b3']));
    // Back up after `rise` good checks.
    await env.start('b2');
    expect(await waitFor(() => b2.state === 'up', 5000)).toBeGreaterThanOrEqual(0);
    expect(new Set(codesAndIds((await env.curl([...W, 'http://198.18.0.2/w?n=[1-9]'])).stdout).map(([, id]) => id))).toEqual(new Set(['b1', 'b2', 'b3']));
  }, 60_000);
});

// ------------------------------------------------------------------ the command line


describe.skipIf(!isRoot || !existsSync(CLI))('tunstack lb --mode http on the command line (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-l7-cli-'));
  let be: HttpBackends;
  let lb: LbProc | undefined;
  beforeAll(async () => {
    be = await startHttpBackends([BACKENDS[0]!, BACKENDS[1]!]);
  }, 60_000);
  afterAll(async () => {
    await lb?.stop();
    await be?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('rejects_an_http_service_whose_route_names_no_pool_naming_the_file_line_and_field', async () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, '{ "services": [ { "mode": "http", "vip": "198.18.0.2:80",\n  "pools": { "web": { "backends": ["198.18.1.11:8080"] } },\n  "routes": [ { "match": { "pathPrefix": "/x/" }, "pool": "images" } ] } ] }\n');
    const r = await sh(process.execPath, [CLI, 'lb', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`tunstack: ${file}:3: services[0].routes[0].pool: must name a pool (one of: web), not "images"`);
  });

  it('runs_a_config_file_logs_each_request_reports_stats_on_sigusr1_and_reloads_routes_on_sighup', async () => {
    const file = join(dir, 'l7.json');
    const write = (routes: Json[]) =>
      writeFileSync(
        file,
        JSON.stringify({
          services: [{ name: 'web', mode: 'http', vip: '198.18.0.2', listen: [{ port: 80 }, { port: 443, tls: true }], pools: { one: { backends: ['198.18.1.11:8080'] }, two: { backends: ['198.18.1.12:8080'] } }, routes, defaultPool: 'one' }],
          stats: { port: 8404 },
        }, null, 2),
      );
    write([{ name: 'to-two', match: { pathPrefix: '/two/' }, pool: 'two' }]);
    lb = await startLb(['--netns', be.ns, '--config', file, '--state', be.stateDir]);
    expect(lb.out()).toMatch(/^ready 198\.18\.0\.2$/m);
    expect(lb.err()).toMatch(/web: 198\.18\.0\.2 http \[http:80 https:443\] 1 routes, default pool one/);
    expect(lb.err()).toMatch(/curl --cacert .*ca\.pem https:\/\/198\.18\.0\.2\//);
    const ids = async (path: string) => codesAndIds((await inNs(be.ns, 'curl', [...W, `http://198.18.0.2${path}`])).stdout);
    expect(await ids('/two/a')).toEqual([['200', 'b2']]);
    expect(await ids('/a')).toEqual([['200', 'b1']]);
    const https = await inNs(be.ns, 'curl', [...W, '--cacert', be.caPath, 'https://198.18.0.2/two/s']);
    expect(codesAndIds(https.stdout)).toEqual([['200', 'b2']]);
    expect(await waitForText(lb.err, /http 198\.18\.0\.1:\d+ https "GET \/two\/s HTTP\/1\.1" route=to-two backend=198\.18\.1\.12:8080 status=200 in=0 out=3 ttfb_ms=[\d.]+ total_ms=[\d.]+ cache=MISS filter=allow/, 2000)).toBe(true);
    lb.proc.kill('SIGUSR1');
    expect(await waitForText(lb.out, /^stats \{/m, 2000)).toBe(true);
    const stats = JSON.parse(lb.out().split('\n').find((l) => l.startsWith('stats '))!.slice(6)) as { services: Array<{ mode: string; http: { routes: Record<string, { requests: number }> } }> };
    expect(stats.services[0]!.mode).toBe('http');
    expect(stats.services[0]!.http.routes['to-two']!.requests).toBe(2);
    expect(stats.services[0]!.http.routes['(default)']!.requests).toBe(1);
    // The same over the JSON stats endpoint.
    const ep = JSON.parse((await inNs(be.ns, 'curl', ['-sS', '--max-time', '5', 'http://198.18.0.2:8404/stats'])).stdout) as typeof stats;
    expect(ep.services[0]!.http.routes['to-two']!.requests).toBe(2);
    // SIGHUP: the new routes apply to the next request.
    write([{ name: 'all-to-two', match: { pathPrefix: '/' }, pool: 'two' }]);
    lb.proc.kill('SIGHUP');
    expect(await waitForText(lb.err, /lb reloaded: /, 2000)).toBe(true);
    expect(await ids('/a')).toEqual([['200', 'b2']]);
    expect(await lb.stop()).toBe(0);
    lb = undefined;
  });

  it('runs_from_flags_with_an_https_listener', async () => {
    lb = await startLb(['--netns', be.ns, '--mode', 'http', '--vip', '198.18.0.2:80', '--https', '443', '--backend', '198.18.1.11:8080', '--backend', '198.18.1.12:8080', '--state', be.stateDir, '--no-access-log']);
    const r = codesAndIds((await inNs(be.ns, 'curl', [...W, '--cacert', be.caPath, 'https://198.18.0.2/x?n=[1-4]'])).stdout);
    expect(r.map(([c]) => c)).toEqual(['200', '200', '200', '200']);
    expect(new Set(r.map(([, id]) => id))).toEqual(new Set(['b1', 'b2']));
    expect(lb.err()).not.toMatch(/ http 198\.18\.0\.1/); // no access log
    expect(await lb.stop()).toBe(0);
    lb = undefined;
  });
});
