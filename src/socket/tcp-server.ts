// TcpServer: a node:net-like server on a tunstack port — 'listening', 'connection' (a TcpSocket),
// 'close' — so node:http runs on top via httpServer.emit('connection', socket).

import { EventEmitter } from 'node:events';
import type { Listener } from '../tcp/endpoint.js';
import type { TcpSocket } from './tcp-socket.js';

export interface ServerDriver {
  listen(server: TcpServer, port: number, backlog: number): Listener;
  unlisten(server: TcpServer, port: number): void;
  readonly address: string;
}

export class TcpServer extends EventEmitter {
  private listener: Listener | undefined;
  private readonly sockets = new Set<TcpSocket>();
  private closeEmitted = false;

  constructor(private readonly driver: ServerDriver) {
    super();
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  listen(port: number, callback?: () => void): this;
  listen(port: number, backlog: number, callback?: () => void): this;
  listen(port: number, a?: number | (() => void), b?: () => void): this {
    const backlog = typeof a === 'number' ? a : 128;
    const cb = typeof a === 'function' ? a : b;
    if (this.listener) throw new Error('server is already listening');
    this.closeEmitted = false;
    this.listener = this.driver.listen(this, port, backlog);
    if (cb) this.once('listening', cb);
    queueMicrotask(() => this.emit('listening'));
    return this;
  }

  address(): { address: string; family: string; port: number } | null {
    return this.listener ? { address: this.driver.address, family: 'IPv4', port: this.listener.port } : null;
  }

  /** Stops accepting; 'close' once the existing connections are gone (like net.Server#close). */
  close(callback?: (err?: Error) => void): this {
    if (callback) this.once('close', callback);
    if (this.listener) {
      this.driver.unlisten(this, this.listener.port);
      this.listener = undefined;
    }
    this.maybeClosed();
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): void {
    cb(null, this.sockets.size);
  }

  /** Called by the stack with each accepted connection. */
  accept(socket: TcpSocket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.maybeClosed();
    });
    this.emit('connection', socket);
  }

  private maybeClosed(): void {
    if (this.listener || this.sockets.size > 0 || this.closeEmitted) return;
    this.closeEmitted = true;
    queueMicrotask(() => this.emit('close'));
  }
}
