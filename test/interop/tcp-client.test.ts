// tunstack as the client (active open) against a Node http server in the namespace, and the
// connection table after 10,000 sequential connections from the kernel.

import { createHash } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RunningStack } from '../../src/cli/running-stack.js';
import { CLI, freshNetns, inNs, isRoot, netnsList, sh } from '../helpers/harness.js';

const MiB100 = 100 * 1024 * 1024;

/** A Node http server inside `ns` on 0.0.0.0:port answering every GET with `n` bytes of pattern (i*31)&255 per 64 KiB block. */
function startKernelServer(ns: string, port: number): Promise<ChildProcess> {
  const code = `
    const http = require('http');
    const block = Buffer.alloc(65536); for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 255;
    http.createServer((req, res) => {
      const n = Number(req.url.split('/').pop());
      res.writeHead(200, { 'content-length': n });
      let o = 0;
      (function w() { while (o < n) { const k = Math.min(65536, n - o); o += k; if (!res.write(k === 65536 ? block : block.subarray(0, k))) return res.once('drain', w); } res.end(); })();
    }).listen(${port}, '0.0.0.0', () => console.log('listening'));
    setTimeout(() => process.exit(0), 120000).unref();`;
  const p = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    p.stdout!.once('data', () => resolve(p));
    p.once('exit', (c) => reject(new Error(`kernel-side server exited ${c}`)));
  });
}

function patternSha(n: number): string {
  const block = Buffer.alloc(65536);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31) & 255;
  const h = createHash('sha256');
  for (let o = 0; o < n; o += 65536) h.update(block.subarray(0, Math.min(65536, n - o)));
  return h.digest('hex');
}

describe.skipIf(!isRoot)('tunstack get: the active open (root)', () => {
  const ns = freshNetns();
  const dir = mkdtempSync(join(tmpdir(), 'tunstack-get-'));
  let server: ChildProcess | undefined;
  afterAll(async () => {
    server?.kill();
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('downloads_100_MiB_byte_exact_and_traces_the_whole_close', async () => {
    await sh('ip', ['netns', 'add', ns]);
    server = await startKernelServer(ns, 8080);
    const out = join(dir, 'big.bin');
    const r = await sh(process.execPath, [CLI, 'get', '--netns', ns, '--trace-states', `http://198.18.0.1:8080/${MiB100}`, '-o', out], 120_000);
    expect(r.code, r.stderr).toBe(0);
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(patternSha(MiB100));
    const states = r.stderr
      .split('\n')
      .filter((l) => l.includes(' tcp '))
      .map((l) => l.split('  ').pop());
    expect(states).toEqual([
      'CLOSED → SYN-SENT',
      'SYN-SENT → ESTABLISHED',
      'ESTABLISHED → FIN-WAIT-1',
      'FIN-WAIT-1 → FIN-WAIT-2',
      'FIN-WAIT-2 → TIME-WAIT',
      'TIME-WAIT → CLOSED',
    ]);
    expect(r.stderr).toMatch(/200 OK, 104857600 bytes/);
    // The namespace existed before `get`, so `get` leaves it (and removes only its TUN device).
    expect(await netnsList()).toContain(ns);
    expect((await inNs(ns, 'ip', ['-o', 'link', 'show', 'type', 'tun'])).stdout.trim()).toBe('');
  });

  it('reports_connection_refused_when_nothing_listens', async () => {
    const r = await sh(process.execPath, [CLI, 'get', '--netns', ns, 'http://198.18.0.1:8099/x'], 30_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
  });
});

describe.skipIf(!isRoot)('10,000 sequential connections (root)', () => {
  let s: { ns: string; running: RunningStack } | undefined;
  afterAll(async () => {
    if (!s) return;
    await s.running.close();
    if ((await netnsList()).includes(s.ns)) await sh('ip', ['netns', 'del', s.ns]);
  });

  it('leaves_only_listeners_and_time_wait_entries_and_no_leaks', async () => {
    const ns = freshNetns();
    // MSL 1 s: TIME-WAIT entries expire during the run, so the table stays bounded.
    const running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: ns, httpPort: 80, tcp: { mslMs: 1000 } });
    s = { ns, running };
    const client = `
      const net = require('net');
      let done = 0, bad = 0;
      const t0 = Date.now();
      (function one() {
        if (done === 10000 || Date.now() - t0 > 150000) { console.log(JSON.stringify({ done, bad })); return; }
        const c = net.connect(80, '198.18.0.2', () => c.end('GET /bytes/100 HTTP/1.1\\r\\nHost: t\\r\\nConnection: close\\r\\n\\r\\n'));
        let got = 0;
        c.on('data', (d) => (got += d.length));
        c.on('error', () => { bad++; });
        c.on('close', () => { if (got < 100) bad++; done++; one(); });
      })();`;
    const r = await inNs(ns, process.execPath, ['-e', client], 170_000);
    const res = JSON.parse(r.stdout) as { done: number; bad: number };
    expect(res).toEqual({ done: 10000, bad: 0 });
    const table = running.stack.connectionTable();
    // tunstack closed first (Connection: close), so what remains is TIME-WAIT, and only recent ones.
    expect(table.every((c) => c.state === 'TIME-WAIT')).toBe(true);
    expect(table.length).toBeLessThan(10000);
    await new Promise((res) => setTimeout(res, 2500));
    expect(running.stack.tcp.size).toBe(0);
    expect(running.stack.tcp.listenerCount()).toBe(1);
    expect(running.stack.socketCount()).toBe(0);
  });
});
