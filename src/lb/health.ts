// Active health checks over tunstack's own TCP: every interval, a TCP connect (or an HTTP GET whose
// status must match) to each backend of a pool, bounded by a timeout; results go to the pool's
// rise/fall counting (pool.ts). The I/O side of health: timers and sockets live here, not in the pool.

import type { Stack } from '../socket/stack.js';
import type { TcpSocket } from '../socket/tcp-socket.js';
import { formatIpv4Addr } from '../wire/addr.js';
import type { Backend, Pool } from './pool.js';

export class HealthChecker {
  private readonly timers = new Map<Backend, NodeJS.Timeout>();
  private readonly inFlight = new Set<TcpSocket>();
  private closed = false;

  constructor(
    private readonly stack: Stack,
    private readonly pool: Pool,
  ) {
    this.sync();
  }

  /** Follows the pool's current backends and health config (after a reload). */
  sync(): void {
    const h = this.pool.health;
    const want = new Set(h ? this.pool.backends : []);
    for (const [b, t] of this.timers) {
      if (!want.has(b)) {
        clearTimeout(t);
        this.timers.delete(b);
      }
    }
    let i = 0;
    for (const b of want) {
      if (this.timers.has(b)) continue;
      // Spread the first checks over the interval so they do not all go at once.
      this.schedule(b, ((i++ * 37) % 100) / 100 * Math.min(h!.interval, 1000));
    }
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const s of this.inFlight) s.resetAndDestroy();
  }

  private schedule(b: Backend, delay: number): void {
    const t = setTimeout(() => this.check(b), delay);
    t.unref();
    this.timers.set(b, t);
  }

  private check(b: Backend): void {
    const h = this.pool.health;
    if (this.closed || !h || !this.timers.has(b)) return;
    const pool = this.pool;
    const t0 = performance.now();
    let finished = false;
    const sock = this.stack.connect({ host: formatIpv4Addr(b.addr), port: b.port, noDelay: true });
    this.inFlight.add(sock);
    const finish = (ok: boolean, detail: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.inFlight.delete(sock);
      // A RST ends the check without leaving a TIME-WAIT behind in tunstack for every probe.
      if (!sock.destroyed) sock.resetAndDestroy();
      pool.checkResult(b, ok, detail);
      if (!this.closed && this.timers.has(b)) this.schedule(b, Math.max(0, h.interval - (performance.now() - t0)));
    };
    const timer = setTimeout(() => finish(false, `${h.type} check timed out after ${h.timeout} ms`), h.timeout);
    timer.unref();
    sock.on('error', (e: NodeJS.ErrnoException) => finish(false, e.code === 'ECONNREFUSED' ? `${h.type} check: connection refused` : `${h.type} check: ${e.code ?? e.message}`));
    sock.once('connect', () => {
      if (h.type === 'tcp') return finish(true, 'connected');
      let head = '';
      sock.on('data', (d: Buffer) => {
        head += d.toString('latin1');
        const eol = head.indexOf('\r\n');
        if (eol < 0 && head.length < 1024) return;
        // RFC 9112 §4: status-line = HTTP-version SP status-code SP [ reason-phrase ]
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
        const status = m ? Number(m[1]) : 0;
        finish(status === h.expect, m ? `http check: status ${status}, expected ${h.expect}` : 'http check: no status line');
      });
      sock.on('end', () => finish(false, 'http check: closed before a status line'));
      sock.write(`GET ${h.path} HTTP/1.1\r\nHost: ${b.key}\r\nUser-Agent: tunstack-lb\r\nConnection: close\r\n\r\n`);
    });
  }
}
