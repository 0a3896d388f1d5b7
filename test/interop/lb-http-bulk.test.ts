// tunstack lb mode http (L7): bodies streamed through the proxy byte-exact — a 100 MiB download and
// upload over HTTP, chunked both ways, 10 MiB both ways over HTTPS to the VIP (TLS offload: the backend
// gets plain HTTP) and through a re-encrypting pool (tls: true: the backend leg is HTTPS, verified
// against the local CA); and 1,000 keep-alive requests from 10 clients served over far fewer backend
// connections than requests (counted on the backends themselves).

import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from '../../src/lb/json-lines.js';
import { inNs, isRoot } from '../helpers/harness.js';
import { patternBytes, startHttpEnv, type HttpEnv } from '../lb/http-env.js';
import { patternSha256 } from '../lb/lb-env.js';

const MiB = 1024 * 1024;

const BACKENDS = [
  { id: 'p1', addr: '198.18.1.11' },
  { id: 'p2', addr: '198.18.1.12' },
  { id: 't1', addr: '198.18.1.13', tls: true },
];

const SERVICE: { [k: string]: Json } = {
  vip: '198.18.0.2',
  listen: [{ port: 80 }, { port: 443, tls: true }],
  pools: {
    plain: { backends: ['198.18.1.11:8080', '198.18.1.12:8080'], maxIdlePerBackend: 16, maxPerBackend: 32 },
    secure: { backends: ['198.18.1.13:8080'], tls: true },
  },
  routes: [{ name: 'secure', match: { header: { name: 'X-Leg', value: 'tls' } }, pool: 'secure' }],
  defaultPool: 'plain',
};

/** Writes n pattern bytes to a file; returns its sha256. */
async function patternFile(path: string, n: number): Promise<string> {
  const h = createHash('sha256');
  const out = createWriteStream(path);
  for (let off = 0; off < n; off += MiB) {
    const b = patternBytes(off, Math.min(MiB, n - off));
    h.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return h.digest('hex');
}

describe.skipIf(!isRoot)('lb mode http: streaming bodies, TLS offload and re-encryption, keep-alive pooling (root)', () => {
  let env: HttpEnv;
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-l7-bulk-'));
  beforeAll(async () => {
    env = await startHttpEnv(SERVICE, BACKENDS);
  }, 60_000);
  afterAll(async () => {
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('streams_a_100_MiB_download_and_a_100_MiB_upload_byte_exact_over_http', async () => {
    const n = 100 * MiB;
    // sh: the body goes through sha256sum in the namespace (not through this process's memory).
    const dl = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 120 http://198.18.0.2/bytes/${n} | sha256sum`], 150_000);
    expect(dl.stdout.split(' ')[0]).toBe(patternSha256(n));
    const file = join(dir, 'up.bin');
    const want = await patternFile(file, n);
    const up = await env.curl(['-sS', '--max-time', '120', '-T', file, 'http://198.18.0.2/sink'], 150_000);
    expect(up.stdout).toBe(`${want} ${n}\n`);
    const line = env.access.find((l) => l.includes('"PUT /sink HTTP/1.1"'))!;
    expect(line).toMatch(new RegExp(` status=200 in=${n} out=\\d+ `));
    rmSync(file);
  }, 120_000);

  it('streams_chunked_bodies_both_ways', async () => {
    const n = 3 * MiB + 17;
    const dl = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 60 -D /tmp/tunstack-l7-h-$$ http://198.18.0.2/chunked/${n} | sha256sum; cat /tmp/tunstack-l7-h-$$ >&2; rm -f /tmp/tunstack-l7-h-$$`], 90_000);
    expect(dl.stderr).toMatch(/^Transfer-Encoding: chunked\r$/im);
    expect(dl.stdout.split(' ')[0]).toBe(patternSha256(n));
    const file = join(dir, 'chunked.bin');
    const want = await patternFile(file, n);
    const up = await env.curl(['-sS', '--max-time', '60', '-H', 'Transfer-Encoding: chunked', '-T', file, 'http://198.18.0.2/sink'], 90_000);
    expect(up.stdout).toBe(`${want} ${n}\n`);
  }, 60_000);

  it('offloads_tls_10_MiB_each_way_with_the_backend_receiving_plain_http', async () => {
    const n = 10 * MiB;
    const dl = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 90 --cacert ${env.caPath} -D /tmp/tunstack-l7-h-$$ https://198.18.0.2/bytes/${n} | sha256sum; cat /tmp/tunstack-l7-h-$$ >&2; rm -f /tmp/tunstack-l7-h-$$`], 120_000);
    expect(dl.stderr).toMatch(/^x-backend: p[12]\r$/m); // a plain-HTTP backend answered
    expect(dl.stdout.split(' ')[0]).toBe(patternSha256(n));
    const file = join(dir, 'tls-up.bin');
    const want = await patternFile(file, n);
    const up = await env.curl(['-sS', '--max-time', '90', '--cacert', env.caPath, '-T', file, 'https://198.18.0.2/sink'], 120_000);
    expect(up.stdout).toBe(`${want} ${n}\n`);
  }, 120_000);

  it('re_encrypts_to_a_tls_backend_verified_against_the_local_ca', async () => {
    const n = 10 * MiB;
    const echo = await env.curl(['-sS', '--max-time', '30', '-H', 'X-Leg: tls', 'http://198.18.0.2/echo']);
    const e = JSON.parse(echo.stdout) as { id: string; headers: Record<string, string> };
    expect(e.id).toBe('t1');
    expect(e.headers['x-forwarded-proto']).toBe('http');
    // The backend served it over TLS: its own counters are read over HTTPS with the same CA.
    const before = (await env.counts('t1')).requests;
    const dl = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 90 -H 'X-Leg: tls' http://198.18.0.2/bytes/${n} | sha256sum`], 120_000);
    expect(dl.stdout.split(' ')[0]).toBe(patternSha256(n));
    // HTTPS client → TLS offload → re-encrypted backend leg.
    const both = await inNs(env.ns, 'sh', ['-c', `curl -sS --max-time 90 --cacert ${env.caPath} -H 'X-Leg: tls' https://198.18.0.2/bytes/${MiB} | sha256sum`], 120_000);
    expect(both.stdout.split(' ')[0]).toBe(patternSha256(MiB));
    expect((await env.counts('t1')).requests).toBe(before + 2);
    const pool = env.stats().pools.find((p) => p.pool === 'secure')!;
    expect(pool.backends[0]!.connectionsOpened).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('serves_1000_keep_alive_requests_from_10_clients_over_far_fewer_backend_connections', async () => {
    const before = await env.allCounts();
    const plainPool = () => env.stats().pools.find((p) => p.pool === 'plain')!;
    const sum = (k: 'connectionsOpened' | 'connectionsReused') => plainPool().backends.reduce((a, b) => a + b[k], 0);
    const openedBefore = sum('connectionsOpened');
    const reusedBefore = sum('connectionsReused');
    // Ten curl clients at once, each 100 requests on one keep-alive connection to the VIP.
    const script = Array.from({ length: 10 }, (_, c) => `curl -s --max-time 60 -o /dev/null -w '%{http_code}\\n' 'http://198.18.0.2/k/${c}?n=[1-100]' > /tmp/tunstack-l7-ka-$$-${c} &`).join('\n');
    const r = await inNs(env.ns, 'sh', ['-c', `${script}\nwait\ncat /tmp/tunstack-l7-ka-$$-*; rm -f /tmp/tunstack-l7-ka-$$-*`], 120_000);
    const codes = r.stdout.trim().split('\n');
    expect(codes).toHaveLength(1000);
    expect(codes.every((c) => c === '200')).toBe(true);
    const after = await env.allCounts();
    const delta = (k: 'requests' | 'connections') => ['p1', 'p2'].reduce((a, id) => a + after[id]![k] - before[id]![k], 0);
    const requests = delta('requests');
    const connections = delta('connections');
    console.log(`1000 keep-alive requests from 10 clients: ${connections} new backend connections (p1 ${after.p1!.connections - before.p1!.connections}, p2 ${after.p2!.connections - before.p2!.connections})`);
    expect(requests).toBe(1000);
    // At most one connection per concurrent request per backend (10 clients), and pooled ones are reused.
    expect(connections).toBeLessThanOrEqual(20);
    // The proxy's own count agrees: every request either opened a connection or reused a pooled one.
    const opened = sum('connectionsOpened') - openedBefore;
    const reused = sum('connectionsReused') - reusedBefore;
    expect(opened).toBe(connections);
    expect(opened + reused).toBe(1000);
  }, 120_000);
});
