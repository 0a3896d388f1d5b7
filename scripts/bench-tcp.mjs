#!/usr/bin/env node
// TCP figures for `npm run bench`, each next to the kernel's own TCP measured in the same run:
//   - bulk download and upload of 200 MiB with curl: tunstack (node:http on tunstack TCP, over the TUN)
//     vs the same node:http app on the kernel's TCP over a veth pair between two namespaces;
//   - short HTTP requests/s with wrk, with and without keep-alive, same two setups.
// Needs root, curl and wrk (the bench installs wrk with apt-get when missing). Namespaces
// tunstack-<pid>-…, removed on exit; every load is bounded in time (wrk -d) and size.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(root, 'dist/cli/main.js');
const BYTES = 200 * 1024 * 1024;
const WRK_SECONDS = 5;

const created = [];
const children = new Set();
const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-'));
function cleanup() {
  for (const c of children) c.kill('SIGTERM');
  for (const ns of created.splice(0)) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const ip = (...args) => execFileSync('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (ns, cmd, args, timeout = 120_000) =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });

if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) {
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

function waitReady(proc, re) {
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      if (re.test(out)) resolve();
    });
    proc.on('exit', (code) => reject(new Error(`exited with ${code} before ready`)));
    setTimeout(() => reject(new Error('not ready in 15 s')), 15_000).unref();
  });
}

async function tunstackTarget() {
  const ns = `tunstack-${process.pid}-tcp`;
  created.push(ns);
  const proc = spawn(process.execPath, [cli, 'serve', '--netns', ns], { stdio: ['ignore', 'pipe', 'ignore'] });
  children.add(proc);
  await waitReady(proc, /^ready /m);
  return { name: 'tunstack over TUN', ns, host: '198.18.0.2:80' };
}

async function kernelTarget() {
  const a = `tunstack-${process.pid}-ka`;
  const b = `tunstack-${process.pid}-kb`;
  for (const ns of [a, b]) {
    ip('netns', 'add', ns);
    created.push(ns);
  }
  ip('-n', a, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', b);
  ip('-n', a, 'addr', 'add', '198.18.2.1/24', 'dev', 'veth0');
  ip('-n', b, 'addr', 'add', '198.18.2.2/24', 'dev', 'veth1');
  for (const [ns, dev] of [[a, 'veth0'], [b, 'veth1']]) {
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    ip('-n', ns, 'link', 'set', dev, 'up');
  }
  const app = join(root, 'dist/apps/http-handler.js');
  const code = `import('${app}').then((m) => { require('http').createServer(m.createHttpApp()).listen(80, '198.18.2.2', () => console.log('ready')); })`;
  const proc = spawn('ip', ['netns', 'exec', b, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.add(proc);
  await waitReady(proc, /ready/);
  return { name: 'kernel TCP over veth (baseline)', ns: a, host: '198.18.2.2:80' };
}

function curlRate(t, args) {
  const r = inNs(t.ns, 'curl', ['-sS', '--max-time', '120', '-o', '/dev/null', '-w', '%{size_download} %{size_upload} %{time_total}', ...args]);
  const [down, up, secs] = r.stdout.trim().split(' ').map(Number);
  if (!secs) throw new Error(`curl failed for ${t.name}: ${r.stderr}`);
  return ((Math.max(down, up) * 8) / secs / 1e9);
}

function wrkRate(t, extra) {
  const r = inNs(t.ns, 'wrk', ['-t', '1', '-c', '10', '-d', `${WRK_SECONDS}s`, ...extra, `http://${t.host}/bytes/100`], (WRK_SECONDS + 30) * 1000);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed for ${t.name}: ${r.stdout}${r.stderr}`);
  const errors = /Non-2xx or 3xx responses: \d+|Socket errors: .*/.exec(r.stdout);
  if (errors) console.log(`  (${t.name}: wrk reported ${errors[0]})`);
  return { rate: Number(m[1]) };
}

const upload = join(tmp, 'up.bin');
writeFileSync(upload, Buffer.alloc(BYTES, 0x5a));

const kernel = await kernelTarget();
const ours = await tunstackTarget();
const rows = [];
for (const [what, fn] of [
  [`download ${BYTES >> 20} MiB (Gbit/s)`, (t) => curlRate(t, [`http://${t.host}/bytes/${BYTES}`])],
  [`upload ${BYTES >> 20} MiB (Gbit/s)`, (t) => curlRate(t, ['--data-binary', `@${upload}`, `http://${t.host}/sink`])],
  ['requests/s, keep-alive (wrk -c10)', (t) => wrkRate(t, []).rate],
  ['requests/s, new connection each', (t) => wrkRate(t, ['-H', 'Connection: close']).rate],
]) {
  const k = fn(kernel);
  const o = fn(ours);
  rows.push([what, k, o, o / k]);
}
console.log(`TCP, node:http app on both sides (MTU 1500):`);
console.log(`  ${'measure'.padEnd(38)} ${'kernel/veth'.padStart(12)} ${'tunstack'.padStart(12)} ${'ratio'.padStart(7)}`);
for (const [what, k, o, r] of rows) {
  const f = (v) => (v < 100 ? v.toFixed(2) : Math.round(v).toLocaleString('en-US'));
  console.log(`  ${what.padEnd(38)} ${f(k).padStart(12)} ${f(o).padStart(12)} ${r.toFixed(2).padStart(7)}`);
}
