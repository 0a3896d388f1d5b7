// The Stack driver: the one place where the sans-IO protocol core meets the event loop.
// It feeds each inbound batch through the IP layer (and TCP) with one `now`, hands TCP events to
// sockets and servers, transmits everything produced in one batch, and sleeps on a single timer
// until the core's earliest deadline. createServer/connect give node:net-like objects.

import { randomBytes, randomInt } from 'node:crypto';
import { formatIpv4Addr, parseIpv4Addr } from '../wire/addr.js';
import { describeIpv4Packet } from '../wire/describe.js';
import { Ipv4Host } from '../ip/host.js';
import { snapshotCounters, type IpCounters } from '../ip/counters.js';
import { Cubic } from '../tcp/cc/cubic.js';
import { TcpEndpoint, type Listener } from '../tcp/endpoint.js';
import type { Tcb, TcbOptions, TcpEvent } from '../tcp/tcb.js';
import type { TcpState } from '../tcp/state.js';
import type { Link } from '../link/link.js';
import { TcpServer, type ServerDriver } from './tcp-server.js';
import { TcpSocket, type SocketDriver } from './tcp-socket.js';

export interface StackOptions {
  /** tunstack's IPv4 address, e.g. '198.18.0.2'. */
  address: string;
  /** Milliseconds; injectable for tests. Default: performance.now(). */
  clock?: () => number;
  /** Receives one line per packet in and out, and per TCP state change, when set (the CLI's --trace). */
  trace?: (line: string) => void;
  /** Trace packets too, not only TCP state changes (default true when trace is set). */
  tracePackets?: boolean;
  /** Defaults for every TCP connection. */
  tcp?: Omit<TcbOptions, 'mss'>;
  /**
   * Receives every TCP state change of every connection, with the trace's text for it (the capture's
   * comments and the demo's timeline use it), whether or not `trace` is set.
   */
  onStateChange?: (change: StateChange) => void;
}

/** One TCP state change: the connection, the RFC state names, and the trace line's text without "tcp ". */
export interface StateChange {
  tcb: Tcb;
  from: TcpState;
  to: TcpState;
  text: string;
}

export interface ConnectOptions {
  host: string;
  port: number;
  localPort?: number;
  noDelay?: boolean;
}

export class Stack implements SocketDriver, ServerDriver {
  readonly host: Ipv4Host;
  readonly tcp: TcpEndpoint;
  readonly address: string;
  private readonly clock: () => number;
  private readonly trace: ((line: string) => void) | undefined;
  private readonly tracePackets: boolean;
  private readonly onStateChange: ((change: StateChange) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline: number | undefined;
  private closed = false;
  private flushScheduled = false;
  private readonly outBatch: Uint8Array[] = [];
  private readonly outGso: number[] = [];
  private readonly sockets = new Map<Tcb, TcpSocket>();
  private readonly servers = new Map<number, TcpServer>();

  constructor(
    readonly link: Link,
    opts: StackOptions,
  ) {
    const addr = parseIpv4Addr(opts.address);
    if (addr === undefined) throw new Error(`not an IPv4 address: ${opts.address}`);
    this.address = opts.address;
    this.clock = opts.clock ?? (() => performance.now());
    this.trace = opts.trace;
    this.tracePackets = opts.tracePackets ?? true;
    this.onStateChange = opts.onStateChange;
    this.host = new Ipv4Host({ address: addr, mtu: link.mtu });
    // RFC 9293 §3.7.1: the MSS we announce is the MTU less the IPv4 and TCP headers.
    // tunstack's own defaults: RFC 7323 window scaling and timestamps, SACK-permitted (we send SACK
    // blocks) and a 1 MiB receive buffer — each used only when the peer offers it too — and CUBIC
    // (RFC 9438) for congestion control.
    this.tcp = new TcpEndpoint({
      address: addr,
      mss: link.mtu - 40,
      // Randomness comes from here, the I/O side: the RFC 6528 secret and the first ephemeral port
      // (RFC 6056 §3.3.1 suggests a random start).
      isnKey: randomBytes(16),
      ephemeralStart: randomInt(49152, 65536),
      tcb: {
        windowScaling: true,
        timestamps: true,
        sack: true,
        recvBufferSize: 1 << 20,
        congestionControl: (mss, iw) => new Cubic(mss, iw),
        // TSO when the link can cut super-segments (a TUN with offloads): data octets per super-segment.
        gsoMaxSize: link.tsoMaxSize ? link.tsoMaxSize - 120 : 0,
        ...opts.tcp,
      },
    });
    this.host.attachTcp(this.tcp);
    link.setReceiver((packets, _gso, partial) => this.onBatch(packets, partial));
  }

  // ------------------------------------------------------------------ the node:net-like API

  /** A TCP server; listen(port) on it. `onConnection` gets each accepted TcpSocket. */
  createServer(onConnection?: (socket: TcpSocket) => void): TcpServer {
    const server = new TcpServer(this);
    if (onConnection) server.on('connection', onConnection);
    return server;
  }

  /** An active open to host:port; the socket emits 'connect' (or 'error': ECONNREFUSED, ETIMEDOUT). */
  connect(opts: ConnectOptions): TcpSocket {
    const addr = parseIpv4Addr(opts.host);
    if (addr === undefined) throw new TypeError(`connect: host must be an IPv4 address, not "${opts.host}"`);
    if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) throw new RangeError(`connect: bad port ${opts.port}`);
    const tcb = this.tcp.connect(this.now(), addr, opts.port, opts.localPort !== undefined ? { localPort: opts.localPort } : {});
    if (opts.noDelay) tcb.setNoDelay(true);
    const socket = new TcpSocket(this, tcb, true);
    this.sockets.set(tcb, socket);
    this.kick(tcb);
    return socket;
  }

  /** Sockets the application still holds (for leak checks). */
  socketCount(): number {
    return this.sockets.size;
  }

  counters(): IpCounters {
    return snapshotCounters(this.host.counters);
  }

  /** Live connections with their state and queues, for status listings. */
  connectionTable(): Array<{ local: string; remote: string } & ReturnType<Tcb['info']>> {
    return this.tcp.connections().map((t) => ({
      local: `${formatIpv4Addr(t.localAddr)}:${t.localPort}`,
      remote: `${formatIpv4Addr(t.remoteAddr)}:${t.remotePort}`,
      ...t.info(),
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.sockets.values()) s.destroy();
    await this.link.close();
  }

  // ------------------------------------------------------------------ SocketDriver / ServerDriver

  now(): number {
    return this.clock();
  }

  kick(tcb: Tcb): void {
    this.tcp.touch(tcb);
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  release(tcb: Tcb): void {
    this.sockets.delete(tcb);
    if (tcb.state !== 'CLOSED') {
      // Nobody will read or close this connection any more: bound its FIN-WAIT-2.
      tcb.orphan(this.now());
      this.kick(tcb);
    }
  }

  listen(server: TcpServer, port: number, backlog: number): Listener {
    const l = this.tcp.listen(port, backlog);
    this.servers.set(port, server);
    return l;
  }

  unlisten(_server: TcpServer, port: number): void {
    this.tcp.unlisten(port);
    this.servers.delete(port);
  }

  // ------------------------------------------------------------------ the loop

  /** Polls the core and sends whatever it queued; dispatches TCP events. */
  flush(): void {
    if (this.closed) return;
    this.host.flushTcp(this.clock());
    this.dispatchEvents();
    const batch = this.outBatch;
    const gso = this.outGso;
    let anyGso = false;
    for (let p = this.host.pollTransmit(); p !== undefined; p = this.host.pollTransmit()) {
      batch.push(p);
      gso.push(this.host.lastGso);
      if (this.host.lastGso > 0) anyGso = true;
    }
    if (batch.length > 0) {
      if (this.trace && this.tracePackets) for (const p of batch) this.trace(`out ${describeIpv4Packet(p)}`);
      if (anyGso) this.link.send(batch, gso);
      else this.link.send(batch);
      batch.length = 0;
      // The link is done with the buffers (Link.send's contract): the host may reuse their storage.
      this.host.releaseTransmitted();
    }
    gso.length = 0;
    this.armTimer();
  }

  private onBatch(packets: readonly Uint8Array[], partial: readonly boolean[] | undefined): void {
    if (this.closed) return;
    const now = this.clock();
    for (let i = 0; i < packets.length; i++) {
      const p = packets[i]!;
      if (this.trace && this.tracePackets) this.trace(`in  ${describeIpv4Packet(p)}`);
      this.host.handlePacket(now, p, partial?.[i] === true);
    }
    this.flush();
  }

  private dispatchEvents(): void {
    for (let e = this.tcp.pollEvent(); e !== undefined; e = this.tcp.pollEvent()) {
      if (e.kind === 'accept') {
        const server = this.servers.get(e.listener.port);
        if (!server) {
          e.tcb.abort();
          this.tcp.touch(e.tcb);
          continue;
        }
        const socket = new TcpSocket(this, e.tcb, false);
        this.sockets.set(e.tcb, socket);
        server.accept(socket);
        continue;
      }
      if (e.event.type === 'state' && (this.trace || this.onStateChange)) {
        const text = this.describeTransition(e.tcb, e.event);
        this.onStateChange?.({ tcb: e.tcb, from: e.event.from, to: e.event.to, text });
        this.trace?.(`tcp ${text}`);
      }
      this.sockets.get(e.tcb)?.onTcpEvent(e.event);
    }
  }

  private describeTransition(t: Tcb, e: Extract<TcpEvent, { type: 'state' }>): string {
    const remote = `${formatIpv4Addr(t.remoteAddr)}:${t.remotePort}`;
    const conn = t.passive ? `${remote} → :${t.localPort}` : `:${t.localPort} → ${remote}`;
    return `${conn}  ${e.from} → ${e.to}`;
  }

  private armTimer(): void {
    const deadline = this.host.pollTimeout();
    if (deadline === this.timerDeadline && this.timer) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDeadline = deadline;
    if (deadline === undefined) return;
    const delay = Math.max(0, deadline - this.clock());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerDeadline = undefined;
      if (this.closed) return;
      this.host.handleTimeout(this.clock());
      this.flush();
    }, Math.ceil(delay));
    this.timer.unref();
  }
}
