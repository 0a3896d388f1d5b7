// TlsSocket: a node:tls-like stream.Duplex that runs one sans-IO TlsConnection (src/tls) over any
// Duplex transport — a tunstack TcpSocket, or a node:net Socket — with real backpressure both ways.

import { Duplex } from 'node:stream';
import { AlertDescription, CipherSuite, nameOf } from '../tls/constants.js';
import type { HandshakeSummary, TlsConnection, TlsEvent } from '../tls/engine-api.js';
import { keyLogLine } from './keylog.js';

/** What TlsSocket uses of its transport beyond Duplex; TcpSocket and net.Socket both have it. */
export type TlsTransport = Duplex &
  Partial<{
    connecting: boolean;
    remoteAddress: string;
    remotePort: number;
    remoteFamily: string;
    localAddress: string;
    localPort: number;
    setNoDelay(noDelay?: boolean): unknown;
    setKeepAlive(enable?: boolean, initialDelay?: number): unknown;
    setTimeout(ms: number): unknown;
    address(): unknown;
    ref(): unknown;
    unref(): unknown;
  }>;

export interface TlsSocketOptions {
  /** Milliseconds for the engine's `now`; default performance.now(). */
  clock?: () => number;
  /** Destroy the socket if the handshake has not completed after this many ms (0 = never; default 0). */
  handshakeTimeoutMs?: number;
  /** After a fatal alert was sent, keep the transport this long so the alert reaches the peer (default 2000). */
  lingerMs?: number;
}

export type TlsErrorCode =
  | 'ERR_TLS_ALERT_SENT'
  | 'ERR_TLS_ALERT_RECEIVED'
  | 'ERR_TLS_TRUNCATED'
  | 'ECONNRESET'
  | 'ERR_TLS_HANDSHAKE_TIMEOUT'
  | 'ERR_TLS_INTERNAL';

/** The error a TlsSocket is destroyed with when TLS fails: `code`, and the alert's name when there was one. */
export interface TlsError extends Error {
  code: TlsErrorCode;
  alert?: string;
}

export function tlsError(code: TlsErrorCode, message: string, alert?: string): TlsError {
  const e = new Error(message) as TlsError;
  e.code = code;
  if (alert !== undefined) e.alert = alert;
  return e;
}

/** The words a failure is reported in: "<reason> (sent alert bad_certificate)" / "peer sent alert …". */
export function describeFailure(e: Extract<TlsEvent, { type: 'failed' }>): TlsError {
  const alert = nameOf(AlertDescription, e.alert);
  if (e.sent) return tlsError('ERR_TLS_ALERT_SENT', `${e.reason || 'TLS failure'} (sent alert ${alert})`, alert);
  const why = e.reason && !e.reason.includes(alert) ? `: ${e.reason}` : '';
  return tlsError('ERR_TLS_ALERT_RECEIVED', `peer sent alert ${alert}${why}`, alert);
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.length);
}

/**
 * Events, besides the Duplex ones: 'secureConnect' (client) or 'secure' (server) once the handshake
 * completes (then `summary` is set); 'keylog' (Buffer: one NSS key log line, as node:tls emits it) for
 * every secret — synchronously, before the records it protects are written to the transport;
 * 'session' (ResumptionTicket); 'tlsTrace' (HandshakeTrace); 'keyUpdate' ({direction, requested}).
 * 'error' carries a TlsError for TLS failures; transport errors pass through unchanged.
 */
export class TlsSocket extends Duplex {
  readonly encrypted = true;
  /** Set when the handshake completed. */
  summary: HandshakeSummary | undefined;
  /** The negotiated ALPN protocol, or false (node:tls's convention). */
  alpnProtocol: string | false = false;
  /** The server name: the one we sent (client) or the client's SNI (server); false when none. */
  servername: string | false = false;
  /** True once the handshake completed (the client verified the server's chain, if it was asked to). */
  authorized = false;
  bytesRead = 0;
  bytesWritten = 0;

  private readonly clock: () => number;
  private readonly lingerMs: number;
  private pumping = false;
  private pumpAgain = false;
  private pendingWriteCb: ((err?: Error | null) => void) | undefined;
  private pendingFinalCb: ((err?: Error | null) => void) | undefined;
  private transportNeedsDrain = false;
  private transportPaused = false;
  private peerClosed = false;
  private failure: TlsError | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private started = false;
  private endTransport = false;

  constructor(
    readonly transport: TlsTransport,
    readonly connection: TlsConnection,
    options: TlsSocketOptions = {},
  ) {
    // Half-close as in TLS 1.3 (RFC 8446 §6.1: close_notify closes one direction): node:http decides
    // when to end its side, as it does on a TcpSocket.
    super({ allowHalfOpen: true, decodeStrings: true });
    this.clock = options.clock ?? (() => performance.now());
    this.lingerMs = options.lingerMs ?? 2000;
    transport.on('data', this.onTransportData);
    transport.on('end', this.onTransportEnd);
    transport.on('error', this.onTransportError);
    transport.on('close', this.onTransportClose);
    transport.on('drain', this.onTransportDrain);
    transport.on('timeout', this.onTransportTimeout);
    const ms = options.handshakeTimeoutMs ?? 0;
    if (ms > 0) {
      this.handshakeTimer = setTimeout(() => {
        if (!this.connection.handshakeDone && !this.destroyed) {
          this.destroy(tlsError('ERR_TLS_HANDSHAKE_TIMEOUT', `TLS handshake did not complete within ${ms} ms`));
        }
      }, ms);
      this.handshakeTimer.unref();
    }
    if (connection.role === 'client') {
      // Start once the transport is connected, and never inside the constructor: the caller attaches
      // its 'keylog'/'tlsTrace' listeners first.
      if (transport.connecting) transport.once('connect', () => this.start());
      else queueMicrotask(() => this.start());
    }
  }

  // ------------------------------------------------------------------ node:tls / node:net surface

  get connecting(): boolean {
    return this.transport.connecting ?? false;
  }
  get remoteAddress(): string | undefined {
    return this.transport.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.transport.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.transport.remoteFamily ?? 'IPv4';
  }
  get localAddress(): string | undefined {
    return this.transport.localAddress;
  }
  get localPort(): number | undefined {
    return this.transport.localPort;
  }

  address(): unknown {
    return this.transport.address?.() ?? {};
  }

  setNoDelay(noDelay = true): this {
    this.transport.setNoDelay?.(noDelay);
    return this;
  }

  setKeepAlive(enable = false, initialDelay = 0): this {
    this.transport.setKeepAlive?.(enable, initialDelay);
    return this;
  }

  /** node:net's idle timeout, measured on the transport: 'timeout' after `ms` without activity. */
  setTimeout(ms: number, callback?: () => void): this {
    this.transport.setTimeout?.(ms);
    // As node:net: the callback is a one-time 'timeout' listener, and a 0 timeout removes it.
    if (callback) {
      if (ms === 0) this.removeListener('timeout', callback);
      else this.once('timeout', callback);
    }
    return this;
  }

  ref(): this {
    this.transport.ref?.();
    return this;
  }

  unref(): this {
    this.transport.unref?.();
    return this;
  }

  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once('finish', () => this.destroy());
  }

  /** 'TLSv1.3' once the handshake completed, else null (node:tls's getProtocol). */
  getProtocol(): string | null {
    return this.summary ? 'TLSv1.3' : null;
  }

  /** node:tls's getCipher(): the negotiated suite, or undefined before the handshake completes. */
  getCipher(): { name: string; standardName: string; version: string } | undefined {
    if (!this.summary) return undefined;
    const name = nameOf(CipherSuite, this.summary.suite);
    return { name, standardName: name, version: 'TLSv1.3' };
  }

  /** Sends a KeyUpdate (RFC 8446 §4.6.3), asking the peer to update its keys too when `requestPeer`. */
  keyUpdate(requestPeer = false): void {
    if (this.destroyed) throw new Error('keyUpdate on a destroyed TLS socket');
    this.connection.keyUpdate(requestPeer);
    this.pump();
  }

  // ------------------------------------------------------------------ driving the engine

  private start(): void {
    if (this.started || this.destroyed) return;
    this.started = true;
    this.connection.start(this.clock());
    this.pump();
  }

  private readonly onTransportData = (chunk: Buffer): void => {
    if (this.destroyed || this.failure) return;
    this.bytesRead += chunk.length;
    try {
      this.connection.handleBytes(this.clock(), chunk);
    } catch (e) {
      // The engine promises never to throw on peer input; if it does anyway, only this connection dies.
      this.destroy(tlsError('ERR_TLS_INTERNAL', `internal TLS error: ${(e as Error).message}`));
      return;
    }
    this.pump();
  };

  /** Polls the engine dry: secrets first (key log, synchronously), then output to the transport, then the other events. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true; // re-entered from an event handler (e.g. a write in 'secureConnect')
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        const later: TlsEvent[] = [];
        for (let e = this.connection.pollEvent(); e !== undefined; e = this.connection.pollEvent()) {
          // The engine emits a secret before returning the output it protects: logging it now puts
          // the key log line (and a capture's Decryption Secrets Block) before those records.
          if (e.type === 'secret') this.emit('keylog', Buffer.from(keyLogLine(e.label, e.clientRandom, e.secret)));
          else later.push(e);
        }
        this.flushOutput();
        for (const e of later) this.dispatch(e);
      } while (this.pumpAgain && !this.destroyed);
    } finally {
      this.pumping = false;
    }
    // After close_notify went out: FIN (only here, so a close made inside an event handler cannot
    // overtake output still being pumped).
    if (this.endTransport && !this.transport.destroyed && !this.transport.writableEnded) this.transport.end();
  }

  private flushOutput(): void {
    let first: Uint8Array | undefined;
    let more: Uint8Array[] | undefined;
    for (let out = this.connection.pollOutput(); out !== undefined; out = this.connection.pollOutput()) {
      if (out.length === 0) continue;
      if (first === undefined) first = out;
      else (more ??= [asBuffer(first)]).push(asBuffer(out));
    }
    if (first === undefined) return;
    const t = this.transport;
    if (t.destroyed || t.writableEnded) return; // nowhere to send it any more
    const buf = more ? Buffer.concat(more) : asBuffer(first);
    this.bytesWritten += buf.length;
    if (!t.write(buf)) this.transportNeedsDrain = true;
  }

  private dispatch(e: TlsEvent): void {
    switch (e.type) {
      case 'data':
        if (this.destroyed || this.peerClosed) return;
        // Backpressure: when our readable side is full, stop reading the transport (its window closes).
        if (!this.push(asBuffer(e.data)) && !this.transportPaused) {
          this.transportPaused = true;
          this.transport.pause();
        }
        return;
      case 'handshake':
        this.summary = e.summary;
        this.alpnProtocol = e.summary.alpn ?? false;
        this.servername = e.summary.serverName ?? false;
        this.authorized = true;
        if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
        this.handshakeTimer = undefined;
        this.emit(this.connection.role === 'client' ? 'secureConnect' : 'secure');
        this.releaseWrite();
        if (this.pendingFinalCb) {
          const cb = this.pendingFinalCb;
          this.pendingFinalCb = undefined;
          this._final(cb);
        }
        return;
      case 'trace':
        this.emit('tlsTrace', e.trace);
        return;
      case 'ticket':
        this.emit('session', e.ticket);
        return;
      case 'key-update':
        this.emit('keyUpdate', { direction: e.direction, requested: e.requested });
        return;
      case 'peer-closed':
        // RFC 8446 §6.1: close_notify — no more data in this direction.
        if (this.peerClosed) return;
        this.peerClosed = true;
        if (!this.destroyed) this.push(null);
        return;
      case 'failed': {
        const err = describeFailure(e);
        this.failure = err;
        this.destroy(err);
        return;
      }
      case 'secret':
        return; // handled in pump()
    }
  }

  private releaseWrite(): void {
    if (!this.pendingWriteCb || !this.connection.handshakeDone || this.transportNeedsDrain) return;
    const cb = this.pendingWriteCb;
    this.pendingWriteCb = undefined;
    cb();
  }

  private readonly onTransportDrain = (): void => {
    this.transportNeedsDrain = false;
    this.releaseWrite();
  };

  private readonly onTransportTimeout = (): void => {
    this.emit('timeout');
  };

  private readonly onTransportEnd = (): void => {
    if (this.destroyed || this.peerClosed) return;
    if (!this.connection.handshakeDone) {
      this.destroy(tlsError('ECONNRESET', 'the peer closed the connection during the TLS handshake'));
    } else if (this.writableEnded) {
      // We already sent close_notify: the peer closing its side without answering is the usual end.
      this.peerClosed = true;
      this.push(null);
    } else {
      // RFC 8446 §6.1: without close_notify, the end of the data cannot be told from a truncation attack.
      this.destroy(tlsError('ERR_TLS_TRUNCATED', 'connection closed without close_notify (truncation)'));
    }
  };

  private readonly onTransportError = (err: Error): void => {
    if (!this.destroyed) this.destroy(err);
  };

  private readonly onTransportClose = (): void => {
    // A peer's FIN ('end') or reset ('error') was reported already; a close without either is a local
    // destroy of the transport (e.g. the stack shutting down): nothing more can be sent or received.
    if (!this.destroyed) this.destroy();
  };

  // ------------------------------------------------------------------ stream.Duplex implementation

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.failure) {
      cb(this.failure);
      return;
    }
    try {
      this.connection.write(chunk);
    } catch (e) {
      cb(e as Error);
      return;
    }
    this.pump();
    // Hold the callback while the handshake is running or the transport is full: the Writable then
    // buffers the caller's next writes (highWaterMark), so a fast writer cannot queue unboundedly.
    this.pendingWriteCb = cb;
    this.releaseWrite();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.failure) {
      cb(this.failure);
      return;
    }
    if (!this.connection.handshakeDone) {
      this.pendingFinalCb = cb; // close_notify after the handshake (and the queued data) went out
      return;
    }
    try {
      this.connection.close(); // RFC 8446 §6.1 close_notify
    } catch {
      // already closed
    }
    this.endTransport = true;
    this.pump();
    cb();
  }

  override _read(): void {
    if (this.transportPaused) {
      this.transportPaused = false;
      this.transport.resume();
    }
  }

  /** close_notify straight to the transport (the socket is being destroyed); false when there is no established connection to close. */
  private sendCloseNotifyNow(): boolean {
    if (!this.connection.handshakeDone || this.failure) return false;
    try {
      this.connection.close(); // a no-op when it was already sent
    } catch {
      return false;
    }
    this.flushOutput();
    // Only the traces still mean something to a listener (`--trace` shows the close_notify).
    for (let e = this.connection.pollEvent(); e !== undefined; e = this.connection.pollEvent()) {
      if (e.type === 'trace') this.emit('tlsTrace', e.trace);
    }
    return true;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    const t = this.transport;
    t.off('data', this.onTransportData);
    t.off('drain', this.onTransportDrain);
    t.off('timeout', this.onTransportTimeout);
    t.off('end', this.onTransportEnd);
    t.off('close', this.onTransportClose);
    // Late transport errors must not go unhandled once we stopped listening.
    t.off('error', this.onTransportError);
    t.on('error', () => {});
    if (this.pendingWriteCb) {
      const wcb = this.pendingWriteCb;
      this.pendingWriteCb = undefined;
      wcb(err ?? tlsError('ECONNRESET', 'TLS socket destroyed before the data was sent'));
    }
    if (this.pendingFinalCb) {
      const fcb = this.pendingFinalCb;
      this.pendingFinalCb = undefined;
      fcb(err ?? tlsError('ECONNRESET', 'TLS socket destroyed before close_notify was sent'));
    }
    if (!t.destroyed) {
      // A fatal alert is queued on the transport; or, for a plain destroy() of an established
      // connection, close_notify goes out now (RFC 8446 §6.1: "Each party MUST send a close_notify
      // alert before closing its write side of the connection, unless it has already sent some error alert").
      const alertSent = err !== null && this.failure === err && (err as TlsError).code === 'ERR_TLS_ALERT_SENT';
      if (alertSent || (!err && this.sendCloseNotifyNow())) {
        // Close gracefully (FIN after the alert), keep reading and discarding so unread input does
        // not turn the close into a reset, and give up after lingerMs.
        if (!t.writableEnded) t.end();
        t.on('data', () => {});
        t.resume();
        const linger = setTimeout(() => t.destroy(), this.lingerMs);
        linger.unref();
        t.once('close', () => clearTimeout(linger));
      } else {
        t.destroy();
      }
    }
    cb(err);
  }
}
