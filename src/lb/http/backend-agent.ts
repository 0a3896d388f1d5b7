// The keep-alive connection pool to one backend: a node:http Agent whose connections are tunstack TCP
// sockets (or TLS 1.3 sockets on top of them, verified with tunstack's TLS client), bounded in idle and
// total connections, reused most-recently-used first, and counted (connections opened vs requests).

import { Agent, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Stack } from '../../socket/stack.js';
import { tlsConnect, type TlsClientOptions } from '../../socket/tls-connect.js';
import type { TlsSocket } from '../../socket/tls-socket.js';

export interface BackendAgentOptions {
  addr: string;
  port: number;
  /** Connections kept open while idle (the rest are closed when their request ends). */
  maxIdle: number;
  /** Connections open at once (requests beyond wait in the agent's queue). */
  maxTotal: number;
  /** An idle pooled connection is closed after this many ms. */
  idleMs: number;
  /** Re-encrypt to the backend: TLS 1.3 with these client options (ca, servername, crypto). */
  tls?: Omit<TlsClientOptions, 'host'> | undefined;
  /** Every TLS secret of the backend leg, as a key log line. */
  onKeylog?: ((line: Buffer) => void) | undefined;
}

export class BackendAgent extends Agent {
  /** Connections this agent opened (each a TCP handshake, and a TLS handshake with tls). */
  opened = 0;
  /** Requests handed to a connection that had served one before. */
  reused = 0;
  /** The pool's TLS settings this agent was made for (to tell a change on reload). */
  tlsKey = 'null';

  constructor(
    private readonly stack: Stack,
    readonly opts: BackendAgentOptions,
  ) {
    super({ keepAlive: true, maxSockets: opts.maxTotal, maxFreeSockets: opts.maxIdle, timeout: opts.idleMs, scheduling: 'lifo' });
  }

  /** Connections open now (busy and idle). */
  get openConnections(): number {
    let n = 0;
    for (const list of [...Object.values(this.sockets), ...Object.values(this.freeSockets)]) n += list?.length ?? 0;
    return n;
  }

  override createConnection(_options: ClientRequestArgs, _callback?: (err: Error | null, stream: Duplex) => void): Duplex {
    this.opened++;
    const { addr, port, tls } = this.opts;
    let sock: Duplex;
    if (tls) {
      const t: TlsSocket = tlsConnect(this.stack, { ...tls, host: addr, port, handshakeTimeoutMs: 0 });
      if (this.opts.onKeylog) t.on('keylog', this.opts.onKeylog);
      sock = t;
    } else {
      sock = this.stack.connect({ host: addr, port, noDelay: true });
    }
    // tunstack sockets allow half-open connections: a backend that closes an idle pooled connection
    // (FIN) would leave it half-closed in the pool. Close our side too, once node:http has seen the end.
    sock.once('end', () => setImmediate(() => sock.destroy()));
    // As net.createConnection does with the agent's `timeout`: 'timeout' after idleMs without traffic.
    (sock as TimeoutSocket).setTimeout(this.opts.idleMs);
    return sock;
  }

  /** No new requests will come (a reload replaced or removed it): idle connections close now, busy ones when their request ends. */
  retire(): void {
    this.maxFreeSockets = 0;
    for (const list of Object.values(this.freeSockets)) for (const s of list ?? []) s.destroy();
  }

  override reuseSocket(socket: Duplex, request: import('node:http').ClientRequest): void {
    this.reused++;
    super.reuseSocket(socket, request);
  }
}

type TimeoutSocket = Duplex & { setTimeout(ms: number, cb?: () => void): unknown };

