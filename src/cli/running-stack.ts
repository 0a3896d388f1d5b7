// Brings up a whole tunstack on a real TUN device — device, namespace, capture, stack — and
// takes it all down again exactly once, whether the process ends by signal, error or normally.

import { TunLink } from '../link/tun-link.js';
import { PcapTap, fileSink } from '../link/pcap-tap.js';
import { FaultLink, type Impairment } from '../link/fault-link.js';
import type { Link } from '../link/link.js';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createHttpApp } from '../apps/http-handler.js';
import { Stack } from '../socket/stack.js';
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
  pcap?: string;
  trace?: (line: string) => void;
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

export class RunningStack {
  private closing: Promise<void> | undefined;
  private readonly onExit = () => this.closeSync();

  http: { server: HttpServer; tcp: TcpServer } | undefined;
  https: { server: HttpServer; tls: TlsServer } | undefined;
  private trace: ((line: string) => void) | undefined;
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
    const tun = await TunLink.open({ name: opts.tun, mtu: opts.mtu, netns: opts.netns, peer: opts.peer, offload: opts.offload ?? true });
    try {
      let link: Link = tun;
      let tap: PcapTap | undefined;
      let fault: FaultLink | undefined;
      if (opts.pcap) {
        tap = new PcapTap(tun, fileSink(opts.pcap), { interfaceName: tun.name });
        link = tap;
      }
      // The fault injector sits above the tap: the capture shows what really crossed the TUN.
      if (opts.impair || opts.impairOut) {
        fault = new FaultLink(link, {
          ...(opts.impair ? { inbound: opts.impair } : {}),
          ...(opts.impairOut ? { outbound: opts.impairOut } : {}),
          seed: 1,
        });
        link = fault;
      }
      const stack = new Stack(link, {
        address: opts.addr,
        trace: opts.trace,
        tracePackets: opts.tracePackets ?? true,
        ...(opts.tcp ? { tcp: opts.tcp } : {}),
      });
      const running = new RunningStack(tun, stack, tap);
      running.trace = opts.trace;
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
    tls.on('keylog', (line: Buffer) => this.logKey(line.toString('latin1')));
    if (this.trace) {
      const trace = this.trace;
      tls.on('tlsTrace', (t: HandshakeTrace, socket: TlsSocket) => trace(describeTlsTrace(socket, t)));
      tls.on('tlsClientError', (err: Error, socket: TlsSocket) => trace(`tls ${describeTlsSocket(socket)}  handshake failed: ${err.message}`));
      tls.on('secureConnection', (socket: TlsSocket) =>
        socket.on('error', (err: Error) => trace(`tls ${describeTlsSocket(socket)}  failed: ${err.message}`)),
      );
    }
    tls.listen(port);
    this.https = { server, tls };
    return tls;
  }

  /** A TLS client connection on tunstack's TCP, its secrets logged (key log, capture) and traced like the server's. */
  connectTls(options: TlsClientOptions & TlsSocketOptions & { port: number }): TlsSocket {
    const socket = tlsConnect(this.stack, options);
    socket.on('keylog', (line: Buffer) => this.logKey(line.toString('latin1')));
    if (this.trace) {
      const trace = this.trace;
      socket.on('tlsTrace', (t: HandshakeTrace) => trace(describeTlsTrace(socket, t)));
    }
    return socket;
  }

  /**
   * One key log line: into the capture as a Decryption Secrets Block (synchronously, so it precedes the
   * records it decrypts) and into the key log file.
   */
  logKey(line: string): void {
    this.tap?.addSecrets(line);
    this.keyLogFile?.append(line);
  }

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

/** "198.18.0.1:41234 → :443" (server side) or ":41234 → 198.18.0.1:8443" (client side), as the TCP trace says it. */
function describeTlsSocket(socket: TlsSocket): string {
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  return socket.connection.role === 'server' ? `${remote} → :${socket.localPort ?? '?'}` : `:${socket.localPort ?? '?'} → ${remote}`;
}

function describeTlsTrace(socket: TlsSocket, t: HandshakeTrace): string {
  return `tls ${describeTlsSocket(socket)}  ${t.direction === 'in' ? 'in ' : 'out'} ${t.message}${t.detail ? ` ${t.detail}` : ''}`;
}
