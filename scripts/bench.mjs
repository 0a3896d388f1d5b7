#!/usr/bin/env node
// `npm run bench`: tunstack's figures, each next to a baseline measured in the same run.
//   1. ICMP echo rate under `ping -f -c 100000` from the kernel side: tunstack (through the TUN)
//      versus the kernel answering over a veth pair between two namespaces.
//   2. TCP: bulk download/upload and HTTP requests/s, tunstack vs the kernel (scripts/bench-tcp.mjs).
//   3. The native addon's raw read/write packet rates (scripts/bench-addon.mjs).
//   4. Bulk TCP, tunstack (with and without TUN offloads) vs slirp4netns (scripts/bench-slirp.mjs); 5. memory per idle connection (scripts/bench-idle.mjs).
//   7. L4 load balancing: `tunstack lb` nat and proxy vs direct, requests/s, p50/p99, bulk (scripts/bench-lb.mjs).
//   8. L7 load balancing: `tunstack lb --mode http` (HTTP, HTTPS offload with both crypto providers) vs the
//      L4 modes and direct, requests/s and p50/p99 over keep-alive connections (scripts/bench-l7.mjs).
// Needs root. Everything runs in namespaces named tunstack-<pid>-…, removed afterwards; bounded in
// count (100,000 echoes) and time (ping -w 60).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cli, root, startServe, stop, vethPair } from './bench-lib.mjs';

const COUNT = Number(process.env.BENCH_PINGS ?? 100_000);

if (process.getuid?.() !== 0) {
  console.error('npm run bench creates namespaces and TUN devices, which needs root: run `sudo npm run bench`');
  process.exit(1);
}
if (!existsSync(cli)) {
  console.error('tunstack is not built: run `npm install` (or `npm run build`)');
  process.exit(1);
}

/** ping -f inside `ns`; returns { sent, received, ms, rate }. */
function floodPing(ns, target) {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'ping', '-f', '-q', '-c', String(COUNT), '-w', '60', target], {
    encoding: 'utf8',
    timeout: 90_000,
  });
  const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/.exec(r.stdout);
  if (!m) throw new Error(`ping -f in ${ns} failed: ${r.stdout}${r.stderr}`);
  const [sent, received, ms] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { sent, received, ms, rate: (received / ms) * 1000 };
}

async function tunstackEcho() {
  const { ns, proc } = await startServe('echo');
  try {
    return floodPing(ns, '198.18.0.2');
  } finally {
    await stop(proc);
  }
}

function kernelEcho() {
  const [a] = vethPair('v', '198.18.1');
  return floodPing(a, '198.18.1.2');
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');
console.log(`tunstack bench — ${new Date().toISOString()}, node ${process.version}\n`);
console.log(`ICMP echo, ping -f -c ${COUNT} from the kernel side:`);
const kernel = kernelEcho();
const ours = await tunstackEcho();
cleanup();
const row = (name, r) =>
  `  ${name.padEnd(34)} ${fmt(r.rate).padStart(9)} echoes/s   loss ${(100 * (1 - r.received / r.sent)).toFixed(2)}%   (${r.received}/${r.sent} in ${r.ms} ms)`;
console.log(row('kernel over veth (baseline)', kernel));
console.log(row('tunstack over TUN', ours));
console.log(`  ratio tunstack / kernel: ${(ours.rate / kernel.rate).toFixed(2)}\n`);

const tcp = spawnSync(process.execPath, [join(root, 'scripts/bench-tcp.mjs')], { stdio: 'inherit', timeout: 300_000 });
if (tcp.status !== 0) console.log('  (the TCP bench failed)');
console.log('');

// L4 load balancing: tunstack lb in nat and proxy mode vs direct to one backend (scripts/bench-lb.mjs).
const lbBench = spawnSync(process.execPath, [join(root, 'scripts/bench-lb.mjs')], { stdio: 'inherit', timeout: 300_000 });
if (lbBench.status !== 0) console.log('  (the load-balancing bench failed)');
console.log('');

// L7 load balancing: tunstack lb --mode http (and HTTPS offload) vs L4 nat/proxy vs direct (scripts/bench-l7.mjs).
const l7Bench = spawnSync(process.execPath, [join(root, 'scripts/bench-l7.mjs')], { stdio: 'inherit', timeout: 300_000 });
if (l7Bench.status !== 0) console.log('  (the L7 load-balancing bench failed)');
console.log('');

console.log('Native addon, raw packets (no stack above it):');
const addon = spawnSync(process.execPath, [join(root, 'scripts/bench-addon.mjs')], { stdio: 'inherit', timeout: 60_000 });
console.log('');

// 4. tunstack vs slirp4netns, bulk TCP (scripts/bench-slirp.mjs); 5. memory per idle connection (scripts/bench-idle.mjs).
for (const [what, script, timeout] of [['slirp4netns comparison', 'bench-slirp.mjs', 240_000], ['idle-connection memory', 'bench-idle.mjs', 75_000]]) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(root, 'scripts', script)], { stdio: 'inherit', timeout });
  if (r.status !== 0) console.log(`  (the ${what} bench failed${r.error ? `: ${r.error.message}` : ''})`);
  console.log('');
}
console.log(spawnSync(process.execPath, [join(root, 'scripts/bench-tls.mjs')], { stdio: 'inherit', timeout: 180_000 }).status === 0 ? '' : '  (the TLS bench failed)\n'); // 6. TLS (scripts/bench-tls.mjs)
process.exit(addon.status ?? 1);
