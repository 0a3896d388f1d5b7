#!/usr/bin/env node
// TCP figures for `npm run bench`, each next to the kernel's own TCP measured in the same run:
//   - bulk download and upload of 200 MiB with curl (median of 3 runs): tunstack (node:http on tunstack TCP, over the TUN)
//     vs the same node:http app on the kernel's TCP over a veth pair between two namespaces;
//   - short HTTP requests/s with wrk, with and without keep-alive, same two setups.
// Needs root, curl and wrk (the bench installs wrk with apt-get when missing). Namespaces
// tunstack-<pid>-…, removed on exit; every load is bounded in time (wrk -d) and size.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, root, startChild, startServe, vethPair } from './bench-lib.mjs';

const BYTES = 200 * 1024 * 1024;
const WRK_SECONDS = 5;

const tmp = mkdtempSync(join(tmpdir(), 'tunstack-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

const inNs = (ns, cmd, args, timeout = 120_000) =>
  spawnSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', timeout, maxBuffer: 16 << 20 });

if (spawnSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' }).status !== 0) {
  spawnSync('apt-get', ['install', '-y', '-qq', 'wrk'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

async function tunstackTarget(offload) {
  const { ns } = await startServe(offload ? 'tcpo' : 'tcp', offload ? [] : ['--no-offload']);
  return { name: offload ? 'tunstack over TUN with offloads' : 'tunstack over TUN', ns, host: '198.18.0.2:80' };
}

async function kernelTarget() {
  const [a, b] = vethPair('k', '198.18.2');
  const app = join(root, 'dist/apps/http-handler.js');
  const code = `import('${app}').then((m) => { require('http').createServer(m.createHttpApp()).listen(80, '198.18.2.2', () => console.log('ready')); })`;
  await startChild('ip', ['netns', 'exec', b, process.execPath, '-e', code], /ready/);
  return { name: 'kernel TCP over veth (baseline)', ns: a, host: '198.18.2.2:80' };
}

/** The median of three runs (interleaved per target by the caller's loop), each a fresh curl. */
const BULK_REPS = 3;
function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
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
const ours = await tunstackTarget(false);
const offl = await tunstackTarget(true);
const rows = [];
for (const [what, fn] of [
  [`download ${BYTES >> 20} MiB (Gbit/s)`, (t) => curlRate(t, [`http://${t.host}/bytes/${BYTES}`])],
  [`upload ${BYTES >> 20} MiB (Gbit/s)`, (t) => curlRate(t, ['--data-binary', `@${upload}`, `http://${t.host}/sink`])],
  ['requests/s, keep-alive (wrk -c10)', (t) => wrkRate(t, []).rate],
  ['requests/s, new connection each', (t) => wrkRate(t, ['-H', 'Connection: close']).rate],
]) {
  // Bulk: the median of BULK_REPS runs, taken in turns (kernel, tunstack, offload, kernel …) so that a
  // disturbance on this shared machine hits every target alike; the first run also warms up the JIT.
  const reps = what.includes('Gbit/s') ? BULK_REPS : 1;
  const ks = [];
  const os = [];
  const xs = [];
  for (let i = 0; i < reps; i++) {
    ks.push(fn(kernel));
    os.push(fn(ours));
    xs.push(fn(offl));
  }
  rows.push([what, median(ks), median(os), median(xs)]);
}
console.log(`TCP, node:http app on both sides (MTU 1500; "offload" = serve default: GRO in, TSO out; "tunstack" = serve --no-offload; bulk: median of ${BULK_REPS}):`);
console.log(`  ${'measure'.padEnd(38)} ${'kernel/veth'.padStart(12)} ${'tunstack'.padStart(10)} ${'ratio'.padStart(6)} ${'offload'.padStart(10)} ${'ratio'.padStart(6)}`);
for (const [what, k, o, x] of rows) {
  const f = (v) => (v < 100 ? v.toFixed(2) : Math.round(v).toLocaleString('en-US'));
  console.log(`  ${what.padEnd(38)} ${f(k).padStart(12)} ${f(o).padStart(10)} ${(o / k).toFixed(2).padStart(6)} ${f(x).padStart(10)} ${(x / k).toFixed(2).padStart(6)}`);
}
cleanup();
process.exit(0);
