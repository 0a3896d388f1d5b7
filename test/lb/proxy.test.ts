// proxy and nat mode between two in-memory tunstack stacks (no TUN): stack A plays client and
// backends (198.18.0.1), stack B runs the balancer (VIP 198.18.0.2:80). Splicing with half-close,
// resets propagated both ways, refused backends retried and marked, bytes exact through the NAT.

import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadBalancer } from '../../src/lb/balancer.js';
import { validateConfig } from '../../src/lb/config.js';
import type { Json } from '../../src/lb/json-lines.js';
import type { TcpSocket } from '../../src/socket/tcp-socket.js';
import { stackPair, type Pair } from '../socket/pair.js';

let pair: Pair | undefined;
let lb: LoadBalancer | undefined;
afterEach(async () => {
  await lb?.close();
  await pair?.close();
  lb = undefined;
  pair = undefined;
});

function setup(mode: 'nat' | 'proxy', backends: Json[] = ['198.18.0.1:8080'], health?: Json) {
  pair = stackPair();
  const cfg = validateConfig({ services: [{ vip: '198.18.0.2:80', mode, backends, ...(health ? { health } : {}) }] }, 'test');
  const trace: string[] = [];
  const log: string[] = [];
  lb = new LoadBalancer(pair.b, cfg, { trace: (l) => trace.push(l), log: (l) => log.push(l) });
  return { a: pair.a, trace, log, lb };
}

function collect(s: TcpSocket): Promise<{ data: Buffer; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ data: Buffer.concat(chunks), error: e.code ?? e.message }));
    s.on('end', () => resolve({ data: Buffer.concat(chunks) }));
  });
}

describe('proxy mode', () => {
  it('splices_both_ways_and_propagates_half_close', async () => {
    const { a, trace } = setup('proxy');
    // The backend answers only after the client's FIN reached it, then writes and ends.
    a.createServer((s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => {
        s.write(`echo:${Buffer.concat(got).toString()}`);
        s.end(' bye');
      });
    }).listen(8080);
    const c = a.connect({ host: '198.18.0.2', port: 80 });
    const result = collect(c);
    c.write('hello');
    c.end(); // half-close: we can still read
    const r = await result;
    expect(r.error).toBeUndefined();
    expect(r.data.toString()).toBe('echo:hello bye');
    expect(trace[0]).toMatch(/^flow 198\.18\.0\.1:\d+ → 198\.18\.0\.2:80 ⇒ 198\.18\.0\.1:8080 \(roundrobin\) via :\d+$/);
  });

  it('moves_4_MiB_each_way_byte_exact_with_backpressure', async () => {
    const { a, lb } = setup('proxy');
    a.createServer((s) => s.pipe(s)).listen(8080);
    const data = Buffer.alloc(4 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131) >>> 3;
    const c = a.connect({ host: '198.18.0.2', port: 80 });
    const result = collect(c);
    c.end(data);
    const r = await result;
    expect(createHash('sha256').update(r.data).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    await new Promise((res) => setTimeout(res, 50));
    const b = lb.pools()[0]!.backends[0]!;
    expect(b.bytesIn).toBe(data.length);
    expect(b.bytesOut).toBe(data.length);
    expect(b.active).toBe(0);
  });

  it('resets_the_client_when_the_backend_resets', async () => {
    const { a } = setup('proxy');
    a.createServer((s) => s.once('data', () => s.resetAndDestroy())).listen(8080);
    const c = a.connect({ host: '198.18.0.2', port: 80 });
    const result = collect(c);
    c.write('x');
    expect((await result).error).toBe('ECONNRESET');
  });

  it('resets_the_backend_when_the_client_resets', async () => {
    const { a } = setup('proxy');
    const backendSaw = new Promise<string | undefined>((resolve) =>
      a.createServer((s) => {
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code));
        s.on('end', () => resolve('end'));
        s.on('data', () => c.resetAndDestroy());
      }).listen(8080),
    );
    const c = a.connect({ host: '198.18.0.2', port: 80 });
    c.on('error', () => {});
    c.write('x');
    expect(await backendSaw).toBe('ECONNRESET');
  });

  it('retries_a_refused_backend_elsewhere_and_marks_it_down_passively', async () => {
    const { a, log, lb } = setup('proxy', ['198.18.0.1:8081', '198.18.0.1:8080'], { type: 'tcp', interval: 60000, timeout: 1000, fall: 2, rise: 1 });
    a.createServer((s) => s.end('ok')).listen(8080);
    for (let i = 0; i < 4; i++) {
      const c = a.connect({ host: '198.18.0.2', port: 80 });
      const r = await collect(c);
      expect(r.data.toString()).toBe('ok');
    }
    const [dead, live] = lb.pools()[0]!.backends;
    expect(dead!.state).toBe('down');
    expect(dead!.failures).toBeGreaterThanOrEqual(2);
    expect(live!.flows).toBeGreaterThanOrEqual(4);
    // fall 2 with one active check at most in this test (interval 60 s; the first check runs at once
    // and may come before or after the first refused flow): at least one failure was passive.
    expect(log.some((l) => /198\.18\.0\.1:8081 DOWN .*refused/.test(l))).toBe(true);
  });
});

describe('nat mode between two stacks', () => {
  it('forwards_a_connection_byte_exact_and_tracks_it_to_time_wait', async () => {
    const { a, trace, lb } = setup('nat');
    a.createServer((s) => s.pipe(s)).listen(8080);
    const data = Buffer.alloc(1 << 20, 7);
    const c = a.connect({ host: '198.18.0.2', port: 80 });
    const result = collect(c);
    c.end(data);
    const r = await result;
    expect(r.data.equals(data)).toBe(true);
    expect(trace[0]).toMatch(/^flow 198\.18\.0\.1:\d+ → 198\.18\.0\.2:80 ⇒ 198\.18\.0\.1:8080 \(roundrobin\) via :\d+$/);
    await new Promise((res) => setTimeout(res, 50));
    const flows = [...lb.nat.conntrack.flows()];
    expect(flows).toHaveLength(1);
    expect(flows[0]!.state).toBe('TIME_WAIT');
    expect(lb.nat.counters.forwardedOrig).toBeGreaterThan(0);
    expect(lb.nat.counters.forwardedReply).toBeGreaterThan(700);
  });
});
