// The mode http engine between two in-memory tunstack stacks (no TUN, no root): stack A plays the
// clients and node:http backends (198.18.0.1:808x), stack B runs the balancer (VIP 198.18.0.2:80).
// Keep-alive reuse and its counters, the per-backend connection bound, backpressure from a slow
// client to the backend, a client leaving mid-body, a backend dying mid-response, and a reload that
// removes a backend while it still answers a request.

import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { LoadBalancer } from '../../src/lb/balancer.js';
import { validateConfig } from '../../src/lb/config.js';
import type { Json } from '../../src/lb/json-lines.js';
import type { Stack } from '../../src/socket/stack.js';
import type { TcpSocket } from '../../src/socket/tcp-socket.js';
import { stackPair, type Pair } from '../socket/pair.js';

let pair: Pair | undefined;
let lb: LoadBalancer | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await lb?.close();
  for (const s of servers.splice(0)) s.close();
  await pair?.close();
  lb = undefined;
  pair = undefined;
});

interface Backend {
  connections: number;
  open: number;
  maxOpen: number;
  requests: number;
}

/** A node:http backend on stack A's port, counting its connections. */
function backend(a: Stack, port: number, handler: (req: IncomingMessage, res: import('node:http').ServerResponse) => void): Backend {
  const b: Backend = { connections: 0, open: 0, maxOpen: 0, requests: 0 };
  const server = createServer((req, res) => {
    b.requests++;
    handler(req, res);
  });
  server.keepAliveTimeout = 30_000;
  servers.push(server);
  a.createServer((s: TcpSocket) => {
    b.connections++;
    b.open++;
    b.maxOpen = Math.max(b.maxOpen, b.open);
    s.once('close', () => b.open--);
    server.emit('connection', s);
  }).listen(port);
  return b;
}

function setup(pools: Json, extra: { [k: string]: Json } = {}) {
  pair = stackPair();
  const cfg = validateConfig({ services: [{ name: 'web', mode: 'http', vip: '198.18.0.2:80', pools, ...extra }] }, 'test');
  const log: string[] = [];
  lb = new LoadBalancer(pair.b, cfg, { log: (l) => log.push(l), http: { accessLog: () => {} } });
  return { a: pair.a, lb, log, svc: lb.http('web')! };
}

/** One request from stack A to the VIP on a fresh connection. */
function get(a: Stack, path: string, opts: { method?: string; headers?: Record<string, string> } = {}) {
  return request({ host: '198.18.0.2', port: 80, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, createConnection: () => a.connect({ host: '198.18.0.2', port: 80 }) as never });
}

function fetchText(a: Stack, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get(a, path);
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

type Snap = { http: { pools: Array<{ backends: Array<{ connectionsOpened: number; connectionsReused: number; connectionsOpen: number }> }>; backendAborts: number; clientAborts: number } };

describe('mode http engine between two stacks', () => {
  it('reuses_one_keep_alive_backend_connection_for_sequential_requests_and_counts_it', async () => {
    const { a, svc } = setup({ web: { backends: ['198.18.0.1:8081'] } });
    const b = backend(a, 8081, (_req, res) => res.end('ok'));
    for (let i = 0; i < 20; i++) expect(await fetchText(a, `/r${i}`)).toEqual({ status: 200, body: 'ok' });
    expect(b.requests).toBe(20);
    expect(b.connections).toBe(1);
    const s = (svc.snapshot() as Snap).http.pools[0]!.backends[0]!;
    expect(s.connectionsOpened).toBe(1);
    expect(s.connectionsReused).toBe(19);
    expect(s.connectionsOpen).toBe(1); // kept idle in the pool
  });

  it('opens_at_most_maxPerBackend_connections_and_queues_the_other_requests', async () => {
    const { a } = setup({ web: { backends: ['198.18.0.1:8081'], maxPerBackend: 2, maxIdlePerBackend: 2 } });
    const b = backend(a, 8081, (_req, res) => setTimeout(() => res.end('slow'), 30));
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => fetchText(a, `/q${i}`)));
    expect(results.map((r) => r.body)).toEqual(Array(6).fill('slow'));
    expect(b.requests).toBe(6);
    expect(b.maxOpen).toBe(2);
    expect(b.connections).toBe(2);
  });

  it('holds_the_backend_back_while_a_slow_client_does_not_read', async () => {
    const { a } = setup({ web: { backends: ['198.18.0.1:8081'] } });
    const total = 16 * 1024 * 1024;
    let written = 0;
    let finished = false;
    backend(a, 8081, (_req, res) => {
      res.writeHead(200, { 'content-length': String(total) });
      const chunk = Buffer.alloc(64 * 1024, 1);
      const pump = () => {
        while (written < total) {
          written += chunk.length;
          if (!res.write(chunk)) return res.once('drain', pump);
        }
        res.end(() => (finished = true));
      };
      pump();
    });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = get(a, '/big');
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    res.pause();
    // Give the pipeline every chance to fill up, then look: the backend is blocked, not done.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 200));
    expect(finished).toBe(false);
    expect(written).toBeLessThan(total / 2);
    // Reading again lets it finish, every byte through.
    let got = 0;
    res.on('data', (d: Buffer) => (got += d.length));
    res.resume();
    await new Promise((r) => res.once('end', r));
    expect(got).toBe(total);
    expect(finished).toBe(true);
  });

  it('aborts_the_backend_request_when_the_client_leaves_in_the_middle_of_its_body', async () => {
    const { a, svc, lb: balancer } = setup({ web: { backends: ['198.18.0.1:8081'] } });
    let received = 0;
    let aborted: () => void;
    const backendSawAbort = new Promise<void>((r) => (aborted = r));
    backend(a, 8081, (req) => {
      req.on('data', (d: Buffer) => (received += d.length));
      req.on('close', () => {
        if (!req.complete) aborted();
      });
    });
    const sock = a.connect({ host: '198.18.0.2', port: 80 });
    await new Promise((r) => sock.once('connect', r));
    sock.write(`PUT /upload HTTP/1.1\r\nHost: 198.18.0.2\r\nContent-Length: ${1 << 20}\r\n\r\n`);
    sock.write(Buffer.alloc(100_000, 2));
    for (let i = 0; i < 200 && received < 100_000; i++) await new Promise((r) => setTimeout(r, 5));
    expect(received).toBe(100_000);
    sock.destroy();
    await backendSawAbort; // the half request does not stay open at the backend
    for (let i = 0; i < 100 && balancer.pools()[0]!.backends[0]!.active > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(balancer.pools()[0]!.backends[0]!.active).toBe(0);
    expect((svc.snapshot() as Snap).http.clientAborts).toBe(1);
  });

  it('ends_the_client_connection_when_the_backend_dies_in_the_middle_of_the_response', async () => {
    const { a, svc } = setup({ web: { backends: ['198.18.0.1:8081'] } });
    backend(a, 8081, (_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(10_000, 3), () => setTimeout(() => res.socket?.destroy(), 10));
    });
    const outcome = await new Promise<{ status: number; got: number; complete: boolean }>((resolve, reject) => {
      const req = get(a, '/dies');
      req.on('response', (res) => {
        let got = 0;
        res.on('data', (d: Buffer) => (got += d.length));
        res.on('error', () => {});
        res.on('close', () => resolve({ status: res.statusCode ?? 0, got, complete: res.complete }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(outcome.status).toBe(200); // the head was already sent …
    expect(outcome.complete).toBe(false); // … so the only way to say it failed is to end the connection
    expect(outcome.got).toBe(10_000);
    expect((svc.snapshot() as Snap).http.backendAborts).toBe(1);
  });

  it('reloads_pools_without_cutting_a_request_in_flight_on_a_removed_backend', async () => {
    const { a, lb: balancer } = setup({ web: { backends: ['198.18.0.1:8081'] } });
    const one = backend(a, 8081, (req, res) => (req.url === '/slow' ? setTimeout(() => res.end('slow-done'), 100) : res.end('one')));
    backend(a, 8082, (_req, res) => res.end('two'));
    expect(await fetchText(a, '/x')).toEqual({ status: 200, body: 'one' });
    const slow = fetchText(a, '/slow');
    for (let i = 0; i < 200 && one.requests < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(one.requests).toBe(2);
    balancer.reload(validateConfig({ services: [{ name: 'web', mode: 'http', vip: '198.18.0.2:80', pools: { web: { backends: ['198.18.0.1:8082'], maxPerBackend: 4 } } }] }, 'test'));
    expect(await fetchText(a, '/x')).toEqual({ status: 200, body: 'two' });
    expect(await slow).toEqual({ status: 200, body: 'slow-done' });
    // The retired backend's connection closes once its request is done.
    for (let i = 0; i < 200 && one.open > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(one.open).toBe(0);
  });
});
