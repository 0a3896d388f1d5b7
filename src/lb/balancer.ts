// The running load balancer on a Stack: one pool per virtual service, the nat engine hooked in front
// of the IP layer (nat mode), a proxy listening on the VIP (proxy mode) or an HTTP reverse proxy with
// named pools (http mode), health checkers, a JSON stats/control endpoint on tunstack's address, and
// reload without dropping established flows.

import { randomInt } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { Stack } from '../socket/stack.js';
import type { TcpServer } from '../socket/tcp-server.js';
import { parseIpv4Addr } from '../wire/addr.js';
import { ConfigError, type LbConfig } from './config.js';
import { HealthChecker } from './health.js';
import { NatEngine } from './nat.js';
import { endpointString, Pool } from './pool.js';
import { ProxyService } from './proxy.js';
import { HttpProxyService, type HttpProxyEnv } from './http/proxy-http.js';

export interface LoadBalancerOptions {
  /** Backend state changes and reloads, one line each. */
  log?: (line: string) => void;
  /** Flow creation and expiry with the decision taken, one line each. */
  trace?: ((line: string) => void) | undefined;
  /** Mode http: the access log, TLS certificates for the listeners, trusted roots for re-encrypted pools. */
  http?: Omit<HttpProxyEnv, 'log'>;
}

interface ServiceRuntime {
  pool: Pool;
  proxy: ProxyService | undefined;
  health: HealthChecker;
}

export class LoadBalancer {
  readonly nat: NatEngine;
  private services = new Map<string, ServiceRuntime>();
  /** Mode http services, by name. */
  private httpServices = new Map<string, HttpProxyService>();
  private readonly httpEnv: HttpProxyEnv;
  private readonly log: (line: string) => void;
  private readonly trace: ((line: string) => void) | undefined;
  private natTimer: NodeJS.Timeout | undefined;
  private natDeadline: number | undefined;
  private stats: { http: HttpServer; tcp: TcpServer; port: number } | undefined;
  private closed = false;
  reloads = 0;

  constructor(
    private readonly stack: Stack,
    config: LbConfig,
    opts: LoadBalancerOptions = {},
  ) {
    this.log = opts.log ?? (() => {});
    this.trace = opts.trace;
    this.httpEnv = { ...opts.http, log: this.log };
    const snat = parseIpv4Addr(stack.address)!;
    LoadBalancer.check(stack, config);
    this.nat = new NatEngine({
      snatAddr: snat,
      conntrack: config.conntrack,
      // A random first SNAT port: a restarted balancer does not start over on the ports whose
      // connections the backends may still hold in TIME-WAIT.
      firstPort: randomInt(config.conntrack.ports[0], config.conntrack.ports[1] + 1),
      transmit: (p) => stack.host.sendRaw(p),
      trace: this.trace,
    });
    stack.host.setInterceptor((now, ip, bytes) => {
      if (!this.nat.handlePacket(now, ip, bytes)) return false;
      this.armNatTimer();
      return true;
    });
    this.apply(config);
  }

  /** What a config needs from this stack: a proxy or http VIP must be tunstack's own address. */
  static check(stack: Stack, config: LbConfig): void {
    for (const s of config.services) {
      if ((s.mode === 'proxy' || s.mode === 'http') && s.vipAddr !== parseIpv4Addr(stack.address)) {
        throw new ConfigError(`service ${s.name}: a ${s.mode}-mode VIP must be tunstack's address ${stack.address}, not ${s.vip}`);
      }
    }
  }

  /** SIGHUP: applies a new config; pools, backend state, counters and tracked flows carry over. */
  reload(config: LbConfig): void {
    LoadBalancer.check(this.stack, config);
    this.apply(config);
    this.reloads++;
    this.log(`reloaded: ${config.services.map((s) => `${s.name} ${s.mode} ${s.algo} [${s.backends.map((b) => `${b.key}${b.weight !== 1 ? `,${b.weight}` : ''}`).join(' ')}]`).join('; ')}`);
  }

  private apply(config: LbConfig): void {
    this.nat.conntrack.reconfigure(config.conntrack);
    const next = new Map<string, ServiceRuntime>();
    const httpWanted = new Set(config.services.filter((s) => s.mode === 'http').map((s) => s.name));
    for (const [name, gone] of this.httpServices) {
      if (httpWanted.has(name)) continue;
      gone.stopListening();
      this.httpServices.delete(name);
      this.log(`service ${name} removed; requests in progress finish`);
      // Backend connections and health checks end once the last requests are answered (bounded).
      setTimeout(() => gone.close(), 30_000).unref();
    }
    for (const svc of config.services) {
      if (svc.mode === 'http') continue;
      const old = this.services.get(svc.vip);
      if (old) {
        this.services.delete(svc.vip);
        old.pool.reconfigure(svc);
        if (svc.mode === 'proxy' && !old.proxy) old.proxy = new ProxyService(this.stack, old.pool, this.trace);
        if (svc.mode !== 'proxy' && old.proxy) {
          old.proxy.stopListening();
          old.proxy = undefined;
        }
        old.health.sync();
        next.set(svc.vip, old);
        continue;
      }
      const pool = new Pool(svc, this.log);
      next.set(svc.vip, {
        pool,
        proxy: svc.mode === 'proxy' ? new ProxyService(this.stack, pool, this.trace) : undefined,
        health: new HealthChecker(this.stack, pool),
      });
    }
    // Services gone from the config: no new flows; flows in progress finish on their own.
    for (const gone of this.services.values()) {
      gone.proxy?.stopListening();
      gone.health.close();
      this.log(`service ${gone.pool.name} removed; its ${gone.pool.backends.reduce((a, b) => a + b.active, 0)} flows in progress continue`);
    }
    this.services = next;
    for (const svc of config.services) {
      if (svc.mode !== 'http') continue;
      const old = this.httpServices.get(svc.name);
      if (old) old.reconfigure(svc);
      else this.httpServices.set(svc.name, new HttpProxyService(this.stack, svc, this.httpEnv));
    }
    this.nat.setServices([...next.values()].filter((s) => s.pool.config.mode === 'nat').map((s) => s.pool));
    if (this.stats?.port !== config.statsPort) {
      this.stopStats();
      if (config.statsPort > 0) this.startStats(config.statsPort);
    }
  }

  /** Drains (on) or undrains a backend by "addr:port" in every service that has it. */
  drain(key: string, on: boolean): boolean {
    let found = false;
    for (const s of this.services.values()) found = s.pool.drain(key, on) || found;
    for (const h of this.httpServices.values()) found = h.drain(key, on) || found;
    return found;
  }

  /** Every pool: one per L4 service, then the named pools of each http service. */
  pools(): Pool[] {
    return [...[...this.services.values()].map((s) => s.pool), ...[...this.httpServices.values()].flatMap((h) => h.poolList())];
  }

  /** The mode http services, by name. */
  http(name: string): HttpProxyService | undefined {
    return this.httpServices.get(name);
  }

  /** Everything counted, as one JSON-able object. */
  snapshot(): Record<string, unknown> {
    const ct = this.nat.conntrack;
    return {
      services: [...this.services.values()].map((s): Record<string, unknown> => ({
        ...s.pool.stats(),
        ...(s.proxy ? { proxy: { ...s.proxy.counters, active: s.proxy.activeFlows } } : {}),
      })).concat([...this.httpServices].map(([name, h]) => ({ service: name, mode: 'http', ...h.snapshot() }))),
      conntrack: { size: ct.size, max: ct.max, ...ct.counters },
      nat: this.nat.counters,
      reloads: this.reloads,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.natTimer) clearTimeout(this.natTimer);
    this.stack.host.setInterceptor(undefined);
    for (const s of this.services.values()) {
      s.health.close();
      s.proxy?.close();
    }
    for (const h of this.httpServices.values()) h.close();
    this.stopStats();
  }

  // ------------------------------------------------------------------ conntrack expiry timer

  private armNatTimer(): void {
    const deadline = this.nat.pollTimeout();
    if (deadline === undefined || this.closed) return;
    if (this.natTimer && this.natDeadline !== undefined && this.natDeadline <= deadline) return;
    if (this.natTimer) clearTimeout(this.natTimer);
    this.natDeadline = deadline;
    this.natTimer = setTimeout(() => {
      this.natTimer = undefined;
      this.natDeadline = undefined;
      this.nat.handleTimeout(this.stack.now());
      this.armNatTimer();
    }, Math.max(0, Math.ceil(deadline - this.stack.now())));
    this.natTimer.unref();
  }

  // ------------------------------------------------------------------ stats / control endpoint

  /**
   * HTTP on tunstack's address: GET /stats (JSON), GET /flows (the conntrack table),
   * POST /drain?backend=A:P and POST /undrain?backend=A:P.
   */
  private startStats(port: number): void {
    const http = createHttpServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://lb');
      const json = (code: number, body: unknown) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body) + '\n');
      };
      if (req.method === 'GET' && url.pathname === '/stats') return json(200, this.snapshot());
      if (req.method === 'GET' && url.pathname === '/flows') {
        return json(200, [...this.nat.conntrack.flows()].map((f) => ({ client: endpointString(f.clientAddr, f.clientPort), backend: f.backend.key, state: f.state, natPort: f.natPort })));
      }
      if (req.method === 'POST' && (url.pathname === '/drain' || url.pathname === '/undrain')) {
        const key = url.searchParams.get('backend') ?? '';
        const ok = this.drain(key, url.pathname === '/drain');
        return json(ok ? 200 : 404, ok ? { ok: true, backend: key, drained: url.pathname === '/drain' } : { error: `no backend ${key}` });
      }
      json(404, { error: 'GET /stats, GET /flows, POST /drain?backend=A:P, POST /undrain?backend=A:P' });
    });
    const tcp = this.stack.createServer((socket) => http.emit('connection', socket));
    tcp.listen(port);
    this.stats = { http, tcp, port };
  }

  private stopStats(): void {
    if (!this.stats) return;
    this.stats.tcp.close();
    this.stats.http.close();
    this.stats = undefined;
  }
}
