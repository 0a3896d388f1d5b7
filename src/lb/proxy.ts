// proxy mode (like HAProxy's `mode tcp`): tunstack terminates the client's TCP on the VIP, opens its
// own connection to the chosen backend and splices the bytes both ways — with backpressure (pipe),
// half-close (a FIN on one side becomes a FIN on the other) and resets propagated. A refused or
// timed-out backend connect is reported for passive marking and retried on another backend.

import type { Stack } from '../socket/stack.js';
import type { TcpServer } from '../socket/tcp-server.js';
import type { TcpSocket } from '../socket/tcp-socket.js';
import { formatIpv4Addr, parseIpv4Addr } from '../wire/addr.js';
import type { Backend, Pool } from './pool.js';

/** Connect attempts per client connection (the first choice plus retries on other backends). */
const CONNECT_ATTEMPTS = 3;

export interface ProxyCounters {
  accepted: number;
  /** Client connections reset because no backend could be reached. */
  failed: number;
  retries: number;
  resetsPropagated: number;
}

export class ProxyService {
  readonly counters: ProxyCounters = { accepted: 0, failed: 0, retries: 0, resetsPropagated: 0 };
  private readonly server: TcpServer;
  private readonly open = new Set<TcpSocket>();

  constructor(
    private readonly stack: Stack,
    public pool: Pool,
    private readonly trace: ((line: string) => void) | undefined,
    /** Backend connect timeout (ms). */
    private readonly connectTimeout = 3000,
  ) {
    this.server = stack.createServer((client) => this.onClient(client));
    this.server.listen(pool.config.vipPort, 1024);
  }

  /** Flows in progress (client connections). */
  get activeFlows(): number {
    return this.open.size;
  }

  /** Stops accepting; connections in progress continue (they end by themselves). */
  stopListening(): void {
    this.server.close();
  }

  /** Stops accepting and resets every connection in progress. */
  close(): void {
    this.server.close();
    for (const s of this.open) s.resetAndDestroy();
  }

  private onClient(client: TcpSocket): void {
    this.counters.accepted++;
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    client.pause(); // nothing is read until the backend is there (backpressure from the start)
    client.on('error', () => {}); // reported through 'close'; a reset is propagated by splice()
    const srcAddr = parseIpv4Addr(client.remoteAddress) ?? 0;
    const tried = new Set<Backend>();
    const attempt = (n: number): void => {
      if (client.destroyed) return;
      const pool = this.pool;
      let b = pool.choose({ srcAddr, srcPort: client.remotePort });
      if (b && tried.has(b)) {
        // The algorithm insists on a backend that just failed (srchash, maglev): try another eligible one.
        pool.release(b);
        const other = pool.backends.find((x) => x.eligible && !tried.has(x));
        b = other;
        if (other) {
          other.active++;
          other.flows++;
        }
      }
      if (!b) {
        this.counters.failed++;
        client.resetAndDestroy();
        return;
      }
      const backend = b;
      tried.add(backend);
      const upstream = this.stack.connect({ host: formatIpv4Addr(backend.addr), port: backend.port, noDelay: true });
      const timer = setTimeout(() => upstream.destroy(Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' })), this.connectTimeout);
      timer.unref();
      const onConnectError = (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        pool.release(backend);
        pool.connectResult(backend, false, e.code === 'ECONNREFUSED' ? 'connection refused' : (e.code ?? e.message));
        if (n + 1 < CONNECT_ATTEMPTS && !client.destroyed) {
          this.counters.retries++;
          attempt(n + 1);
        } else {
          this.counters.failed++;
          client.resetAndDestroy();
        }
      };
      upstream.once('error', onConnectError);
      upstream.once('connect', () => {
        clearTimeout(timer);
        upstream.off('error', onConnectError);
        pool.connectResult(backend, true, 'connected');
        this.trace?.(`flow ${client.remoteAddress}:${client.remotePort} → ${pool.config.vip} ⇒ ${backend.key} (${pool.algo}) via :${upstream.localPort}`);
        this.splice(client, upstream, pool, backend);
      });
    };
    attempt(0);
  }

  private splice(client: TcpSocket, upstream: TcpSocket, pool: Pool, backend: Backend): void {
    const t0 = performance.now();
    let closed = 0;
    let reset = false;
    const onError = (from: TcpSocket, to: TcpSocket) => () => {
      // A reset (or any fatal error) on one side resets the other (RFC 9293 §3.10.7.4 seen end to end).
      if (!to.destroyed) {
        reset = true;
        this.counters.resetsPropagated++;
        to.resetAndDestroy();
      }
      void from;
    };
    client.on('error', onError(client, upstream));
    upstream.on('error', onError(upstream, client));
    const done = () => {
      if (++closed < 2) return;
      backend.bytesIn += upstream.bytesWritten;
      backend.bytesOut += client.bytesWritten;
      pool.release(backend);
      this.trace?.(
        `expire ${client.remoteAddress}:${client.remotePort} → ${pool.config.vip} ⇒ ${backend.key} (${reset ? 'reset' : 'closed'}, ` +
          `${upstream.bytesWritten}/${client.bytesWritten} bytes, ${Math.round(performance.now() - t0)} ms)`,
      );
    };
    client.once('close', done);
    upstream.once('close', done);
    // pipe(): backpressure both ways, and end() — a FIN — when the source ends (half-close).
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }
}
