// Brings up a whole tunstack on a real TUN device — device, namespace, capture, stack — and
// takes it all down again exactly once, whether the process ends by signal, error or normally.

import { existsSync, rmSync } from 'node:fs';
import { TunLink } from '../link/tun-link.js';
import { PcapTap, openCaptureSink, rotatedPath, fileSink } from '../link/pcap-tap.js';
import { portFilter } from '../link/pcap-flow.js';
import { formatIpv4Addr } from '../wire/addr.js';
import { FaultLink, type Impairment } from '../link/fault-link.js';
import type { BatchReceiver, Link } from '../link/link.js';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createHttpApp } from '../apps/http-handler.js';
import { Stack, type StateChange } from '../socket/stack.js';
import type { TcpServer } from '../socket/tcp-server.js';
import type { TcbOptions } from '../tcp/tcb.js';
import { keyLogFromEnv, type KeyLogFile } from '../socket/keylog.js';
import { tlsConnect, type TlsClientOptions } from '../socket/tls-connect.js';
import { createTlsServer, type TlsServer } from '../socket/tls-server.js';
import type { TlsSocket, TlsSocketOptions } from '../socket/tls-socket.js';
import type { HandshakeTrace, ServerConfig } from '../tls/engine-api.js';

export interface RunningStackOptions {
  addr: string;
  peer: string;
  mtu: number;
  tun?: string;
  netns?: string;
  /** Capture to this file, '-' (stdout) or a FIFO (waits for its reader without blocking the event loop). */
  pcap?: string;
  /** Start a new capture file (name-1.pcapng, name-2 …) once one holds this many bytes. */
  pcapRotateBytes?: number;
  /** Capture only TCP/UDP packets with one of these ports (and ICMP errors about them). */
  pcapPorts?: number[];
  /** Told once when the capture FIFO has no reader yet (start waits for one). */
  onCaptureWaiting?: (path: string) => void;
  /** Told once when the capture stops on an error (the reader went away …); the stack keeps running. */
  onCaptureError?: (error: Error) => void;
  trace?: (line: string) => void;
  /** Structured TCP state changes and TLS handshake messages, as they happen (the demo's timeline). */
  events?: (e: StackEvent) => void;
  /**
   * Sees every batch crossing the TUN: 'in' before the stack processes it, 'in-done' once it has
   * (events in between were caused by that batch), 'out' before the device sends it.
   */
  observe?: (packets: readonly Uint8Array[], direction: 'in' | 'in-done' | 'out') => void;
  /** Trace packets as well as TCP state changes. */
  tracePackets?: boolean;
  /** Serve HTTP (node:http over tunstack's TCP) on this port. */
  httpPort?: number;
  /** Directory for the HTTP server's files (default: the built-in page). */
  httpRoot?: string;
  /** Serve the same HTTP app over TLS 1.3 on this port with this configuration. */
  https?: { port: number; config: ServerConfig };
  /** Append every TLS secret to this key log file (default: $SSLKEYLOGFILE when set). */
  keyLogFile?: KeyLogFile;
  /** Defaults for every TCP connection. */
  tcp?: Omit<TcbOptions, 'mss'>;
  /** Open the TUN with IFF_VNET_HDR and TSO/checksum offloads (GRO in, TSO out). Default true; falls back when refused. */
  offload?: boolean;
  /**
   * Impair the packets tunstack receives (loss, delay, reordering), exactly as `tc qdisc add dev TUN
   * root netem …` on the kernel side's device would; `impairOut` does the same to what tunstack sends.
   * Per TCP segment, with offloads too: FaultLink cuts super-segments whose segments meet different fates.
   */
  impair?: Impairment;
  impairOut?: Impairment;
}

/** One end of a connection as the traces name it: the kernel-side address and port, tunstack's port. */
export interface ConnectionId {
  remoteAddr: string;
  remotePort: number;
  localPort: number;
  /** True when tunstack accepted it (server), false for tunstack's active opens. */
  passive: boolean;
}

export type StackEvent =
  | ({ kind: 'tcp-state'; from: string; to: string } & ConnectionId)
  | ({ kind: 'tls'; direction: 'in' | 'out'; message: string; detail: string } & ConnectionId)
  | ({ kind: 'tls-error'; text: string } & ConnectionId);

/** A Link wrapper that only watches: hands each batch to `observe`, passes it on unchanged. */
class WatchLink implements Link {
  constructor(
    private readonly inner: Link,
    private readonly observe: (packets: readonly Uint8Array[], direction: 'in' | 'in-done' | 'out') => void,
  ) {}
  get name(): string {
    return this.inner.name;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get tsoMaxSize(): number | undefined {
    return this.inner.tsoMaxSize;
  }
  setReceiver(receiver: BatchReceiver): void {
    this.inner.setReceiver((packets, gso, partial) => {
      this.observe(packets, 'in');
      try {
        receiver(packets, gso, partial);
      } finally {
        this.observe(packets, 'in-done');
      }
    });
  }
  send(packets: readonly Uint8Array[], gso?: readonly number[]): void {
    this.observe(packets, 'out');
    this.inner.send(packets, gso);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

export class RunningStack {
  private closing: Promise<void> | undefined;
  private readonly onExit = () => this.closeSync();

  http: { server: HttpServer; tcp: TcpServer } | undefined;
  https: { server: HttpServer; tls: TlsServer } | undefined;
  private trace: ((line: string) => void) | undefined;
  private events: ((e: StackEvent) => void) | undefined;
  private keyLogFile: KeyLogFile | undefined;
  /** The fault injector, when --impair/--impair-out (its counters: segments dropped, super-segments split …). */
  fault: FaultLink | undefined;

  private constructor(
    readonly tun: TunLink,
    readonly stack: Stack,
    readonly tap: PcapTap | undefined,
  ) {
    // Last line of defence: whatever ends the process, the device and namespace go with it.
    process.on('exit', this.onExit);
  }

  static async start(opts: RunningStackOptions): Promise<RunningStack> {
    // The capture first: waiting for a FIFO's reader happens before anything is created.
    const pcap = opts.pcap;
    const newFile = pcap !== undefined && pcap !== '-' && !existsSync(pcap);
    const sink = pcap !== undefined ? await openCaptureSink(pcap, { onWaiting: () => opts.onCaptureWaiting?.(pcap) }) : undefined;
    let tun: TunLink;
    try {
      tun = await TunLink.open({ name: opts.tun, mtu: opts.mtu, netns: opts.netns, peer: opts.peer, offload: opts.offload ?? true });
    } catch (e) {
      sink?.close();
      // No device, no capture: do not leave an empty file behind.
      if (newFile) rmSync(pcap, { force: true });
      throw e;
    }
    try {
      let link: Link = tun;
      let tap: PcapTap | undefined;
      let fault: FaultLink | undefined;
      if (sink !== undefined && pcap !== undefined) {
        const rotate = opts.pcapRotateBytes;
        tap = new PcapTap(tun, sink, {
          interfaceName: tun.name,
          ...(opts.pcapPorts && opts.pcapPorts.length > 0 ? { filter: portFilter(opts.pcapPorts) } : {}),
          ...(rotate !== undefined ? { rotate: { maxBytes: rotate, openNext: (i: number) => fileSink(rotatedPath(pcap, i)) } } : {}),
          ...(opts.onCaptureError ? { onError: opts.onCaptureError } : {}),
        });
        link = tap;
      }
      if (opts.observe) link = new WatchLink(link, opts.observe);
      // The fault injector sits above the tap: the capture shows what really crossed the TUN.
      if (opts.impair || opts.impairOut) {
        fault = new FaultLink(link, {
          ...(opts.impair ? { inbound: opts.impair } : {}),
          ...(opts.impairOut ? { outbound: opts.impairOut } : {}),
          seed: 1,
        });
        link = fault;
      }
      // TCP state changes also go to the capture (as comments on the packets that caused them) and to
      // `events`, whether or not the user asked for a trace.
      const onStateChange =
        opts.events || tap
          ? ({ tcb, from, to, text }: StateChange) => {
              tap?.noteStateChange({ remoteAddr: tcb.remoteAddr, remotePort: tcb.remotePort, localPort: tcb.localPort, from, to, text: text.replace(/ {2}/, ' ') });
              opts.events?.({
                kind: 'tcp-state',
                remoteAddr: formatIpv4Addr(tcb.remoteAddr),
                remotePort: tcb.remotePort,
                localPort: tcb.localPort,
                passive: tcb.passive,
                from,
                to,
              });
            }
          : undefined;
      const stack = new Stack(link, {
        address: opts.addr,
        ...(opts.trace ? { trace: opts.trace, tracePackets: opts.tracePackets ?? true } : {}),
        ...(onStateChange ? { onStateChange } : {}),
        ...(opts.tcp ? { tcp: opts.tcp } : {}),
      });
      const running = new RunningStack(tun, stack, tap);
      running.trace = opts.trace;
      running.events = opts.events;
      running.keyLogFile = opts.keyLogFile ?? keyLogFromEnv(process.env, (e) => process.stderr.write(`tunstack: ${e.message}\n`));
      running.fault = fault;
      if (opts.httpPort !== undefined) running.serveHttp(opts.httpPort, opts.httpRoot);
      if (opts.https) running.serveHttps(opts.https.port, opts.https.config, opts.httpRoot);
      return running;
    } catch (e) {
      tun.closeSync();
      throw e;
    }
  }

  /** node:http, unmodified, on tunstack's TCP: each accepted TcpSocket is injected as a connection. */
  serveHttp(port: number, root?: string): void {
    const server = createHttpServer(createHttpApp(root !== undefined ? { root } : {}));
    const tcp = this.stack.createServer((socket) => server.emit('connection', socket));
    tcp.listen(port);
    this.http = { server, tcp };
  }

  /**
   * The HTTP app over TLS 1.3 on tunstack's TCP: node:http gets each TlsSocket once its handshake is
   * done. Failed handshakes are traced (with the alert) and never stop the server.
   */
  serveHttps(port: number, config: ServerConfig, root?: string): TlsServer {
    const server = createHttpServer(createHttpApp(root !== undefined ? { root } : {}));
    const tls = createTlsServer(this.stack, config, (socket) => server.emit('connection', socket));
    tls.on('keylog', (line: Buffer, socket: TlsSocket) => this.logKey(line.toString('latin1'), socket));
    const trace = this.trace;
    const events = this.events;
    if (trace || events) {
      tls.on('tlsTrace', (t: HandshakeTrace, socket: TlsSocket) => {
        trace?.(describeTlsTrace(socket, t));
        events?.({ kind: 'tls', ...tlsConnectionId(socket), direction: t.direction, message: t.message, detail: t.detail });
      });
      tls.on('tlsClientError', (err: Error, socket: TlsSocket) => {
        trace?.(`tls ${describeTlsSocket(socket)}  handshake failed: ${err.message}`);
        events?.({ kind: 'tls-error', ...tlsConnectionId(socket), text: `handshake failed: ${err.message}` });
      });
      tls.on('secureConnection', (socket: TlsSocket) =>
        socket.on('error', (err: Error) => {
          trace?.(`tls ${describeTlsSocket(socket)}  failed: ${err.message}`);
          events?.({ kind: 'tls-error', ...tlsConnectionId(socket), text: `failed: ${err.message}` });
        }),
      );
    }
    tls.listen(port);
    this.https = { server, tls };
    return tls;
  }

  /** A TLS client connection on tunstack's TCP, its secrets logged (key log, capture) and traced like the server's. */
  connectTls(options: TlsClientOptions & TlsSocketOptions & { port: number }): TlsSocket {
    const socket = tlsConnect(this.stack, options);
    socket.on('keylog', (line: Buffer) => this.logKey(line.toString('latin1'), socket));
    const trace = this.trace;
    const events = this.events;
    if (trace || events) {
      socket.on('tlsTrace', (t: HandshakeTrace) => {
        trace?.(describeTlsTrace(socket, t));
        events?.({ kind: 'tls', ...tlsConnectionId(socket), direction: t.direction, message: t.message, detail: t.detail });
      });
    }
    return socket;
  }

  /**
   * One key log line: into the capture as a Decryption Secrets Block (synchronously, so it precedes the
   * records it decrypts) and into the key log file.
   */
  logKey(line: string, socket?: TlsSocket): void {
    // NSS key log: "<LABEL> <client random hex> <secret hex>"; the client random names the connection,
    // so a rotated capture file repeats only the secrets of connections still open.
    const clientRandom = line.split(' ')[1] ?? '';
    const tap = this.tap;
    if (tap) {
      tap.addSecrets(line, clientRandom);
      if (socket && !this.secretsWatched.has(socket)) {
        this.secretsWatched.add(socket);
        socket.once('close', () => {
          this.secretsWatched.delete(socket);
          tap.forgetSecrets(clientRandom);
        });
      }
    }
    this.keyLogFile?.append(line);
  }
  private readonly secretsWatched = new WeakSet<TlsSocket>();

  /** Closes the stack, the capture, the device and the namespace it created. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      process.off('exit', this.onExit);
      await this.stack.close(); // closes the tap (if any), which closes the TUN link
      await this.tun.close();
    })();
    return this.closing;
  }

  closeSync(): void {
    process.off('exit', this.onExit);
    this.tun.closeSync();
  }
}

function tlsConnectionId(socket: TlsSocket): ConnectionId {
  return {
    remoteAddr: socket.remoteAddress ?? '?',
    remotePort: socket.remotePort ?? 0,
    localPort: socket.localPort ?? 0,
    passive: socket.connection.role === 'server',
  };
}

/** "198.18.0.1:41234 → :443" (server side) or ":41234 → 198.18.0.1:8443" (client side), as the TCP trace says it. */
function describeTlsSocket(socket: TlsSocket): string {
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  return socket.connection.role === 'server' ? `${remote} → :${socket.localPort ?? '?'}` : `:${socket.localPort ?? '?'} → ${remote}`;
}

function describeTlsTrace(socket: TlsSocket, t: HandshakeTrace): string {
  return `tls ${describeTlsSocket(socket)}  ${t.direction === 'in' ? 'in ' : 'out'} ${t.message}${t.detail ? ` ${t.detail}` : ''}`;
}
