// The lb interop environment: a namespace whose kernel side holds four HTTP backends
// (198.18.1.11–14 on its loopback, each answering with its own id) and extra client addresses,
// tunstack on the TUN running a LoadBalancer in-process, curl helpers, and cleanup on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { RunningStack } from '../../src/cli/running-stack.js';
import { LoadBalancer } from '../../src/lb/balancer.js';
import { configFromFlags, validateConfig, type LbConfig } from '../../src/lb/config.js';
import type { Json } from '../../src/lb/json-lines.js';
import { freshNetns, inNs, netnsList, ROOT, sh } from '../helpers/harness.js';

export const BACKENDS = ['198.18.1.11', '198.18.1.12', '198.18.1.13', '198.18.1.14'];
export const BACKEND_KEYS = BACKENDS.map((a) => `${a}:8080`);
export const CLIENT_ADDRS = Array.from({ length: 8 }, (_, i) => `198.18.0.${21 + i}`);
const BACKEND_SCRIPT = join(ROOT, 'test/lb/backend.mjs');

/** sha256 of the first n bytes of backend.mjs's pattern stream. */
export function patternSha256(n: number): string {
  const h = createHash('sha256');
  const chunk = Buffer.allocUnsafe(1 << 16);
  for (let off = 0; off < n; off += 1 << 16) {
    const len = Math.min(1 << 16, n - off);
    for (let i = 0; i < len; i++) {
      const x = off + i;
      chunk[i] = (x * 31 + (x >>> 11) * 7 + (x >>> 19)) & 0xff;
    }
    h.update(chunk.subarray(0, len));
  }
  return h.digest('hex');
}

export interface LbEnv {
  ns: string;
  running: RunningStack;
  lb: LoadBalancer;
  backends: Map<string, ChildProcess>;
  startBackend(i: number, slowMs?: number): Promise<void>;
  stopBackend(i: number): Promise<void>;
  close(): Promise<void>;
}

/** A raw config for one service on 198.18.0.2:80 over the four backends, with overrides. */
export function lbConfig(service: { [k: string]: Json }, top: { [k: string]: Json } = {}): LbConfig {
  return validateConfig({ services: [{ vip: '198.18.0.2:80', backends: BACKEND_KEYS, ...service }], ...top }, 'test');
}

export interface Backends {
  ns: string;
  procs: Map<string, ChildProcess>;
  startBackend(i: number, slowMs?: number): Promise<void>;
  stopBackend(i: number): Promise<void>;
  /** Stops the backends and deletes the namespace. */
  close(): Promise<void>;
}

/** A fresh namespace with the four backends (and the client addresses) on its loopback. */
export async function startBackends(slow: Record<number, number> = {}): Promise<Backends> {
  const ns = freshNetns();
  const procs = new Map<string, ChildProcess>();
  const startBackend = async (i: number, slowMs = 0) => {
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, BACKEND_SCRIPT, BACKENDS[i]!, '8080', `b${i + 1}`, String(slowMs)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    procs.set(BACKENDS[i]!, proc);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`backend ${i + 1} not listening in 10 s`)), 10_000);
      proc.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`backend ${i + 1} exited with ${code}`)));
    });
  };
  const stopBackend = async (i: number) => {
    const p = procs.get(BACKENDS[i]!);
    procs.delete(BACKENDS[i]!);
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  const close = async () => {
    for (let i = 0; i < BACKENDS.length; i++) await stopBackend(i);
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
  };
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const a of [...BACKENDS, ...CLIENT_ADDRS]) {
      const r = await sh('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
      if (r.code !== 0) throw new Error(`ip addr add ${a}: ${r.stderr}`);
    }
    for (let i = 0; i < BACKENDS.length; i++) await startBackend(i, slow[i] ?? 0);
    return { ns, procs, startBackend, stopBackend, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export async function startLbEnv(config: LbConfig, extra: { pcap?: string; slow?: Record<number, number> } = {}): Promise<LbEnv> {
  const be = await startBackends(extra.slow);
  let running: RunningStack | undefined;
  let lb: LoadBalancer | undefined;
  const close = async () => {
    await lb?.close();
    await running?.close();
    await be.close();
  };
  try {
    const anyNat = config.services.some((s) => s.mode === 'nat');
    running = await RunningStack.start({ addr: '198.18.0.2', peer: '198.18.0.1/24', mtu: 1500, netns: be.ns, offload: !anyNat, ...(extra.pcap ? { pcap: extra.pcap } : {}) });
    lb = new LoadBalancer(running.stack, config);
    return { ns: be.ns, running, lb, backends: be.procs, startBackend: be.startBackend, stopBackend: be.stopBackend, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/** n requests to the VIP (each its own connection), `parallel` at a time; returns the backend ids answered (or "ERR"). */
export async function requestMany(ns: string, n: number, opts: { parallel?: number; iface?: string; path?: string } = {}): Promise<string[]> {
  const curlArgs = [
    '-s',
    '--max-time',
    '20',
    ...(opts.parallel && opts.parallel > 1 ? ['--parallel', '--parallel-immediate', '--parallel-max', String(opts.parallel)] : []),
    ...(opts.iface ? ['--interface', opts.iface] : []),
    '-w',
    '%{http_code} %header{x-backend}\\n',
    '-o',
    '/dev/null',
    `http://198.18.0.2${opts.path ?? '/'}?n=[1-${n}]`,
  ];
  const r = await inNs(ns, 'curl', curlArgs, 60_000);
  const lines = r.stdout.trim().split('\n').filter((l) => l.length > 0);
  return lines.map((l) => {
    const [code, id] = l.split(' ');
    return code === '200' && id ? id : 'ERR';
  });
}

export function tally(ids: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const id of ids) t[id] = (t[id] ?? 0) + 1;
  return t;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms until true or `ms` passed; returns the time it took (or -1). */
export async function waitFor(cond: () => boolean, ms: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    if (cond()) return performance.now() - t0;
    await sleep(50);
  }
  return cond() ? performance.now() - t0 : -1;
}

export { configFromFlags };
