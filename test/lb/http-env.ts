// The L7 (mode http) interop environment: a namespace whose kernel side holds keep-alive HTTP(S)
// backends (test/lb/http-backend.mjs, each with an id and its own connection/request counters),
// tunstack on the TUN running a LoadBalancer with an http service in-process (access log collected),
// a per-environment state directory (the local CA that signs the VIP's and the TLS backends'
// certificates), curl helpers, and cleanup on failure.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunningStack } from '../../src/cli/running-stack.js';
import { LoadBalancer } from '../../src/lb/balancer.js';
import { validateConfig } from '../../src/lb/config.js';
import { proxyTlsEnv } from '../../src/lb/http/proxy-tls.js';
import type { Json } from '../../src/lb/json-lines.js';
import { nobleProvider } from '../../src/tls/crypto/noble.js';
import { ensureServerIdentity } from '../../src/socket/tls-state-dir.js';
import { freshNetns, inNs, netnsList, ROOT, sh, type RunResult } from '../helpers/harness.js';

export const VIP = '198.18.0.2';
const BACKEND_SCRIPT = join(ROOT, 'test/lb/http-backend.mjs');

export interface BackendSpec {
  id: string;
  addr: string;
  /** Default 8080. */
  port?: number;
  /** Serve HTTPS with a certificate for `addr` from the environment's local CA. */
  tls?: boolean;
}

export interface BackendCounts {
  id: string;
  /** Connections that carried at least one counted request (health checks and /__stats excluded). */
  connections: number;
  requests: number;
  paths: Record<string, number>;
}

export interface HttpBackends {
  ns: string;
  stateDir: string;
  /** The local CA (PEM file) that signs the VIP's and the TLS backends' certificates. */
  caPath: string;
  specs: BackendSpec[];
  start(id: string): Promise<void>;
  /** SIGKILL: the backend's connections are reset by the kernel. */
  kill(id: string): Promise<void>;
  counts(id: string): Promise<BackendCounts>;
  /** Counts of every backend that is running, by id. */
  allCounts(): Promise<Record<string, BackendCounts>>;
  close(): Promise<void>;
}

const keyOf = (s: BackendSpec) => `${s.addr}:${s.port ?? 8080}`;

/** A fresh namespace with the given backends on its loopback (each its own process). */
export async function startHttpBackends(specs: BackendSpec[]): Promise<HttpBackends> {
  const ns = freshNetns();
  const stateDir = mkdtempSync(join(tmpdir(), 'tunstack-l7-state-'));
  const procs = new Map<string, ChildProcess>();
  const byId = new Map(specs.map((s) => [s.id, s] as const));
  // The VIP's certificate first: it creates the CA the backends' certificates are issued by.
  const vipIdentity = ensureServerIdentity(stateDir, { address: VIP, crypto: nobleProvider, now: Date.now() });
  const start = async (id: string) => {
    const s = byId.get(id);
    if (!s) throw new Error(`no backend ${id}`);
    const args = [BACKEND_SCRIPT, s.addr, String(s.port ?? 8080), s.id];
    if (s.tls) {
      const idn = ensureServerIdentity(stateDir, { address: s.addr, crypto: nobleProvider, now: Date.now() });
      args.push(idn.certPath, idn.keyPath);
    }
    const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.set(id, proc);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`backend ${id} not listening in 10 s`)), 10_000);
      proc.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('listening')) {
          clearTimeout(t);
          resolve();
        }
      });
      proc.once('exit', (code) => reject(new Error(`backend ${id} exited with ${code}`)));
    });
  };
  const kill = async (id: string) => {
    const p = procs.get(id);
    procs.delete(id);
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  const counts = async (id: string): Promise<BackendCounts> => {
    const s = byId.get(id)!;
    const url = `${s.tls ? 'https' : 'http'}://${keyOf(s)}/__stats`;
    const r = await inNs(ns, 'curl', ['-sS', '--max-time', '5', ...(s.tls ? ['--cacert', vipIdentity.caPath] : []), url]);
    if (r.code !== 0) throw new Error(`counts of ${id}: curl ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as BackendCounts;
  };
  const allCounts = async () => {
    const out: Record<string, BackendCounts> = {};
    for (const id of procs.keys()) out[id] = await counts(id);
    return out;
  };
  const close = async () => {
    for (const id of [...procs.keys()]) await kill(id);
    if ((await netnsList()).includes(ns)) await sh('ip', ['netns', 'del', ns]);
    rmSync(stateDir, { recursive: true, force: true });
  };
  try {
    await sh('ip', ['netns', 'add', ns]);
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const a of new Set(specs.map((s) => s.addr))) {
      const r = await sh('ip', ['-n', ns, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
      if (r.code !== 0) throw new Error(`ip addr add ${a}: ${r.stderr}`);
    }
    await Promise.all(specs.map((s) => start(s.id)));
    return { ns, stateDir, caPath: vipIdentity.caPath, specs, start, kill, counts, allCounts, close };
  } catch (e) {
    await close();
    throw e;
  }
}

export interface HttpEnv extends HttpBackends {
  running: RunningStack;
  lb: LoadBalancer;
  /** Access log lines and the balancer's log lines (filter denials, retries, backend state), as they come. */
  access: string[];
  log: string[];
  /** curl on the kernel side; never rejects. */
  curl(args: string[], timeoutMs?: number): Promise<RunResult>;
  /** The http service's stats as `GET /stats` shows them. */
  stats(): HttpStats;
}

export interface HttpStats {
  requests: number;
  retries: number;
  badGateway: number;
  noBackend: number;
  gatewayTimeout: number;
  denied: number;
  routes: Record<string, { requests: number; statuses: Record<string, number>; cacheHits: number; denied: number }>;
  pools: Array<{ pool: string; backends: Array<{ backend: string; state: string; connectionsOpened: number; connectionsReused: number; connectionsOpen: number; http: { requests: number } }> }>;
  cache: { hits: number; misses: number; stores: number } | undefined;
  filter: { denied: number; byRule: Record<string, number> };
}

/**
 * A mode http service on 198.18.0.2 (raw config, validated like a file) with these backends; as a
 * function, the config is made once the backends' state directory (and its CA) exists.
 */
export async function startHttpEnv(
  service: { [k: string]: Json } | ((be: HttpBackends) => { [k: string]: Json }),
  specs: BackendSpec[],
  top: { [k: string]: Json } = {},
): Promise<HttpEnv> {
  const be = await startHttpBackends(specs);
  let running: RunningStack | undefined;
  let lb: LoadBalancer | undefined;
  const close = async () => {
    await lb?.close();
    await running?.close();
    await be.close();
  };
  try {
    const svc = typeof service === 'function' ? service(be) : service;
    const config = validateConfig({ services: [{ mode: 'http', name: 'web', ...svc }], ...top }, 'test');
    running = await RunningStack.start({ addr: VIP, peer: '198.18.0.1/24', mtu: 1500, netns: be.ns, offload: true });
    const access: string[] = [];
    const log: string[] = [];
    lb = new LoadBalancer(running.stack, config, {
      log: (l) => log.push(l),
      http: { ...proxyTlsEnv({ address: VIP, stateDir: be.stateDir, crypto: nobleProvider }), accessLog: (l) => access.push(l) },
    });
    const theLb = lb;
    return {
      ...be,
      running,
      lb,
      access,
      log,
      close,
      curl: (args, timeoutMs = 60_000) => inNs(be.ns, 'curl', args, timeoutMs),
      stats: () => (theLb.http('web')!.snapshot() as { http: HttpStats }).http,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

/** Bytes off…off+len of http-backend.mjs's pattern stream (the same formula as lb-env.ts's patternSha256). */
export function patternBytes(off: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) {
    const x = off + i;
    b[i] = (x * 31 + (x >>> 11) * 7 + (x >>> 19)) & 0xff;
  }
  return b;
}

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

/** The "%{http_code} %header{x-backend}" lines of a multi-URL curl, as [code, id] pairs. */
export function codesAndIds(stdout: string): Array<[string, string]> {
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => {
      const [code, id] = l.split(' ');
      return [code ?? '', id ?? ''];
    });
}

export { sleep, waitFor } from './lb-env.js';
