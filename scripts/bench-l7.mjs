#!/usr/bin/env node
// L7 load balancing figures for `npm run bench`: short HTTP requests (requests/s, p50/p99 latency, with
// wrk over 10 keep-alive connections) through `tunstack lb --mode http` (HTTP, and HTTPS to the VIP —
// TLS offload — with the noble and the node crypto provider), through the L4 modes (nat, proxy), and
// directly to one backend, in the same run, same namespace, same four keep-alive node:http backends;
// each as a ratio against direct. Needs root, curl and wrk. Namespace tunstack-<pid>-l7, state
// directory (the local CA) in a temporary directory, both removed on exit; every load is bounded in
// time (wrk -d).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, cli, ip, namespace, startChild, stop } from './bench-lib.mjs';

const WRK_SECONDS = Number(process.env.BENCH_L7_SECONDS ?? 5);
const BACKENDS = ['198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.1.14'];

const inNs = (ns, cmd, args, timeout = 120_000) =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });

if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) {
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

// A keep-alive backend answering "ok" (short requests: the proxy's per-request cost dominates).
const BACKEND = `
const http = require('node:http');
const [addr] = process.argv.slice(-1);
const s = http.createServer((req, res) => res.end('ok\\n'));
s.keepAliveTimeout = 60_000;
s.listen(8080, addr, () => console.log('ready'));`;

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

const state = mkdtempSync(join(tmpdir(), 'tunstack-bench-l7-'));
process.on('exit', () => rmSync(state, { recursive: true, force: true }));

const ns = namespace('l7');
ip('netns', 'add', ns);
ip('-n', ns, 'link', 'set', 'lo', 'up');
for (const a of BACKENDS) {
  ip('-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo');
  await startChild('ip', ['netns', 'exec', ns, process.execPath, '-e', BACKEND, a], /ready/);
}
const backendArgs = BACKENDS.flatMap((a) => ['--backend', `${a}:8080`]);

const rows = [];
async function measure(name, url, lbArgs) {
  const proc = lbArgs ? await startChild(process.execPath, [cli, 'lb', '--netns', ns, '--state', state, ...lbArgs], /^ready /m) : undefined;
  try {
    // One request first: an HTTPS listener creates its certificate, the pools open a connection.
    const warm = inNs(ns, 'curl', ['-s', '-k', '--max-time', '20', '-o', '/dev/null', '-w', '%{http_code}', `${url}/`], 30_000);
    if (warm.stdout !== '200') throw new Error(`first request: ${warm.stdout || warm.stderr}`);
    rows.push({ name, ...wrk(ns, `${url}/`) });
  } catch (e) {
    rows.push({ name, failed: e.message.split('\n')[0] });
  } finally {
    if (proc) await stop(proc);
  }
}

const l7 = ['--mode', 'http', '--vip', '198.18.0.2:80', '--no-access-log', ...backendArgs];
console.log('L7 load balancing: short requests over 10 keep-alive connections (wrk -c 10 for ' + `${WRK_SECONDS} s), four node:http backends on the kernel side:`);
await measure('direct to one backend (kernel loopback)', 'http://198.18.1.11:8080', undefined);
await measure('L4 nat (round robin)', 'http://198.18.0.2', ['--vip', '198.18.0.2:80', '--mode', 'nat', ...backendArgs]);
await measure('L4 proxy (round robin)', 'http://198.18.0.2', ['--vip', '198.18.0.2:80', '--mode', 'proxy', ...backendArgs]);
await measure('L7 http (round robin)', 'http://198.18.0.2', l7);
await measure('L7 https offload, noble crypto', 'https://198.18.0.2', [...l7, '--https', '443']);
await measure('L7 https offload, node crypto', 'https://198.18.0.2', [...l7, '--https', '443', '--tls-provider', 'node']);
cleanup();

const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '?');
const direct = rows.find((r) => r.name.startsWith('direct') && !r.failed);
for (const r of rows) {
  if (r.failed) {
    console.log(`  ${r.name.padEnd(40)} failed: ${r.failed}`);
    continue;
  }
  const ratio = direct ? `   ${(r.rate / direct.rate).toFixed(2)}× direct` : '';
  console.log(
    `  ${r.name.padEnd(40)} ${fmt(r.rate).padStart(7)} req/s   p50 ${fmt(r.p50, 2).padStart(6)} ms   p99 ${fmt(r.p99, 2).padStart(6)} ms${ratio}` +
      (r.errors ? `   (${r.errors})` : ''),
  );
}
process.exit(rows.some((r) => r.failed) ? 1 : 0);
