#!/usr/bin/env node
// bench-addon.mjs — raw packet rates of tunstack's native TUN addon (no stack above it): how fast it reads what the
// kernel sends into a TUN device and how fast it writes packets to the kernel. Needs root; ≤ ~10 s; own namespace.
//
//   sudo node scripts/bench-addon.mjs [--seconds 3] [--blasters N] [--size 64]
//
// READ (live):  inside the namespace, N node:dgram "blasters" send UDP to 198.18.0.2:9 as fast as they can, bounded
//               by count and time; the addon reads (uv_poll + read() until EAGAIN) and counts.
// READ (drain): reading paused, the device's queue (txqueuelen) is filled, then the addon drains it: the read rate
//               without the generator competing for a CPU.
// WRITE:        the addon writes batches of valid UDP packets 198.18.0.2 → 198.18.0.1:9 (no listener: the kernel
//               counts them as Udp NoPorts) for a fixed time; the kernel's rx counter confirms the delivery.
// The namespace is tunstack-<pid>-bench; it and the device are removed on exit, also on failure and SIGINT/SIGTERM.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---- options ------------------------------------------------------------------------------------------
const argv = process.argv.slice(2);
function opt(name, def, min, max) {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = Number(argv[i + 1]);
  if (!Number.isFinite(v) || v < min || v > max) {
    console.error(`--${name} must be a number from ${min} to ${max}`);
    process.exit(2);
  }
  return v;
}
const SECONDS = opt('seconds', 3, 0.5, 4); // per timed phase; two timed phases + a ~0.5 s drain keep the total ≤ ~10 s
const BLASTERS = opt('blasters', Math.max(1, Math.min(4, cpus().length - 1)), 1, 8);
const SIZE = opt('size', 64, 28, 1500); // IPv4 packet size in bytes (20 IP + 8 UDP + payload)
const MAX_PACKETS = 50_000_000; // count bound of every loop
const DRAIN_QUEUE = 50_000; // txqueuelen for the drain phase
const WRITE_BATCH = 256;

if (process.getuid?.() !== 0) {
  console.error('bench-addon needs root (CAP_NET_ADMIN): run it with sudo');
  process.exit(1);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addonFile = join(root, 'native', 'build', 'Release', 'tun.node');
if (!existsSync(addonFile)) {
  console.error("tunstack's native addon is not built: run `npm install` (or `npm run build:native`)");
  process.exit(1);
}
const addon = createRequire(import.meta.url)(addonFile);

// ---- namespace + device, torn down whatever happens -----------------------------------------------
const NS = `tunstack-${process.pid}-bench`;
const PEER = '198.18.0.1';
const SELF = '198.18.0.2';
const children = new Set();
let handle;
let nsCreated = false;

const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const nsIp = (...args) => ip('-n', NS, ...args);

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children.clear();
  if (handle !== undefined) handle.close(); // fd first: the kernel deletes the device with it
  handle = undefined;
  if (nsCreated) {
    nsCreated = false;
    try {
      ip('netns', 'del', NS);
    } catch (e) {
      console.error(`could not delete namespace ${NS}: ${e.message}`);
    }
  }
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

function setUp() {
  ip('netns', 'add', NS);
  nsCreated = true;
  handle = addon.open({});
  handle.setMtu(1500); // before the move: the ioctl socket lives in our namespace
  ip('link', 'set', handle.name, 'netns', NS);
  nsIp('link', 'set', 'lo', 'up');
  try {
    execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${handle.name}.disable_ipv6=1`], { stdio: 'ignore' });
  } catch {
    // no IPv6: nothing to silence
  }
  nsIp('addr', 'add', `${PEER}/24`, 'dev', handle.name);
  nsIp('link', 'set', handle.name, 'up');
}

function linkCounters() {
  const [info] = JSON.parse(nsIp('-s', '-j', 'link', 'show', 'dev', handle.name));
  return { rx: info.stats64.rx.packets, tx: info.stats64.tx.packets, txDropped: info.stats64.tx.dropped };
}

function udpNoPorts() {
  const snmp = execFileSync('ip', ['netns', 'exec', NS, 'cat', '/proc/net/snmp'], { encoding: 'utf8' }).split('\n');
  const names = snmp.find((l) => l.startsWith('Udp: ') && !/\d/.test(l)).split(/\s+/);
  const values = snmp.find((l) => l.startsWith('Udp: ') && /\d/.test(l)).split(/\s+/);
  return { noPorts: Number(values[names.indexOf('NoPorts')]), csumErrors: Number(values[names.indexOf('InCsumErrors')]) };
}

// ---- the blaster (runs inside the namespace) ------------------------------------------------------------
const BLASTER = `
  const dgram = require('node:dgram');
  const [count, ms, size] = process.argv.slice(1).map(Number);
  const s = dgram.createSocket('udp4');
  const msg = Buffer.alloc(size);
  let sent = 0;
  s.connect(9, '${SELF}', () => {
    process.stdout.write('go\\n');
    const deadline = Date.now() + ms;
    (function burst() {
      for (let i = 0; i < 2000 && sent < count; i++) { s.send(msg); sent++; }
      if (sent < count && Date.now() < deadline) setImmediate(burst);
      else setImmediate(() => { s.close(); process.stdout.write(sent + '\\n'); });
    })();
  });
`;

function startBlaster(count, ms) {
  const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', BLASTER, String(count), String(ms), String(SIZE - 28)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let out = '';
  const started = new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('go\n')) res();
    });
    child.on('exit', () => rej(new Error('blaster exited before starting')));
  });
  const done = new Promise((res) =>
    child.on('exit', () => {
      children.delete(child);
      res(Number(out.split('\n').filter(Boolean).pop()) || 0);
    }),
  );
  return { started, done };
}

// ---- phases -----------------------------------------------------------------------------------------------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => Number(process.hrtime.bigint()) / 1e9;

/** Batch-size bookkeeping for the read side (the JS work per batch is just this). */
function batchRecorder() {
  const r = { batches: 0, packets: 0, max: 0, last: 0 };
  r.onBatch = (_buf, _lengths, count) => {
    r.batches++;
    r.packets += count;
    if (count > r.max) r.max = count;
    r.last = now();
  };
  return r;
}

async function readLive() {
  const rec = batchRecorder();
  handle.start(rec.onBatch);
  const before = linkCounters();
  const blasters = Array.from({ length: BLASTERS }, () => startBlaster(Math.floor(MAX_PACKETS / BLASTERS), (SECONDS + 1) * 1000));
  await Promise.all(blasters.map((b) => b.started));
  const s0 = handle.stats();
  const t0 = now();
  await sleep(SECONDS * 1000);
  const s1 = handle.stats();
  const t1 = now();
  const sent = (await Promise.all(blasters.map((b) => b.done))).reduce((a, b) => a + b, 0);
  await sleep(100);
  handle.stop();
  const after = linkCounters();
  const packets = s1.packetsRead - s0.packetsRead;
  const batches = s1.batches - s0.batches;
  return {
    packets,
    seconds: t1 - t0,
    meanBatch: packets / Math.max(1, batches),
    maxBatch: rec.max,
    note: `kernel sent ${fmt(sent)} in ${SECONDS + 1} s; device tx ${fmt(after.tx - before.tx)}, queue drops ${fmt(after.txDropped - before.txDropped)}`,
  };
}

async function readDrain() {
  nsIp('link', 'set', 'dev', handle.name, 'txqueuelen', String(DRAIN_QUEUE));
  const before = linkCounters();
  const b = startBlaster(DRAIN_QUEUE, 2000);
  await b.started;
  const sent = await b.done;
  // tun counts tx when the reader takes a packet, so what sits in the queue is what was sent minus the drops.
  const queued = sent - (linkCounters().txDropped - before.txDropped);
  const rec = batchRecorder();
  const t0 = now();
  handle.start(rec.onBatch);
  const deadline = t0 + 2;
  while (rec.packets < queued && now() < deadline) await sleep(5);
  handle.stop();
  nsIp('link', 'set', 'dev', handle.name, 'txqueuelen', '500');
  return {
    packets: rec.packets,
    seconds: rec.last - t0,
    meanBatch: rec.packets / Math.max(1, rec.batches),
    maxBatch: rec.max,
    note: `${fmt(queued)} queued (txqueuelen ${fmt(DRAIN_QUEUE)}), timed from start() to the last batch`,
  };
}

function checksum(buf, start, end, initial = 0) {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += (buf[i] << 8) | (i + 1 < end ? buf[i + 1] : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** A valid IPv4/UDP packet SELF:sport → PEER:9 of SIZE bytes (RFC 791 header checksum, RFC 768 checksum with pseudo-header). */
function udpPacket(sport, id) {
  const p = new Uint8Array(SIZE);
  const dv = new DataView(p.buffer);
  p[0] = 0x45;
  dv.setUint16(2, SIZE);
  dv.setUint16(4, id);
  p[8] = 64;
  p[9] = 17;
  p.set([198, 18, 0, 2], 12);
  p.set([198, 18, 0, 1], 16);
  dv.setUint16(10, checksum(p, 0, 20));
  const udpLen = SIZE - 20;
  dv.setUint16(20, sport);
  dv.setUint16(22, 9);
  dv.setUint16(24, udpLen);
  for (let i = 28; i < SIZE; i++) p[i] = i & 0xff;
  const pseudo = 0xc612 + 0x0002 + 0xc612 + 0x0001 + 17 + udpLen; // src, dst, protocol, UDP length
  const c = checksum(p, 20, SIZE, pseudo);
  dv.setUint16(26, c === 0 ? 0xffff : c);
  return p;
}

async function write() {
  const batch = Array.from({ length: WRITE_BATCH }, (_, i) => udpPacket(40000 + i, i));
  const before = linkCounters();
  const udp0 = udpNoPorts();
  const s0 = handle.stats();
  const t0 = now();
  const end = t0 + SECONDS;
  let calls = 0;
  let t = t0;
  for (let n = 0; n < MAX_PACKETS && t < end; n += WRITE_BATCH) {
    handle.writeBatch(batch);
    calls++;
    if ((calls & 15) === 0) {
      t = now();
      await new Promise(setImmediate); // let the loop breathe (signals), as a real driver would
    }
  }
  const t1 = now();
  const s1 = handle.stats();
  const after = linkCounters();
  const udp1 = udpNoPorts();
  return {
    packets: s1.packetsWritten - s0.packetsWritten,
    seconds: t1 - t0,
    meanBatch: WRITE_BATCH,
    maxBatch: WRITE_BATCH,
    note: `write errors ${fmt(s1.writeErrors - s0.writeErrors)}; device rx ${fmt(after.rx - before.rx)}, Udp NoPorts ${fmt(udp1.noPorts - udp0.noPorts)}, InCsumErrors ${fmt(udp1.csumErrors - udp0.csumErrors)}`,
  };
}

function fmt(n) {
  return Math.round(n).toLocaleString('en-US');
}

// ---- main -------------------------------------------------------------------------------------------------------
try {
  const tStart = now();
  setUp();
  const rows = [
    ['read (live)', await readLive()],
    ['read (drain)', await readDrain()],
    ['write', await write()],
  ];
  const command = `node ${[join('scripts', 'bench-addon.mjs'), ...argv].join(' ')}`;
  console.log(`tunstack addon bench — ${handle.name} in ${NS}, ${SIZE}-byte IPv4/UDP packets, ${BLASTERS} blaster(s), ${cpus().length} CPUs, node ${process.version}`);
  console.log(`command: ${command}   (as root, from ${root})`);
  console.log('');
  const header = ['phase', 'packets', 'seconds', 'packets/s', 'batch mean', 'batch max'];
  const table = rows.map(([name, r]) => [name, fmt(r.packets), r.seconds.toFixed(3), fmt(r.packets / r.seconds), r.meanBatch.toFixed(1), String(r.maxBatch)]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log('');
  for (const [name, r] of rows) console.log(`${name}: ${r.note}`);
  console.log(`total ${(now() - tStart).toFixed(1)} s; addon stats: ${JSON.stringify(handle.stats())}`);
} catch (e) {
  console.error(`bench-addon failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  cleanup();
}
