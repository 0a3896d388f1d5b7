#!/usr/bin/env node
// bench-idle.mjs — memory per idle established TCP connection: 10,000 connections opened from the kernel side
// to tunstack (running in this process), kept open without a single request, and the process's
// heapUsed / arrayBuffers / external compared before and after (each after global.gc()).
//
//   sudo node scripts/bench-idle.mjs [--conns 10000]      (re-executes itself with --expose-gc)
//
// Two tunstack servers on one stack: a bare TcpServer on :81 (tunstack's TCP + TcpSocket only) and node:http on
// :80 (what `tunstack serve` runs). The baseline is the same pair on the kernel's TCP — node:net and node:http in
// a node process behind a veth pair — where the TCP state lives in the kernel and only Node's wrappers are on the
// heap. "kernel slab" is the change of Slab in /proc/meminfo: system-wide, so approximate, and it counts the
// kernel's client sockets too (and the server's sockets in the baseline rows).
// The TCP rings are ArrayBuffers outside the V8 heap: heapUsed is the figure "beyond the buffers", arrayBuffers
// shows the buffers themselves. Target (issue): ≤ 4 KB heap per idle connection.
//
// Namespaces tunstack-<pid>-…, removed on exit (also on failure); addresses in 198.18.0.0/15; the whole run is
// bounded to 60 s and the kernel-side client exits when this process goes.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanup, namespace, root, vethPair } from './bench-lib.mjs';

if (typeof globalThis.gc !== 'function') {
  // Re-run under --expose-gc; a signal to this wrapper reaches the real run (whose exit handlers clean up).
  const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', timeout: 75_000 });
  process.on('exit', () => child.exitCode === null && child.kill('SIGTERM'));
  const code = await new Promise((r) => child.on('exit', (c) => r(c ?? 1)));
  process.exit(code);
}

const argv = process.argv.slice(2);
const ci = argv.indexOf('--conns');
const N = ci >= 0 ? Number(argv[ci + 1]) : 10_000;
if (!Number.isInteger(N) || N < 1 || N > 20_000) {
  console.error('--conns must be an integer from 1 to 20000');
  process.exit(2);
}
const CONCURRENCY = 100; // connects in flight: stays under the listeners' SYN backlog
const TARGET = 4096;
const STARTED = Date.now();

if (process.getuid?.() !== 0) {
  console.error('bench-idle creates namespaces and a TUN device, which needs root: run it with sudo');
  process.exit(1);
}
const runningStackJs = join(root, 'dist/cli/running-stack.js');
if (!existsSync(runningStackJs)) {
  console.error('tunstack is not built: run `npm install` (or `npm run build`)');
  process.exit(1);
}
// The hard bound: whatever is pending, stop (the 'exit' handlers remove the namespaces and the device).
setTimeout(() => {
  console.error('bench-idle: time limit (60 s) reached, stopping');
  process.exit(1);
}, 60_000).unref();

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

// ---- the kernel-side client: N connections, held open until its stdin closes ---------------------------------
const CLIENT = `
const net = require('net');
const host = process.env.IDLE_HOST, port = +process.env.IDLE_PORT, n = +process.env.IDLE_N, conc = +process.env.IDLE_C;
const socks = [];
let started = 0, open = 0, failed = 0, lost = 0, lastErr = '';
const settle = () => { if (open + failed === n) console.log('open ' + open + ' failed ' + failed + ' ' + lastErr); else next(); };
function next() {
  if (started >= n) return;
  started++;
  const s = net.connect({ host, port });
  let up = false;
  s.once('connect', () => { up = true; open++; socks.push(s); settle(); });
  s.on('error', (e) => { lastErr = e.code || e.message; if (!up) { failed++; settle(); } });
  s.on('close', () => { if (up) lost++; });
}
for (let i = 0; i < Math.min(conc, n); i++) next();
let buf = '';
process.stdin.on('data', (d) => { buf += d; if (buf.includes('status')) { buf = ''; console.log('status open ' + (open - lost) + ' lost ' + lost); } });
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(3), 58000);
`;

/** Opens n connections from `ns` to host:port; resolves { proc, open, failed, status() } once all are settled. */
function openConnections(ns, host, port, n) {
  const proc = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', `ulimit -n ${n + 1000} && exec "$0" -e "$1"`, process.execPath, CLIENT], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, IDLE_HOST: host, IDLE_PORT: String(port), IDLE_N: String(n), IDLE_C: String(CONCURRENCY) },
  });
  children.add(proc);
  let out = '';
  let err = '';
  const waiters = [];
  proc.stdout.on('data', (d) => {
    out += d;
    for (const w of waiters.splice(0)) w();
  });
  proc.stderr.on('data', (d) => (err += d));
  const waitFor = (re, ms) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(out);
        if (m) return (clearTimeout(t), resolve(m));
        waiters.push(check);
      };
      const t = setTimeout(() => reject(new Error(`kernel-side client: no ${re} in ${ms} ms (${err.trim() || out.trim()})`)), ms);
      check();
    });
  proc.on('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  return waitFor(/open (\d+) failed (\d+) ?(.*)/, 30_000).then((m) => ({
    proc,
    open: Number(m[1]),
    failed: Number(m[2]),
    error: m[3].trim(),
    async status() {
      out = out.replace(/status open \d+ lost \d+\n/g, '');
      proc.stdin.write('status\n');
      const s = await waitFor(/status open (\d+) lost (\d+)/, 5_000);
      return { open: Number(s[1]), lost: Number(s[2]) };
    },
    close() {
      proc.stdin.end();
      children.delete(proc);
      return new Promise((r) => (proc.exitCode !== null ? r() : proc.on('exit', r)));
    },
  }));
}

const slabKb = () => Number(/^Slab:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? NaN);

async function until(pred, ms) {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

// ---- tunstack, in this process --------------------------------------------------------------------------------
async function fullGc() {
  for (let i = 0; i < 3; i++) {
    await sleep(10);
    globalThis.gc();
  }
}
async function localMemory() {
  await fullGc();
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, arrayBuffers: m.arrayBuffers, external: m.external };
}

const { RunningStack } = await import(runningStackJs);
const tsNs = namespace('idle');
const running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: tsNs, httpPort: 80 });
const bare = running.stack.createServer((s) => {
  s.on('error', () => {});
  s.on('end', () => s.end());
});
bare.listen(81, 1024);
const count = (srv) => new Promise((r) => srv.getConnections((_e, c) => r(c)));

/** One measurement: memory of the server before, N idle connections opened, memory after, connections closed. */
async function phase(label, { ns, host, port, conns, memory }) {
  // Warm-up: a few hundred connections opened and closed first, so that code and one-time allocations are
  // already in the "before" figure.
  const warm = await openConnections(ns, host, port, Math.min(200, N));
  await until(async () => (await conns()) >= warm.open, 5_000);
  await warm.close();
  await until(async () => (await conns()) === 0, 5_000);

  const before = await memory();
  const slabBefore = slabKb();
  const client = await openConnections(ns, host, port, N);
  const accepted = await until(async () => (await conns()) >= client.open, 10_000);
  await sleep(300); // delayed ACKs and the like have run
  const after = await memory();
  const slabAfter = slabKb();
  const held = await conns();
  const st = await client.status();
  await client.close();
  await until(async () => (await conns()) === 0, 5_000);
  if (client.failed || !accepted || st.lost) {
    console.log(`  (${label}: ${client.open} opened, ${client.failed} failed${client.error ? ` (${client.error})` : ''}, ${held} held by the server, ${st.lost} closed early)`);
  }
  const k = Math.max(1, Math.min(held, st.open));
  return {
    label,
    n: k,
    heap: (after.heapUsed - before.heapUsed) / k,
    ab: (after.arrayBuffers - before.arrayBuffers) / k,
    ext: (after.external - before.external) / k,
    slab: ((slabAfter - slabBefore) * 1024) / k,
  };
}

const rows = [];
rows.push(await phase('tunstack: TcpServer only (TCP + TcpSocket)', { ns: tsNs, host: '198.18.0.2', port: 81, conns: () => count(bare), memory: localMemory }));
rows.push(await phase('tunstack: node:http (tunstack serve)', { ns: tsNs, host: '198.18.0.2', port: 80, conns: () => count(running.http.tcp), memory: localMemory }));
bare.close();
await running.close();

// ---- baseline: the same servers on the kernel's TCP, over a veth pair -----------------------------------------
if (Date.now() - STARTED < 35_000) {
  try {
    const [a, b] = vethPair('idlek', '198.18.3');
    const app = join(root, 'dist/apps/http-handler.js');
    const SERVER = `
const net = require('net'), http = require('http');
import(${JSON.stringify(app)}).then((m) => {
  const hs = http.createServer(m.createHttpApp());
  const ns = net.createServer((s) => { s.on('error', () => {}); });
  hs.listen({ port: 80, host: '198.18.3.2', backlog: 1024 }, () => ns.listen({ port: 81, host: '198.18.3.2', backlog: 1024 }, () => console.log('ready')));
  let buf = '';
  process.stdin.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const cmd = buf.slice(0, i); buf = buf.slice(i + 1);
      const srv = cmd.endsWith('80') ? hs : ns;
      if (cmd.startsWith('mem')) { for (let k = 0; k < 3; k++) global.gc(); const u = process.memoryUsage(); console.log('mem ' + JSON.stringify({ heapUsed: u.heapUsed, arrayBuffers: u.arrayBuffers, external: u.external })); }
      else srv.getConnections((e, c) => console.log('count ' + c));
    }
  });
  process.stdin.on('end', () => process.exit(0));
});
setTimeout(() => process.exit(3), 58000);
`;
    const server = spawn('ip', ['netns', 'exec', b, 'sh', '-c', `ulimit -n ${N + 1000} && exec "$0" --expose-gc -e "$1"`, process.execPath, SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.add(server);
    let out = '';
    let wake;
    server.stdout.on('data', (d) => {
      out += d;
      wake?.();
    });
    const ask = async (cmd, re) => {
      out = '';
      server.stdin.write(`${cmd}\n`);
      const end = Date.now() + 10_000;
      let m;
      while (!(m = re.exec(out))) {
        if (Date.now() > end || server.exitCode !== null) throw new Error(`kernel baseline server: no answer to ${cmd}`);
        await new Promise((r) => ((wake = r), setTimeout(r, 50)));
      }
      return m[1];
    };
    if (!(await until(() => /ready/.test(out), 10_000))) throw new Error('kernel baseline server did not start');
    for (const port of [81, 80]) {
      const label = port === 81 ? 'kernel TCP: node:net server' : 'kernel TCP: node:http';
      rows.push(await phase(`${label} (baseline)`, {
        ns: a,
        host: '198.18.3.2',
        port,
        conns: async () => Number(await ask(`count ${port}`, /count (\d+)/)),
        memory: async () => JSON.parse(await ask('mem', /mem (\{.*\})/)),
      }));
    }
    server.stdin.end();
  } catch (e) {
    console.log(`  (kernel baseline skipped: ${e.message})`);
  }
} else {
  console.log('  (kernel baseline skipped: not enough time left in the 60 s bound)');
}

// ---- report ---------------------------------------------------------------------------------------------------
const f = (v) => (Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : 'n/a');
console.log(`Idle established TCP connections: ${N.toLocaleString('en-US')} from the kernel side, no requests — bytes per connection`);
console.log(`  ${'server'.padEnd(46)} ${'heapUsed'.padStart(9)} ${'arrayBuffers'.padStart(13)} ${'external'.padStart(9)} ${'kernel slab*'.padStart(13)} ${'conns'.padStart(7)}`);
for (const r of rows) {
  console.log(`  ${r.label.padEnd(46)} ${f(r.heap).padStart(9)} ${f(r.ab).padStart(13)} ${f(r.ext).padStart(9)} ${f(r.slab).padStart(13)} ${f(r.n).padStart(7)}`);
}
const [tcpOnly, withHttp] = rows;
const verdict = (v) => (v <= TARGET ? 'meets' : 'misses');
console.log(
  `  target ≤ ${TARGET} B heap per idle connection: tunstack TCP ${f(tcpOnly.heap)} B (${verdict(tcpOnly.heap)}), ` +
    `with node:http ${f(withHttp.heap)} B (${verdict(withHttp.heap)})`,
);
console.log('  * Slab in /proc/meminfo, system-wide (approximate); includes the kernel-side client sockets in every row');
console.log(`  (${((Date.now() - STARTED) / 1000).toFixed(1)} s; command: sudo node scripts/bench-idle.mjs --conns ${N})`);
cleanup();
process.exit(0);
