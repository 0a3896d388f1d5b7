#!/usr/bin/env node
// `npm run bench`: tunstack's figures, each next to a baseline measured in the same run.
//   1. ICMP echo rate under `ping -f -c 100000` from the kernel side: tunstack (through the TUN)
//      versus the kernel answering over a veth pair between two namespaces.
//   2. TCP: bulk download/upload and HTTP requests/s, tunstack vs the kernel (scripts/bench-tcp.mjs).
//   3. The native addon's raw read/write packet rates (scripts/bench-addon.mjs).
// Needs root. Everything runs in namespaces named tunstack-<pid>-…, removed afterwards; bounded in
// count (100,000 echoes) and time (ping -w 60).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const COUNT = Number(process.env.BENCH_PINGS ?? 100_000);

if (process.getuid?.() !== 0) {
  console.error('npm run bench creates namespaces and TUN devices, which needs root: run `sudo npm run bench`');
  process.exit(1);
}
if (!existsSync(cli)) {
  console.error('tunstack is not built: run `npm install` (or `npm run build`)');
  process.exit(1);
}

const created = [];
const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
function cleanup() {
  for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

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
  const ns = `tunstack-${process.pid}-echo`;
  created.push(ns);
  const proc = spawn(process.execPath, [cli, 'serve', '--netns', ns], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (/^ready /m.test(out)) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`tunstack serve exited with ${code}`)));
    setTimeout(() => reject(new Error('tunstack serve not ready in 15 s')), 15_000).unref();
  });
  try {
    return floodPing(ns, '198.18.0.2');
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
}

function kernelEcho() {
  const a = `tunstack-${process.pid}-va`;
  const b = `tunstack-${process.pid}-vb`;
  for (const ns of [a, b]) {
    ip('netns', 'add', ns);
    created.push(ns);
  }
  ip('-n', a, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', b);
  ip('-n', a, 'addr', 'add', '198.18.1.1/24', 'dev', 'veth0');
  ip('-n', b, 'addr', 'add', '198.18.1.2/24', 'dev', 'veth1');
  for (const [ns, dev] of [[a, 'veth0'], [b, 'veth1']]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
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

console.log('Native addon, raw packets (no stack above it):');
const addon = spawnSync(process.execPath, [join(root, 'scripts/bench-addon.mjs')], { stdio: 'inherit', timeout: 60_000 });
process.exit(addon.status ?? 1);
