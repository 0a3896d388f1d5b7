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
  /** Defaults for every TCP connection. */
  tcp?: Omit<TcbOptions, 'mss'>;
  /** Open the TUN with IFF_VNET_HDR and TSO/checksum offloads (GRO in, TSO out). Default true; falls back when refused. */
  offload?: boolean;
  /**
   * Impair the packets tunstack receives (loss, delay, reordering), exactly as `tc qdisc add dev TUN
   * root netem …` on the kernel side's device would; `impairOut` does the same to what tunstack sends.
   */
  impair?: Impairment;
  impairOut?: Impairment;
}

export class RunningStack {
  private closing: Promise<void> | undefined;
  private readonly onExit = () => this.closeSync();

  http: { server: HttpServer; tcp: TcpServer } | undefined;

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
      if (opts.pcap) {
        tap = new PcapTap(tun, fileSink(opts.pcap), { interfaceName: tun.name });
        link = tap;
      }
      // The fault injector sits above the tap: the capture shows what really crossed the TUN.
      if (opts.impair || opts.impairOut) {
        link = new FaultLink(link, {
          ...(opts.impair ? { inbound: opts.impair } : {}),
          ...(opts.impairOut ? { outbound: opts.impairOut } : {}),
          seed: 1,
        });
      }
      const stack = new Stack(link, {
        address: opts.addr,
        trace: opts.trace,
        tracePackets: opts.tracePackets ?? true,
        ...(opts.tcp ? { tcp: opts.tcp } : {}),
      });
      const running = new RunningStack(tun, stack, tap);
      if (opts.httpPort !== undefined) running.serveHttp(opts.httpPort, opts.httpRoot);
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
