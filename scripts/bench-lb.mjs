#!/usr/bin/env node
// L4 load balancing figures for `npm run bench`: short HTTP requests (requests/s, p50/p99 latency,
// with wrk; every response closes its connection, so each request is a new flow through the
// balancer) and bulk throughput (curl, 200 MiB), through `tunstack lb` in nat mode, in proxy mode,
// and directly to one backend — in the same run, same namespace, same four node:http backends.
// Needs root, curl and wrk. Namespace tunstack-<pid>-lb, removed on exit; every load is bounded
// in time (wrk -d) and size.

import { spawnSync } from 'node:child_process';
import { cleanup, cli, ip, namespace, startChild, stop } from './bench-lib.mjs';

const BYTES = 200 * 1024 * 1024;
const WRK_SECONDS = Number(process.env.BENCH_LB_SECONDS ?? 5);
const BACKENDS = ['198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.1.14'];

const inNs = (ns, cmd, args, timeout = 120_000) =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });

if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) {
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

// A backend: "ok" for short requests, N zero bytes for /bytes/N; every response closes its connection.
const BACKEND = `
const http = require('node:http');
const [addr] = process.argv.slice(-1);
const zeros = Buffer.alloc(1 << 16);
http.createServer((req, res) => {
  res.setHeader('connection', 'close');
  const m = /^\\/bytes\\/(\\d+)/.exec(req.url);
  if (!m) return res.end('ok\\n');
  let left = Number(m[1]);
  res.writeHead(200, { 'content-length': String(left) });
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, zeros.length);
      left -= n;
      if (!res.write(n === zeros.length ? zeros : zeros.subarray(0, n))) return res.once('drain', pump);
    }
    res.end();
  };
  pump();
}).listen(8080, addr, () => console.log('ready'));`;

function wrk(ns, url) {
  const r = inNs(ns, 'wrk', ['-t', '1', '-c', '10', '-d', `${WRK_SECONDS}s`, '--latency', url], (WRK_SECONDS + 30) * 1000);
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!rate) throw new Error(`wrk failed: ${r.stdout}${r.stderr}`);
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)`, 'm').exec(r.stdout);
    if (!m) return NaN;
    return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
  };
  const errors = /Non-2xx or 3xx responses: \d+|Socket errors: .*/.exec(r.stdout);
  return { rate: Number(rate[1]), p50: pct(50), p99: pct(99), errors: errors ? errors[0] : '' };
}

function bulk(ns, url) {
  const r = inNs(ns, 'curl', ['-sS', '--max-time', '120', '-o', '/dev/null', '-w', '%{size_download} %{time_total}', url], 150_000);
  const [bytes, secs] = r.stdout.trim().split(' ').map(Number);
  if (bytes !== BYTES || !secs) throw new Error(`curl bulk failed: ${r.stdout} ${r.stderr}`);
  return (bytes * 8) / secs / 1e9;
}

const ns = namespace('lb');
ip('netns', 'add', ns);
ip('-n', ns, 'link', 'set', 'lo', 'up');
for (const a of BACKENDS) {
  ip('-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  await startChild('ip', ['netns', 'exec', ns, process.execPath, '-e', BACKEND, a], /ready/);
}
const backendArgs = BACKENDS.flatMap((a) => ['--backend', `${a}:8080`]);

const rows = [];
async function measure(name, url, lbArgs) {
  const proc = lbArgs ? await startChild(process.execPath, [cli, 'lb', '--netns', ns, ...lbArgs], /^ready /m) : undefined;
  try {
    const short = wrk(ns, `${url}/`);
    const gbps = bulk(ns, `${url}/bytes/${BYTES}`);
    rows.push({ name, ...short, gbps });
  } catch (e) {
    rows.push({ name, failed: e.message.split('\n')[0] });
  } finally {
    if (proc) await stop(proc);
  }
}

console.log(`L4 load balancing, four node:http backends on the kernel side, each request a new connection`);
console.log(`(wrk -c 10 for ${WRK_SECONDS} s; bulk: one ${BYTES / 1048576} MiB download with curl):`);
await measure('direct to one backend (kernel loopback)', 'http://198.18.1.11:8080', undefined);
await measure('tunstack lb nat (round robin)', 'http://198.18.0.2', ['--vip', '198.18.0.2:80', '--mode', 'nat', '--algo', 'roundrobin', ...backendArgs]);
await measure('tunstack lb proxy (round robin)', 'http://198.18.0.2', ['--vip', '198.18.0.2:80', '--mode', 'proxy', '--algo', 'roundrobin', ...backendArgs]);
await measure('tunstack lb nat (maglev)', 'http://198.18.0.2', ['--vip', '198.18.0.2:80', '--mode', 'nat', '--algo', 'maglev', ...backendArgs]);
cleanup();

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '?');
for (const r of rows) {
  if (r.failed) {
    console.log(`  ${r.name.padEnd(42)} failed: ${r.failed}`);
    continue;
  }
  console.log(
    `  ${r.name.padEnd(42)} ${fmt(r.rate).padStart(7)} req/s   p50 ${fmt(r.p50, 2).padStart(6)} ms   p99 ${fmt(r.p99, 2).padStart(6)} ms   bulk ${fmt(r.gbps, 2)} Gbit/s` +
      (r.errors ? `   (${r.errors})` : ''),
  );
}
process.exit(rows.some((r) => r.failed) ? 1 : 0);
