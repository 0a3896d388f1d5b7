// TcpSocket: a node:net-like stream.Duplex over one tunstack TCP connection. Backpressure is
// real (write() returns false while the send buffer is full), end() sends FIN (half-close),
// destroy() closes like close(2) and resetAndDestroy() sends RST.

import { Duplex } from 'node:stream';
import { formatIpv4Addr } from '../wire/addr.js';
import type { Tcb, TcpErrorCode, TcpEvent } from '../tcp/tcb.js';

/** What a socket needs from the stack that drives it. */
export interface SocketDriver {
  now(): number;
  /** The TCB has new work (data written, read, closed): flush soon. */
  kick(tcb: Tcb): void;
  /** The socket no longer wants events for this TCB. */
  release(tcb: Tcb): void;
}

const ERRNO: Record<TcpErrorCode, number> = { ECONNREFUSED: -111, ECONNRESET: -104, ETIMEDOUT: -110 };

export function tcpError(code: TcpErrorCode | 'EPIPE', message: string, extra: Record<string, unknown> = {}): NodeJS.ErrnoException {
  return Object.assign(new Error(`${message} (${code})`), { code, errno: code === 'EPIPE' ? -32 : ERRNO[code], ...extra });
}

export class TcpSocket extends Duplex {
  connecting: boolean;
  bytesRead = 0;
  bytesWritten = 0;
  private pending: { chunk: Uint8Array; offset: number; cb: (err?: Error | null) => void } | undefined;
  private wantData = false;
  private eofSeen = false;
  private pushedEnd = false;
  private ended = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private idleMs = 0;

  constructor(
    private readonly driver: SocketDriver,
    readonly tcb: Tcb,
    connecting: boolean,
  ) {
    // allowHalfOpen: after the peer's FIN we may still write (node:net's allowHalfOpen semantics are
    // chosen by the server/connect options; http.Server sets it itself).
    super({ allowHalfOpen: true, decodeStrings: true });
    this.connecting = connecting;
  }

  // node:net's address fields, as getters over the TCB (strings made when asked: heap per idle connection).
  get remoteAddress(): string {
    return formatIpv4Addr(this.tcb.remoteAddr);
  }

  get remotePort(): number {
    return this.tcb.remotePort;
  }

  get localAddress(): string {
    return formatIpv4Addr(this.tcb.localAddr);
  }

  get localPort(): number {
    return this.tcb.localPort;
  }

  get remoteFamily(): string {
    return 'IPv4';
  }

  // ------------------------------------------------------------------ node:net surface

  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: this.localPort };
  }

  get readyState(): string {
    if (this.connecting) return 'opening';
    if (this.readable && this.writable) return 'open';
    if (this.readable) return 'readOnly';
    if (this.writable) return 'writeOnly';
    return 'closed';
  }

  /** Nagle off (true) or on (RFC 9293 §3.7.4). */
  setNoDelay(noDelay = true): this {
    this.tcb.setNoDelay(noDelay);
    this.driver.kick(this.tcb);
    return this;
  }

  /** Keep-alive probes after `initialDelay` ms idle (RFC 1122 §4.2.3.6; off by default). */
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.tcb.setKeepAlive(this.driver.now(), { enabled: enable, ...(initialDelay > 0 ? { idleMs: initialDelay } : {}) });
    this.driver.kick(this.tcb);
    return this;
  }

  /** node:net's idle timeout: 'timeout' after `ms` without activity (0 disables). */
  setTimeout(ms: number, callback?: () => void): this {
    this.idleMs = ms;
    // As node:net: the callback is a one-time 'timeout' listener, and a 0 timeout removes it.
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    this.touchIdle();
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  /** Ends our side (FIN) and destroys the stream once the write side finished. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** Aborts with RST (RFC 9293 §3.10.5 ABORT), like node:net's resetAndDestroy(). */
  resetAndDestroy(): this {
    this.tcb.abort();
    this.driver.kick(this.tcb);
    return this.destroy();
  }

  // ------------------------------------------------------------------ events from the TCB

  onTcpEvent(e: TcpEvent): void {
    switch (e.type) {
      case 'connected':
        if (this.connecting) {
          this.connecting = false;
          this.emit('connect');
          this.emit('ready');
        }
        this.flushPending();
        break;
      case 'readable':
        this.touchIdle();
        this.pull();
        break;
      case 'writable':
        this.flushPending();
        break;
      case 'eof':
        this.eofSeen = true;
        this.pull();
        break;
      case 'error':
        this.destroy(
          tcpError(e.code, this.connecting ? `connect ${e.message} ${this.remoteAddress}:${this.remotePort}` : e.message, {
            syscall: this.connecting ? 'connect' : 'read',
            address: this.remoteAddress,
            port: this.remotePort,
          }),
        );
        break;
      case 'closed':
        // Both FINs were exchanged (or TIME-WAIT ended): end the readable side; autoDestroy closes
        // the stream once it was consumed and our side finished.
        this.driver.release(this.tcb);
        this.eofSeen = true;
        this.pull();
        if (this.pending) this.pending.cb(tcpError('EPIPE', 'connection closed before the data was sent'));
        this.pending = undefined;
        break;
      case 'state':
        break;
    }
  }

  // ------------------------------------------------------------------ stream.Duplex implementation

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.tcb.state === 'CLOSED') {
      cb(tcpError('EPIPE', 'write after the connection closed'));
      return;
    }
    this.pending = { chunk, offset: 0, cb };
    this.flushPending();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connecting) {
      // node:net lets end() come before the connection is up: the FIN waits for ESTABLISHED
      // (RFC 9293's CLOSE in SYN-SENT would delete the connection instead).
      this.once('connect', () => this._final(cb));
      return;
    }
    if (this.tcb.state !== 'CLOSED') {
      this.tcb.close(this.driver.now());
      this.driver.kick(this.tcb);
    }
    this.ended = true;
    cb();
  }

  override _read(): void {
    this.wantData = true;
    this.pull();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const t = this.tcb;
    if (t.state !== 'CLOSED') {
      if (err || t.readableBytes > 0) {
        // RFC 2525 §2.17 / RFC 9293 §3.10.4: closing with unread data (or on an error) resets.
        t.abort();
      } else if (!this.ended) {
        // close(2) semantics: FIN after what is queued; the stack finishes the handshake alone.
        t.close(this.driver.now());
      }
      this.driver.kick(t);
    }
    if (this.pending) {
      this.pending.cb(err ?? tcpError('EPIPE', 'socket destroyed before the data was sent'));
      this.pending = undefined;
    }
    this.driver.release(t);
    cb(err);
  }

  // ------------------------------------------------------------------ internals

  private flushPending(): void {
    const p = this.pending;
    if (!p) return;
    const n = this.tcb.write(p.offset === 0 ? p.chunk : p.chunk.subarray(p.offset));
    if (n > 0) {
      p.offset += n;
      this.bytesWritten += n;
      this.touchIdle();
      this.driver.kick(this.tcb);
    }
    if (p.offset === p.chunk.length) {
      this.pending = undefined;
      p.cb();
    }
  }

  private pull(): void {
    while (this.wantData) {
      const d = this.tcb.read(64 * 1024);
      if (!d) break;
      this.bytesRead += d.length;
      this.driver.kick(this.tcb); // the window may have opened: let the TCB send an update
      if (!this.push(d)) this.wantData = false;
    }
    if (this.eofSeen && this.tcb.readableBytes === 0 && !this.pushedEnd) {
      this.pushedEnd = true;
      this.push(null);
    }
  }

  private touchIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (this.idleMs > 0 && !this.destroyed) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), this.idleMs);
      this.idleTimer.unref();
    }
  }
}
