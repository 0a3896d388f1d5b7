// mode http (like HAProxy's `mode http`): an HTTP/1.1 reverse proxy with node:http servers on tunstack's
// TCP (and TLS 1.3: SSL offloading) on the VIP. Per request: filter → route → pool → backend (sticky
// cookie, else the pool's algorithm) → cache → a pooled keep-alive connection to the backend (plain or
// re-encrypted), bodies streamed with backpressure both ways; one retry on another backend for
// idempotent requests whose connection failed before any response byte; 502/503/504 with a clear body.

import { createServer as createHttpServer, request as httpRequest, type ClientRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { Stack } from '../../socket/stack.js';
import { createTlsServer, type TlsServer } from '../../socket/tls-server.js';
import type { TlsClientOptions } from '../../socket/tls-connect.js';
import type { TlsSocket } from '../../socket/tls-socket.js';
import type { CryptoProvider } from '../../tls/crypto/provider.js';
import type { ServerConfig } from '../../tls/engine-api.js';
import { formatIpv4Addr, parseIpv4Addr } from '../../wire/addr.js';
import type { ServiceConfig } from '../config.js';
import { HealthChecker } from '../health.js';
import { type Backend, Pool } from '../pool.js';
import { formatAccessLine, HttpCounters, type AccessEntry } from './access-log.js';
import { BackendAgent } from './backend-agent.js';
import { HttpCache } from './cache.js';
import { RequestFilter, requestHeadBytes } from './filter.js';
import { forwardRequestHeaders, forwardResponseHeaders } from './forwarding.js';
import type { HttpPoolConfig, HttpPoolTls, HttpServiceConfig } from './http-config.js';
import { originForm, requestView, Router, type RequestView } from './routes.js';
import { StickyTable } from './sticky.js';
import { BodyFeed, flatten, parseContentLength } from './proxy-body.js';

/** RFC 9110 §9.2.2: idempotent methods (a request that may be repeated with the same effect). */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']);
/** node:http's own header limit sits above the filter's, so oversized headers reach the filter's 413. */
const SERVER_MAX_HEADER_SIZE = 64 * 1024;

export interface HttpProxyEnv {
  /** Backend state changes and config notes. */
  log: (line: string) => void;
  /** One line per request, when the access log is on. */
  accessLog?: ((line: string) => void) | undefined;
  /** A TLS listener's configuration from its certificate files (none: a certificate for the VIP from the local CA). */
  tlsServerConfig?: ((certs: { cert: string; key: string }[]) => ServerConfig) | undefined;
  /** Trusted roots (PEM text) for re-encrypted backend legs without a `cacert` of their own (the local CA). */
  backendCa?: (() => string) | undefined;
  /** Reads a pool's `cacert` file (PEM text). */
  readCa?: ((path: string) => string) | undefined;
  /** TLS crypto for the backend legs. */
  crypto?: CryptoProvider | undefined;
  /** Every TLS secret (client and backend legs) as a key log line. */
  onKeylog?: ((line: Buffer) => void) | undefined;
}

/** One named pool: the shared Pool (algorithm, state, health) plus a keep-alive agent per backend. */
interface PoolRuntime {
  cfg: HttpPoolConfig;
  pool: Pool;
  health: HealthChecker;
  agents: Map<Backend, BackendAgent>;
}

export interface HttpProxyCounters {
  requests: number;
  responses: number;
  retries: number;
  /** Answered by the proxy itself. */
  badGateway: number;
  noBackend: number;
  gatewayTimeout: number;
  denied: number;
  notRouted: number;
  clientAborts: number;
  backendAborts: number;
  tlsHandshakeFailures: number;
}

type Proto = 'http' | 'https';

interface Listening {
  proto: Proto;
  port: number;
  server: HttpServer;
  /** The TLS certificates' identity, to tell a changed listener on reload. */
  certs: string;
  close(): void;
  tls?: TlsServer;
}

export class HttpProxyService {
  readonly counters: HttpProxyCounters = {
    requests: 0,
    responses: 0,
    retries: 0,
    badGateway: 0,
    noBackend: 0,
    gatewayTimeout: 0,
    denied: 0,
    notRouted: 0,
    clientAborts: 0,
    backendAborts: 0,
    tlsHandshakeFailures: 0,
  };
  private cfg!: HttpServiceConfig;
  private svc!: ServiceConfig;
  private pools = new Map<string, PoolRuntime>();
  private router!: Router;
  private filter!: RequestFilter;
  private cache: HttpCache | undefined;
  private readonly sticky = new StickyTable(randomBytes(16).toString('hex'));
  private readonly routeStats = new Map<string, HttpCounters>();
  private readonly backendStats = new Map<string, HttpCounters>();
  /** Listeners by port: plain HTTP on a TcpServer, HTTPS on a TlsServer over it. */
  private listeners = new Map<number, Listening>();
  private readonly inFlight = new Set<ClientRequest>();
  private readonly clients = new Set<Duplex>();

  constructor(
    private readonly stack: Stack,
    svc: ServiceConfig,
    private readonly env: HttpProxyEnv,
  ) {
    this.reconfigure(svc);
  }

  /** The pools, in config order. */
  poolList(): Pool[] {
    return [...this.pools.values()].map((p) => p.pool);
  }

  /** Applies a (re)loaded service config: pools keep their backends' state and counters by name. */
  reconfigure(svc: ServiceConfig): void {
    const cfg = svc.http;
    if (!cfg) throw new Error(`service ${svc.name}: mode http without an http section`);
    this.svc = svc;
    this.cfg = cfg;
    const next = new Map<string, PoolRuntime>();
    for (const pc of cfg.pools) {
      const serviceLike = pc.service;
      const old = this.pools.get(pc.name);
      if (old) {
        this.pools.delete(pc.name);
        old.cfg = pc;
        old.pool.reconfigure(serviceLike);
        old.health.sync();
        this.syncAgents(old);
        next.set(pc.name, old);
        continue;
      }
      const pool = new Pool(serviceLike, this.env.log);
      if (pc.tls && pc.health?.type === 'http') {
        this.env.log(`pool ${pc.name}: re-encrypted (tls) with http health checks, which speak plain HTTP and will fail: use "type": "tcp"`);
      }
      const rt: PoolRuntime = { cfg: pc, pool, health: new HealthChecker(this.stack, pool), agents: new Map() };
      this.syncAgents(rt);
      next.set(pc.name, rt);
    }
    for (const gone of this.pools.values()) {
      // A pool gone from the config: no checks, no new requests; those in flight finish.
      gone.health.close();
      for (const a of gone.agents.values()) a.retire();
    }
    this.pools = next;
    this.router = new Router(cfg.routes, cfg.defaultPool);
    this.filter = new RequestFilter(cfg.filter.rules, { builtin: cfg.filter.builtin, maxHeaderBytes: cfg.filter.maxHeaderBytes });
    // On reload the cache starts empty (its entries are only an optimisation; the rules may have changed).
    this.cache = cfg.cache ? new HttpCache(cfg.cache) : undefined;
    this.sticky.set([...next.values()].flatMap((p) => p.pool.backends.map((b) => b.key)));
    this.syncListeners();
  }

  private syncAgents(rt: PoolRuntime): void {
    const want = new Set(rt.pool.backends);
    for (const [b, a] of rt.agents) {
      if (!want.has(b)) {
        // A removed backend: its idle connections close; requests in flight finish on theirs.
        a.retire();
        rt.agents.delete(b);
      }
    }
    const t = this.cfg.timeouts;
    for (const b of rt.pool.backends) {
      const existing = rt.agents.get(b);
      const tlsKey = JSON.stringify(rt.cfg.tls ?? null);
      const same = existing && existing.tlsKey === tlsKey && existing.opts.maxIdle === rt.cfg.maxIdlePerBackend && existing.opts.maxTotal === rt.cfg.maxPerBackend && existing.opts.idleMs === t.idle;
      if (same) continue;
      // Changed settings: a new agent for new requests; the old one's idle connections close, busy ones finish.
      existing?.retire();
      const agent = new BackendAgent(this.stack, {
          addr: formatIpv4Addr(b.addr),
          port: b.port,
          maxIdle: rt.cfg.maxIdlePerBackend,
          maxTotal: rt.cfg.maxPerBackend,
          idleMs: t.idle,
          tls: rt.cfg.tls ? this.backendTls(rt.cfg.tls) : undefined,
          onKeylog: this.env.onKeylog,
      });
      agent.tlsKey = tlsKey;
      rt.agents.set(b, agent);
    }
  }

  /** The TLS client options of a re-encrypting pool: verified against its cacert, else the local CA. */
  private backendTls(t: HttpPoolTls): Omit<TlsClientOptions, 'host'> {
    const base = { ...(t.servername !== undefined ? { servername: t.servername } : {}), ...(this.env.crypto ? { crypto: this.env.crypto } : {}) };
    if (t.insecure) return { ...base, insecure: true };
    const ca = t.cacert !== undefined ? this.env.readCa?.(t.cacert) : this.env.backendCa?.();
    return ca !== undefined ? { ...base, ca } : base;
  }

  private closePool(rt: PoolRuntime): void {
    rt.health.close();
    for (const a of rt.agents.values()) a.destroy();
  }

  // ------------------------------------------------------------------ listeners

  private syncListeners(): void {
    const want = new Map(this.cfg.listeners.map((l) => [l.port, l] as const));
    for (const [port, l] of this.listeners) {
      const w = want.get(port);
      if (!w || (w.tls ? 'https' : 'http') !== l.proto || JSON.stringify(w.certs) !== l.certs) {
        l.close();
        this.listeners.delete(port);
      }
    }
    for (const l of this.cfg.listeners) {
      const kept = this.listeners.get(l.port);
      if (kept) {
        this.applyTimeouts(kept.server);
        continue;
      }
      this.listeners.set(l.port, l.tls ? this.listenHttps(l.port, l.certs) : this.listenHttp(l.port));
    }
  }

  private listenHttp(port: number): Listening {
    const server = this.makeServer('http');
    const tcp = this.stack.createServer((socket) => {
      // Responses go out as they come (head, then body chunks): Nagle would hold back the small ones.
      socket.setNoDelay(true);
      this.trackClient(socket);
      server.emit('connection', socket);
    });
    tcp.listen(port, 1024);
    return { proto: 'http', port, server, certs: '[]', close: () => (tcp.close(), server.close()) };
  }

  /** SSL offloading: TLS 1.3 terminated here (tunstack's TLS server), plain HTTP to node:http. */
  private listenHttps(port: number, certs: { cert: string; key: string }[]): Listening {
    if (!this.env.tlsServerConfig) throw new Error(`service ${this.svc.name}: a TLS listener needs a TLS configuration`);
    const server = this.makeServer('https');
    const tls = createTlsServer(this.stack, this.env.tlsServerConfig(certs), (socket: TlsSocket) => server.emit('connection', socket), { handshakeTimeoutMs: 10_000 });
    tls.on('connection', (t: Duplex) => this.trackClient(t));
    if (this.env.onKeylog) tls.on('keylog', this.env.onKeylog);
    tls.on('error', (e: Error) => this.env.log(`https listener on port ${port}: ${e.message}`));
    tls.on('tlsClientError', () => this.counters.tlsHandshakeFailures++);
    tls.listen(port);
    return { proto: 'https', port, server, tls, certs: JSON.stringify(certs), close: () => (tls.close(), server.close()) };
  }

  private trackClient(s: Duplex): void {
    this.clients.add(s);
    s.once('close', () => this.clients.delete(s));
  }

  private makeServer(proto: Proto): HttpServer {
    const server = createHttpServer({ maxHeaderSize: SERVER_MAX_HEADER_SIZE }, (req, res) => {
      try {
        this.handle(req, res, proto);
      } catch (e) {
        // A safety net: no request, however odd, takes the balancer down.
        this.env.log(`internal error on "${(req.method ?? '?').slice(0, 16)} ${(req.url ?? '').slice(0, 200)}": ${(e as Error).message}`);
        if (!res.headersSent) {
          res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
          res.end('500 Internal Server Error: the balancer could not handle this request\n');
        } else res.destroy();
      }
    });
    this.applyTimeouts(server);
    // A malformed request (node:http's parser) gets a 400 and the connection closes; never a crash.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      if (socket.writable && !(socket as { _httpMessage?: unknown })._httpMessage) {
        const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${status.length + 1}\r\n\r\n${status}\n`);
      } else socket.destroy();
    });
    return server;
  }

  /** The service's timeouts on a listener's server (again on reload: they apply to new requests). */
  private applyTimeouts(server: HttpServer): void {
    const t = this.cfg.timeouts;
    // RFC 9112 §9.3: persistent connections; a client connection with no request in progress is
    // closed after `idle` ms. While a request is in progress its connection may stay quiet while the
    // backend works (up to the response timeout); past both, a silent client is dropped.
    server.keepAliveTimeout = t.idle;
    server.timeout = Math.max(t.idle, t.response + 1000);
    server.headersTimeout = Math.max(t.idle, 1000) + 1000;
    server.requestTimeout = 0; // bodies may stream for as long as they keep moving (the idle timeout)
  }

  /** Stops accepting; requests in progress finish. */
  stopListening(): void {
    for (const l of this.listeners.values()) l.close();
    this.listeners.clear();
  }

  /** Stops everything: listeners, health checks, client and backend connections. */
  close(): void {
    this.stopListening();
    for (const r of this.inFlight) r.destroy();
    for (const c of this.clients) c.destroy();
    for (const p of this.pools.values()) this.closePool(p);
  }

  // ------------------------------------------------------------------ one request

  private handle(req: IncomingMessage, res: ServerResponse, proto: Proto): void {
    const t0 = performance.now();
    this.counters.requests++;
    const sock = req.socket as unknown as { remoteAddress?: string; remotePort?: number; localPort?: number };
    const localPort = sock.localPort ?? 0;
    const clientAddr = sock.remoteAddress ?? '0.0.0.0';
    const clientPort = sock.remotePort ?? 0;
    const method = req.method ?? 'GET';
    const target = req.url ?? '/';
    // The scheme is the listener's: part of the cache key (an http answer is not served to https).
    const view = requestView(method, target, req.headers, { scheme: proto });
    const entry: AccessEntry = {
      client: `${clientAddr}:${clientPort}`,
      proto,
      method,
      target,
      httpVersion: req.httpVersion,
      route: '-',
      backend: '-',
      status: 0,
      bytesIn: 0,
      bytesOut: 0,
      ttfbMs: undefined,
      totalMs: 0,
      cache: '-',
      filter: 'allow',
      retries: 0,
      note: undefined,
    };
    let finished = false;
    let backendKey: string | undefined;
    let bodyFeed: BodyFeed | undefined;
    const finish = () => {
      if (finished) return;
      finished = true;
      if (bodyFeed) entry.bytesIn = bodyFeed.total;
      entry.totalMs = performance.now() - t0;
      if (entry.status === 0 && res.headersSent) entry.status = res.statusCode;
      this.record(entry, backendKey);
    };
    res.once('finish', finish);
    res.once('close', () => {
      if (!res.writableFinished) {
        this.counters.clientAborts++;
        entry.note ??= 'client closed before the response was complete';
      }
      finish();
    });

    // 1. The request filter, before anything reaches a backend.
    const contentLength = parseContentLength(req.headers['content-length']);
    const headerBytes = requestHeadBytes(method, target, req.rawHeaders, req.httpVersion);
    const verdict = this.filter.check(view, { headerBytes, contentLength });
    if (verdict.action === 'deny') {
      this.counters.denied++;
      entry.filter = `deny:${verdict.rule}`;
      this.env.log(`filter: ${entry.client} "${method} ${target.slice(0, 200)}" denied by rule ${verdict.rule} (${verdict.status})`);
      const why = verdict.status === 413 ? 'Content Too Large' : 'Forbidden';
      this.reply(req, res, entry, verdict.status, `${verdict.status} ${why}: the request was refused by filter rule ${verdict.rule}\n`, true);
      return;
    }
    if (verdict.rule !== undefined) entry.filter = `allow:${verdict.rule}`;

    // 2. Route to a pool.
    const routed = this.router.route(view);
    const rt = routed ? this.pools.get(routed.pool) : undefined;
    if (!routed || !rt) {
      this.counters.notRouted++;
      entry.route = routed?.rule ?? '(none)';
      this.reply(req, res, entry, 404, `404 Not Found: no route matches ${view.host || '(no host)'}${view.path} and there is no default pool\n`, true);
      return;
    }
    entry.route = routed.rule;
    // RFC 9112 §3.2: the backend gets origin-form ("/path?query", "*" for OPTIONS), also for a client's
    // absolute-form; an authority-form (CONNECT) target is not something a reverse proxy forwards.
    const upstreamTarget = originForm(view);
    if (upstreamTarget === undefined) {
      this.reply(req, res, entry, method === 'CONNECT' ? 405 : 400, `${method === 'CONNECT' ? '405 Method Not Allowed: CONNECT is not forwarded' : '400 Bad Request: the request-target is not a path'}\n`, true);
      return;
    }

    // 3. The cache (GET and HEAD).
    const cache = this.cache;
    if (cache && (method === 'GET' || method === 'HEAD')) {
      const hit = cache.lookup(view, this.stack.now());
      if (hit) {
        entry.cache = 'HIT';
        entry.status = hit.status;
        entry.ttfbMs = performance.now() - t0;
        req.resume();
        res.writeHead(hit.status, flatten([...hit.headers, ['X-Cache', 'HIT']]));
        if (method === 'HEAD') res.end();
        else {
          entry.bytesOut = hit.body.length;
          res.end(hit.body);
        }
        return;
      }
      entry.cache = 'MISS';
    }

    // 4. Forward, with one retry on another backend for idempotent requests.
    const body = new BodyFeed(req);
    bodyFeed = body;
    const tried = new Set<Backend>();
    const stickyCfg = this.cfg.sticky;
    const cookieBackend = stickyCfg ? this.sticky.backendFor(view.cookie(stickyCfg.name)) : undefined;
    const srcAddr = parseIpv4Addr(clientAddr) ?? 0;
    const retryOn = this.cfg.retry && IDEMPOTENT.has(method);

    const attempt = (n: number, lastError: string | undefined): void => {
      if (res.destroyed || res.headersSent) return;
      const backend = this.choose(rt, tried, cookieBackend, srcAddr, clientPort);
      if (!backend) {
        body.abandon();
        if (n === 0) {
          this.counters.noBackend++;
          this.reply(req, res, entry, 503, `503 Service Unavailable: no backend of pool ${rt.cfg.name} is up\n`, true);
        } else {
          this.counters.badGateway++;
          this.reply(req, res, entry, 502, `502 Bad Gateway: backend failed (${lastError ?? 'unknown error'}) and no other backend of pool ${rt.cfg.name} is up\n`, true);
        }
        return;
      }
      tried.add(backend);
      backendKey = backend.key;
      entry.backend = backend.key;
      const agent = rt.agents.get(backend)!;
      const headers = forwardRequestHeaders(req.headers, req.rawHeaders, {
        clientAddr,
        clientPort,
        proto,
        vip: `${this.cfg.address}:${localPort}`,
        host: req.headers.host,
      });
      const absolute = !target.startsWith('/') && target !== '*';
      if (absolute && view.host !== '') {
        // RFC 9112 §3.2.2: with an absolute-form target, its authority replaces any received Host.
        const authority = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/.exec(target)?.[1] ?? view.host;
        for (let i = headers.length - 1; i >= 0; i--) if (headers[i]![0].toLowerCase() === 'host') headers.splice(i, 1);
        headers.push(['Host', authority]);
      } else if (req.headers.host === undefined) headers.push(['Host', backend.key]);
      const t = this.cfg.timeouts;
      let connected = false;
      let gotResponse = false;
      let failed = false;
      let ureq: ClientRequest;
      try {
        ureq = httpRequest({ agent, host: formatIpv4Addr(backend.addr), port: backend.port, method, path: upstreamTarget, headers: flatten(headers), setHost: false });
      } catch (e) {
        // node:http parsed it but will not send it on (e.g. a character it refuses in the target).
        rt.pool.release(backend);
        body.abandon();
        entry.note = (e as Error).message;
        this.reply(req, res, entry, 400, `400 Bad Request: the request cannot be forwarded (${(e as NodeJS.ErrnoException).code ?? 'invalid'})\n`, true);
        return;
      }
      this.inFlight.add(ureq);
      const release = () => {
        this.inFlight.delete(ureq);
        rt.pool.release(backend);
      };
      let released = false;
      const releaseOnce = () => {
        if (released) return;
        released = true;
        release();
      };
      // Response timeout: from dispatch to the response head (queueing, connect, the backend's work).
      const responseTimer = setTimeout(() => fail('ETIMEDOUT_RESPONSE', `no response within ${t.response} ms`), t.response);
      let connectTimer: NodeJS.Timeout | undefined;
      const fail = (code: string, message: string) => {
        if (failed || gotResponse) return;
        failed = true;
        clearTimeout(responseTimer);
        if (connectTimer) clearTimeout(connectTimer);
        ureq.destroy();
        releaseOnce();
        const connectPhase = !connected;
        if (connectPhase && code !== 'ECLIENTGONE') rt.pool.connectResult(backend, false, message);
        if (res.destroyed || code === 'ECLIENTGONE') {
          body.abandon();
          entry.note ??= 'client closed before the response';
          return;
        }
        if (code === 'ETIMEDOUT_RESPONSE') {
          body.abandon();
          this.counters.gatewayTimeout++;
          entry.note = `backend ${backend.key}: ${message}`;
          this.reply(req, res, entry, 504, `504 Gateway Timeout: backend ${backend.key} sent no response within ${t.response} ms\n`, true);
          return;
        }
        // RFC 9110 §9.2.2: an idempotent request may be repeated when the connection failed before
        // any response byte; once, on another backend, if its body (if any) could be replayed.
        if (retryOn && n === 0 && body.replayable && !res.destroyed) {
          this.counters.retries++;
          entry.retries++;
          this.env.log(`retry: ${method} ${target.slice(0, 200)} on another backend of pool ${rt.cfg.name}: ${backend.key} ${message}`);
          attempt(1, `${backend.key}: ${message}`);
          return;
        }
        body.abandon();
        this.counters.badGateway++;
        entry.note = `backend ${backend.key}: ${message}`;
        this.reply(req, res, entry, 502, `502 Bad Gateway: backend ${backend.key} failed before responding (${message})\n`, true);
      };
      ureq.on('socket', (s: Duplex & { connecting?: boolean; authorized?: boolean; encrypted?: boolean }) => {
        const ready = s.encrypted ? s.authorized === true : s.connecting !== true;
        if (ready) {
          connected = true;
          return;
        }
        connectTimer = setTimeout(() => fail('ETIMEDOUT', `connect timed out after ${t.connect} ms`), t.connect);
        s.once(s.encrypted ? 'secureConnect' : 'connect', () => {
          clearTimeout(connectTimer);
          connected = true;
          rt.pool.connectResult(backend, true, 'connected');
        });
      });
      ureq.on('error', (e: NodeJS.ErrnoException) => {
        if (gotResponse) return; // handled by the response's own abort handling
        if (body.clientGone) return fail('ECLIENTGONE', 'client closed before the response');
        fail(e.code ?? 'ERROR', e.code === 'ECONNREFUSED' ? 'connection refused' : e.code ? `${e.code}: ${e.message}` : e.message);
      });
      ureq.on('timeout', () => {
        // The agent's idle timeout on the backend connection: only while a response body is moving.
        if (gotResponse) ureq.destroy(Object.assign(new Error(`backend idle for ${t.idle} ms`), { code: 'ETIMEDOUT' }));
      });
      ureq.on('response', (ures: IncomingMessage) => {
        gotResponse = true;
        clearTimeout(responseTimer);
        if (connectTimer) clearTimeout(connectTimer);
        connected = true;
        entry.ttfbMs = performance.now() - t0;
        this.respond(req, res, ures, entry, view, backend, proto, cookieBackend, releaseOnce);
      });
      body.attach(ureq);
    };
    attempt(0, undefined);
  }

  /** Sticky cookie first (when its backend is eligible in this pool), else the pool's algorithm; never one already tried. */
  private choose(rt: PoolRuntime, tried: Set<Backend>, cookieKey: string | undefined, srcAddr: number, srcPort: number): Backend | undefined {
    if (cookieKey !== undefined) {
      const b = rt.pool.find(cookieKey);
      if (b && b.eligible && !tried.has(b)) {
        b.active++;
        b.flows++;
        return b;
      }
    }
    let b = rt.pool.choose({ srcAddr, srcPort });
    if (b && tried.has(b)) {
      // The algorithm insists on the backend that just failed (srchash, maglev): take another eligible one.
      rt.pool.release(b);
      b = rt.pool.backends.find((x) => x.eligible && !tried.has(x));
      if (b) {
        b.active++;
        b.flows++;
      }
    }
    return b;
  }

  private respond(
    req: IncomingMessage,
    res: ServerResponse,
    ures: IncomingMessage,
    entry: AccessEntry,
    view: RequestView,
    backend: Backend,
    proto: Proto,
    cookieKey: string | undefined,
    release: () => void,
  ): void {
    const status = ures.statusCode ?? 502;
    entry.status = status;
    const headers = forwardResponseHeaders(ures.rawHeaders);
    // The store decision sees the backend's response as it came (our sticky cookie is not part of it).
    const now = this.stack.now();
    const cache = this.cache;
    const stored = [...headers];
    let storing: { ttlMs: number; vary: string[]; chunks: Buffer[]; bytes: number } | undefined;
    if (cache && entry.cache === 'MISS') {
      const d = cache.shouldStore(view, status, headers, now);
      if (d.store) storing = { ttlMs: d.ttlMs, vary: d.vary, chunks: [], bytes: 0 };
      headers.push(['X-Cache', 'MISS']);
    }
    const stickyCfg = this.cfg.sticky;
    if (stickyCfg?.insert && cookieKey !== backend.key) {
      headers.push(['Set-Cookie', this.sticky.setCookieHeader(stickyCfg, backend.key, { secure: proto === 'https' })]);
    }
    if (cache && req.method !== 'GET' && req.method !== 'HEAD') cache.invalidate(view, status);
    try {
      res.writeHead(status, ures.statusMessage, flatten(headers));
    } catch (e) {
      // A head node:http parsed but will not send (a character it refuses in a value, an odd status):
      // the backend is at fault, the client gets a 502 and the process goes on.
      ures.destroy();
      release();
      this.counters.badGateway++;
      entry.note = `backend ${backend.key}: unforwardable response head (${(e as Error).message})`;
      this.reply(req, res, entry, 502, `502 Bad Gateway: backend ${backend.key} sent a response head that cannot be forwarded\n`, true);
      return;
    }
    const maxEntry = this.cfg.cache ? this.cfg.cache.maxEntryBytes : 0;
    ures.on('data', (d: Buffer) => {
      entry.bytesOut += d.length;
      if (storing) {
        storing.bytes += d.length;
        if (storing.bytes > maxEntry) storing = undefined;
        else storing.chunks.push(d);
      }
    });
    let done = false;
    const end = (how: 'ok' | 'backend' | 'client', note?: string) => {
      if (done) return;
      done = true;
      backend.bytesIn += entry.bytesIn;
      backend.bytesOut += entry.bytesOut;
      release();
      if (how === 'backend') {
        entry.note ??= note;
        this.counters.backendAborts++;
        // The head was sent: the client can only learn of the failure by the connection's end.
        res.destroy();
        return;
      }
      if (how === 'client') return;
      this.counters.responses++;
      if (storing && cache) cache.store(view, status, stored, Buffer.concat(storing.chunks), this.stack.now(), storing.ttlMs, storing.vary);
    };
    ures.once('end', () => end('ok'));
    ures.once('aborted', () => end('backend', `backend ${backend.key} closed mid-response`));
    ures.once('error', (e: Error) => end('backend', `backend ${backend.key}: ${e.message}`));
    ures.once('close', () => {
      if (!ures.complete) end('backend', `backend ${backend.key} closed mid-response`);
    });
    res.once('close', () => {
      // The client went away: stop the backend's transfer too (its connection is not reusable).
      if (!done && !ures.complete) {
        end('client');
        ures.destroy();
      }
    });
    // pipe(): backpressure from the client's connection to the backend's.
    ures.pipe(res);
  }

  /** A response the proxy makes itself (filter, no route, 502/503/504): short text, the rest of the request not read. */
  private reply(req: IncomingMessage, res: ServerResponse, entry: AccessEntry, status: number, text: string, close: boolean): void {
    entry.status = status;
    if (res.headersSent || res.destroyed) return;
    const body = Buffer.from(text);
    // A request body we will not read to its end: close the connection after the answer (RFC 9112 §9.6).
    const unreadBody = !req.complete && (req.headers['transfer-encoding'] !== undefined || (parseContentLength(req.headers['content-length']) ?? 0) > 0);
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(body.length), ...(close && unreadBody ? { connection: 'close' } : {}) });
    entry.bytesOut += body.length;
    res.end(body);
    if (!req.complete) req.resume();
  }

  private record(entry: AccessEntry, backendKey: string | undefined): void {
    const r = this.routeStats.get(entry.route) ?? new HttpCounters();
    this.routeStats.set(entry.route, r);
    r.add(entry);
    if (backendKey !== undefined) {
      const b = this.backendStats.get(backendKey) ?? new HttpCounters();
      this.backendStats.set(backendKey, b);
      b.add(entry);
    }
    if (this.cfg.accessLog) this.env.accessLog?.(formatAccessLine(entry));
  }

  /** Per route and per backend counters, the cache and filter counters, backend connections opened. */
  snapshot(): Record<string, unknown> {
    return {
      http: {
        ...this.counters,
        listeners: [...this.listeners.values()].map((l) => ({ port: l.port, proto: l.proto, ...(l.tls ? { tlsConnections: l.tls.connections } : {}) })),
        clientConnections: this.clients.size,
        routes: Object.fromEntries([...this.routeStats].map(([k, v]) => [k, v.toJSON()])),
        pools: [...this.pools.values()].map((rt) => ({
          ...rt.pool.stats(),
          pool: rt.cfg.name,
          tls: rt.cfg.tls !== undefined,
          backends: rt.pool.backends.map((b) => {
            const a = rt.agents.get(b);
            return {
              ...b.stats(),
              http: this.backendStats.get(b.key)?.toJSON() ?? new HttpCounters().toJSON(),
              connectionsOpened: a?.opened ?? 0,
              connectionsReused: a?.reused ?? 0,
              connectionsOpen: a?.openConnections ?? 0,
            };
          }),
        })),
        cache: this.cache ? { ...this.cache.counters } : undefined,
        filter: { checked: this.filter.counters.checked, allowed: this.filter.counters.allowed, denied: this.filter.counters.denied, byRule: Object.fromEntries(this.filter.counters.byRule) },
      },
    };
  }

  /** Drains (or undrains) a backend in every pool that has it. */
  drain(key: string, on: boolean): boolean {
    let found = false;
    for (const rt of this.pools.values()) found = rt.pool.drain(key, on) || found;
    return found;
  }
}
