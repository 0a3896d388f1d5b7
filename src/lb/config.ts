// The load balancer's configuration: its JSON file format, validated into typed records with an
// error that names the bad field and its line, and the shorthand flags turned into the same shape.

import { formatIpv4Addr, parseIpv4Addr } from '../wire/addr.js';
import { ALGO_NAMES, type AlgoName } from './algo/types.js';
import { isPrime, MAGLEV_DEFAULT_TABLE_SIZE } from './algo/maglev.js';
import { parseJsonWithLines, type Json } from './json-lines.js';
import { validateHttpService, type HttpServiceConfig } from './http/http-config.js';

export type LbMode = 'nat' | 'proxy' | 'http';

export interface HealthConfig {
  type: 'tcp' | 'http';
  /** HTTP only: the path of the GET and the status that counts as healthy. */
  path: string;
  expect: number;
  /** Milliseconds between checks, and before a check counts as failed. */
  interval: number;
  timeout: number;
  /** Consecutive successes to come up, consecutive failures to go down. */
  rise: number;
  fall: number;
}

export interface BackendConfig {
  /** "198.18.1.11:8080" */
  key: string;
  addr: number;
  port: number;
  /** 0 drains the backend: no new flows, existing ones continue. */
  weight: number;
}

export interface ServiceConfig {
  name: string;
  /** "198.18.0.2:80" */
  vip: string;
  vipAddr: number;
  vipPort: number;
  mode: LbMode;
  algo: AlgoName;
  /** Maglev's lookup table size (prime). */
  tableSize: number;
  backends: BackendConfig[];
  health: HealthConfig | undefined;
  /**
   * Mode "http" only: the L7 service (listeners, pools, routes …; see http/http-config.ts). Then
   * vip/vipPort name the first listener, and algo/backends/health summarise the pools (every pool's
   * backends, the default pool's algorithm, no health): use `http.pools` to balance.
   */
  http?: HttpServiceConfig;
}

/** Connection-tracking limits and timeouts (ms) for nat mode. */
export interface ConntrackConfig {
  max: number;
  timeouts: { syn: number; established: number; fin: number; timeWait: number; close: number };
  /** SNAT source ports [first, last] on tunstack's address (kept below the TCP ephemeral range). */
  ports: [number, number];
}

export interface LbConfig {
  services: ServiceConfig[];
  conntrack: ConntrackConfig;
  /** The JSON stats/control endpoint's port on tunstack's address (0: none). */
  statsPort: number;
}

export const DEFAULT_CONNTRACK: ConntrackConfig = {
  max: 65536,
  // Linux nf_conntrack_tcp_timeout_*: syn_sent 120 s, established 5 days, fin_wait 120 s,
  // time_wait 120 s, close 10 s. tunstack's defaults are shorter: it is not a long-lived router.
  timeouts: { syn: 30_000, established: 3_600_000, fin: 60_000, timeWait: 30_000, close: 5_000 },
  ports: [20000, 48999],
};

export const DEFAULT_HEALTH: HealthConfig = { type: 'tcp', path: '/', expect: 200, interval: 2000, timeout: 1000, rise: 2, fall: 3 };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Lines = Map<string, number> | undefined;

/** Validates config values, throwing a ConfigError that names the source, line and field path. */
export class Checker {
  constructor(
    private readonly source: string,
    private readonly lines: Lines,
  ) {}

  fail(path: string, msg: string): never {
    // The line of the field itself, or of the closest enclosing value that has one.
    let line: number | undefined;
    for (let p = path; line === undefined; ) {
      line = this.lines?.get(p);
      if (p === '') break;
      const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
      p = cut < 0 ? '' : p.slice(0, cut);
    }
    const where = this.lines && line !== undefined ? `${this.source}:${line}: ` : `${this.source}: `;
    throw new ConfigError(`${where}${path || '(top level)'}: ${msg}`);
  }

  object(path: string, v: Json | undefined, allowed: readonly string[]): { [k: string]: Json } {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(path, `must be an object, not ${show(v)}`);
    for (const k of Object.keys(v)) {
      if (!allowed.includes(k)) this.fail(join(path, k), `unknown field (expected one of: ${allowed.join(', ')})`);
    }
    return v;
  }

  int(path: string, v: Json | undefined, dflt: number | undefined, min: number, max: number): number {
    if (v === undefined) {
      if (dflt === undefined) this.fail(path, 'is required');
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be a whole number from ${min} to ${max}, not ${show(v)}`);
    }
    return v;
  }

  oneOf<T extends string>(path: string, v: Json | undefined, dflt: T | undefined, options: readonly T[]): T {
    if (v === undefined) {
      if (dflt === undefined) this.fail(path, `is required (one of: ${options.join(', ')})`);
      return dflt;
    }
    if (typeof v !== 'string' || !(options as readonly string[]).includes(v)) this.fail(path, `must be one of ${options.join(', ')}, not ${show(v)}`);
    return v as T;
  }

  endpoint(path: string, v: Json | undefined): { addr: number; port: number; key: string } {
    if (typeof v !== 'string') this.fail(path, `must be "address:port" like "198.18.1.11:8080", not ${show(v)}`);
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d{1,5})$/.exec(v);
    const addr = m ? parseIpv4Addr(m[1]!) : undefined;
    const port = m ? Number(m[2]) : 0;
    if (!m || addr === undefined || port < 1 || port > 65535) this.fail(path, `must be "address:port" like "198.18.1.11:8080", not ${show(v)}`);
    return { addr, port, key: `${formatIpv4Addr(addr)}:${port}` };
  }

  bool(path: string, v: Json | undefined, dflt: boolean): boolean {
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, not ${show(v)}`);
    return v;
  }

  /** A non-empty string (optionally matching `pattern`, described by `what`). */
  str(path: string, v: Json | undefined, dflt?: string, pattern?: RegExp, what = 'a non-empty string'): string {
    if (v === undefined) {
      if (dflt === undefined) this.fail(path, `is required (${what})`);
      return dflt;
    }
    if (typeof v !== 'string' || v === '' || (pattern && !pattern.test(v))) this.fail(path, `must be ${what}, not ${show(v)}`);
    return v;
  }

  /** A JavaScript regular expression's source; a bad one is named with the engine's complaint. */
  regex(path: string, v: Json | undefined): string {
    if (typeof v !== 'string') this.fail(path, `must be a regular expression as a string, not ${show(v)}`);
    try {
      new RegExp(v);
    } catch (e) {
      this.fail(path, `not a valid regular expression ${show(v)}: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
    return v;
  }

  /** Backends: ["addr:port", "addr:port,weight", { "address": …, "weight": … }], no duplicates. */
  backends(path: string, bl: Json | undefined, weightSuffix: boolean): BackendConfig[] {
    if (!Array.isArray(bl) || bl.length === 0) this.fail(path, 'must be a non-empty array of backends');
    const seen = new Set<string>();
    return bl.map((b, j): BackendConfig => {
      const bp = `${path}[${j}]`;
      let bo: { [k: string]: Json };
      if (typeof b === 'string' && weightSuffix && b.includes(',')) {
        const [address, weight, extra] = b.split(',');
        if (extra !== undefined || !/^\d+$/.test(weight!)) this.fail(bp, `must be "address:port" or "address:port,weight", not ${show(b)}`);
        bo = { address: address!, weight: Number(weight) };
        const ep = this.endpoint(bp, bo.address);
        if (seen.has(ep.key)) this.fail(bp, `${ep.key} is listed twice`);
        seen.add(ep.key);
        return { ...ep, weight: this.int(bp, bo.weight, 1, 0, 1000) };
      }
      bo = typeof b === 'string' ? { address: b } : this.object(bp, b, ['address', 'weight']);
      const ep = this.endpoint(`${bp}.address`, bo.address);
      if (seen.has(ep.key)) this.fail(`${bp}.address`, `${ep.key} is listed twice`);
      seen.add(ep.key);
      return { ...ep, weight: this.int(`${bp}.weight`, bo.weight, 1, 0, 1000) };
    });
  }

  /** A health check block (undefined or null: no active checks). */
  health(hp: string, raw: Json | undefined): HealthConfig | undefined {
    if (raw === undefined || raw === null) return undefined;
    const h = this.object(hp, raw, ['type', 'path', 'expect', 'interval', 'timeout', 'rise', 'fall']);
    const type = this.oneOf<'tcp' | 'http'>(`${hp}.type`, h.type, 'tcp', ['tcp', 'http']);
    const path = h.path === undefined ? DEFAULT_HEALTH.path : typeof h.path === 'string' && h.path.startsWith('/') ? h.path : this.fail(`${hp}.path`, `must start with "/", not ${show(h.path)}`);
    const interval = this.int(`${hp}.interval`, h.interval, DEFAULT_HEALTH.interval, 10, 3_600_000);
    const timeout = this.int(`${hp}.timeout`, h.timeout, Math.min(DEFAULT_HEALTH.timeout, interval), 1, 3_600_000);
    if (timeout > interval) this.fail(`${hp}.timeout`, `must not exceed the interval (${interval} ms), not ${timeout}`);
    return {
      type,
      path,
      expect: this.int(`${hp}.expect`, h.expect, DEFAULT_HEALTH.expect, 100, 599),
      interval,
      timeout,
      rise: this.int(`${hp}.rise`, h.rise, DEFAULT_HEALTH.rise, 1, 100),
      fall: this.int(`${hp}.fall`, h.fall, DEFAULT_HEALTH.fall, 1, 100),
    };
  }

  /** An algorithm name and Maglev table size. */
  algo(p: string, algoRaw: Json | undefined, tableRaw: Json | undefined): { algo: AlgoName; tableSize: number } {
    const algo = this.oneOf<AlgoName>(`${p}.algo`, algoRaw, 'roundrobin', ALGO_NAMES);
    const tableSize = this.int(`${p}.tableSize`, tableRaw, MAGLEV_DEFAULT_TABLE_SIZE, 7, 1_000_003);
    if (!isPrime(tableSize)) this.fail(`${p}.tableSize`, `must be prime (Maglev §3.4), not ${tableSize}`);
    return { algo, tableSize };
  }
}

export const join = (path: string, k: string) => (path === '' ? k : `${path}.${k}`);
export const show = (v: Json | undefined): string => (v === undefined ? 'nothing' : JSON.stringify(v));

/** The fields of a mode "http" service (see http/http-config.ts). */
const HTTP_SERVICE_FIELDS = ['name', 'vip', 'mode', 'listen', 'pools', 'routes', 'defaultPool', 'sticky', 'cache', 'filter', 'timeouts', 'retry', 'accessLog'] as const;

/** Validates a parsed config value (from a file or from flags) into an LbConfig. */
export function validateConfig(raw: Json, source = 'config', lines?: Lines): LbConfig {
  const c: Checker = new Checker(source, lines);
  const top = c.object('', raw, ['services', 'conntrack', 'stats']);
  const servicesRaw = top.services;
  if (!Array.isArray(servicesRaw) || servicesRaw.length === 0) c.fail('services', 'must be a non-empty array of services');
  const services: ServiceConfig[] = [];
  const vips = new Set<string>();
  servicesRaw.forEach((s, i) => {
    const p = `services[${i}]`;
    const peek = s !== null && typeof s === 'object' && !Array.isArray(s) ? s.mode : undefined;
    if (peek === 'http') {
      for (const k of ['backends', 'algo', 'health', 'tableSize'] as const) {
        if (k in (s as { [k: string]: Json })) c.fail(`${p}.${k}`, `a mode "http" service gives ${k} per pool: "pools": { "default": { "backends": ["198.18.1.11:8080"], "algo": "roundrobin" } }`);
      }
      const o = c.object(p, s, HTTP_SERVICE_FIELDS);
      const name = o.name === undefined ? undefined : typeof o.name === 'string' && o.name !== '' ? o.name : c.fail(`${p}.name`, `must be a non-empty string, not ${show(o.name)}`);
      const svc = validateHttpService(c, p, o, name);
      svc.http!.listeners.forEach((l, k) => {
        const key = `${svc.http!.address}:${l.port}`;
        if (vips.has(key)) c.fail(o.listen === undefined ? `${p}.vip` : `${p}.listen[${k}].port`, `${key} is already used by another service`);
        vips.add(key);
      });
      services.push(svc);
      return;
    }
    const o = c.object(p, s, ['name', 'vip', 'mode', 'algo', 'tableSize', 'backends', 'health']);
    const vip = c.endpoint(`${p}.vip`, o.vip);
    if (vips.has(vip.key)) c.fail(`${p}.vip`, `${vip.key} is already used by another service`);
    vips.add(vip.key);
    const name = o.name === undefined ? vip.key : typeof o.name === 'string' && o.name !== '' ? o.name : c.fail(`${p}.name`, `must be a non-empty string, not ${show(o.name)}`);
    const mode = c.oneOf<LbMode>(`${p}.mode`, o.mode, 'nat', ['nat', 'proxy', 'http']);
    const { algo, tableSize } = c.algo(p, o.algo, o.tableSize);
    const backends = c.backends(`${p}.backends`, o.backends, false);
    const health = c.health(`${p}.health`, o.health);
    services.push({ name, vip: vip.key, vipAddr: vip.addr, vipPort: vip.port, mode, algo, tableSize, backends, health });
  });
  const ct = top.conntrack === undefined ? {} : c.object('conntrack', top.conntrack, ['max', 'timeouts', 'ports']);
  const d = DEFAULT_CONNTRACK;
  const to = ct.timeouts === undefined ? {} : c.object('conntrack.timeouts', ct.timeouts, ['syn', 'established', 'fin', 'timeWait', 'close']);
  const ms = (k: keyof ConntrackConfig['timeouts']) => c.int(`conntrack.timeouts.${k}`, to[k], d.timeouts[k], 1, 864_000_000);
  let ports = d.ports;
  if (ct.ports !== undefined) {
    const pr = ct.ports;
    if (!Array.isArray(pr) || pr.length !== 2) c.fail('conntrack.ports', `must be [first, last], not ${show(pr)}`);
    // Below 49152: the TCP layer's ephemeral ports (health checks, proxy connections) live above.
    const first = c.int('conntrack.ports[0]', pr[0], undefined, 1024, 49151);
    const last = c.int('conntrack.ports[1]', pr[1], undefined, first, 49151);
    ports = [first, last];
  }
  const conntrack: ConntrackConfig = {
    max: c.int('conntrack.max', ct.max, d.max, 1, 4_000_000),
    timeouts: { syn: ms('syn'), established: ms('established'), fin: ms('fin'), timeWait: ms('timeWait'), close: ms('close') },
    ports,
  };
  const st = top.stats === undefined ? {} : c.object('stats', top.stats, ['port']);
  const statsPort = c.int('stats.port', st.port, 0, 0, 65535);
  for (const s of services) {
    const own = s.http ? s.http.listeners.map((l) => l.port) : [s.vipPort];
    if (statsPort !== 0 && own.includes(statsPort)) c.fail('stats.port', `${statsPort} is also a service port (${s.http ? `${s.http.address}:${statsPort}` : s.vip})`);
    if (s.mode === 'nat' && s.vipPort >= ports[0] && s.vipPort <= ports[1]) {
      c.fail(`services[${services.indexOf(s)}].vip`, `port ${s.vipPort} lies in the SNAT port range ${ports[0]}-${ports[1]}`);
    }
    // An L7 listener on tunstack's address shares its ports with nat's SNAT source ports.
    if (s.http && services.some((x) => x.mode === 'nat')) {
      s.http.listeners.forEach((l, k) => {
        if (l.port >= ports[0] && l.port <= ports[1]) c.fail(`services[${services.indexOf(s)}].listen[${k}].port`, `port ${l.port} lies in the SNAT port range ${ports[0]}-${ports[1]} used by the nat services`);
      });
    }
  }
  return { services, conntrack, statsPort };
}

/** Parses and validates a config file's text; errors name the file, line and field. */
export function parseConfigText(text: string, source: string): LbConfig {
  const parsed = parseJsonWithLines(text);
  if (!parsed.ok) throw new ConfigError(`${source}:${parsed.line}: not valid JSON: ${parsed.error}`);
  return validateConfig(parsed.value, source, parsed.lines);
}

export interface LbFlags {
  vip?: string;
  mode?: string;
  algo?: string;
  backend?: string[];
  health?: string;
  interval?: string;
  timeout?: string;
  rise?: string;
  fall?: string;
  statsPort?: string;
}

/**
 * The shorthand flags as a config value: --vip A:P --mode M --algo X --backend A:P[,weight] …
 * --health tcp | http[:/path[:status]]. Validated by validateConfig like a file. With --mode http
 * the backends make one pool "default" (routes, TLS listeners … need a config file).
 */
export function configFromFlags(f: LbFlags): LbConfig {
  const num = (name: string, v: string | undefined): Json | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new ConfigError(`--${name} wants a whole number, not "${v}"`);
    return Number(v);
  };
  const backends: Json[] = (f.backend ?? []).map((b) => {
    const [address, weight, extra] = b.split(',');
    if (extra !== undefined) throw new ConfigError(`--backend wants ADDR:PORT[,WEIGHT], not "${b}"`);
    const o: { [k: string]: Json } = { address: address! };
    if (weight !== undefined) o.weight = num('backend weight', weight) ?? 1;
    return o;
  });
  if (f.vip === undefined) throw new ConfigError('give --config FILE, or --vip ADDR:PORT with one or more --backend ADDR:PORT[,WEIGHT]');
  if (backends.length === 0) throw new ConfigError('--vip needs one or more --backend ADDR:PORT[,WEIGHT]');
  const service: { [k: string]: Json } = { vip: f.vip, backends };
  if (f.mode !== undefined) service.mode = f.mode;
  if (f.algo !== undefined) service.algo = f.algo;
  if (f.health !== undefined) {
    const m = /^(tcp|http)(?::(\/[^:]*))?(?::(\d{3}))?$/.exec(f.health);
    if (!m) throw new ConfigError(`--health wants tcp or http[:/path[:status]], not "${f.health}"`);
    const h: { [k: string]: Json } = { type: m[1]! };
    if (m[2] !== undefined) h.path = m[2];
    if (m[3] !== undefined) h.expect = Number(m[3]);
    for (const k of ['interval', 'timeout', 'rise', 'fall'] as const) {
      const v = num(k, f[k]);
      if (v !== undefined) h[k] = v;
    }
    service.health = h;
  }
  // --mode http: the backends form one pool, "default", that takes every request.
  const svc: { [k: string]: Json } =
    f.mode === 'http' ? { vip: f.vip, mode: 'http', pools: { default: Object.fromEntries(Object.entries(service).filter(([k]) => k !== 'vip' && k !== 'mode')) } } : service;
  const raw: { [k: string]: Json } = { services: [svc] };
  const sp = num('stats-port', f.statsPort);
  if (sp !== undefined) raw.stats = { port: sp };
  return validateConfig(raw, 'flags');
}
