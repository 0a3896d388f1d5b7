// The Stack driver: the one place where the sans-IO protocol core meets the event loop.
// It feeds each inbound batch through the IP layer with one `now`, transmits everything that
// produced in one batch, and sleeps on a single timer until the core's earliest deadline.

import { parseIpv4Addr } from '../wire/addr.js';
import { describeIpv4Packet } from '../wire/describe.js';
import { Ipv4Host } from '../ip/host.js';
import { snapshotCounters, type IpCounters } from '../ip/counters.js';
import type { Link } from '../link/link.js';

export interface StackOptions {
  /** tunstack's IPv4 address, e.g. '198.18.0.2'. */
  address: string;
  /** Milliseconds; injectable for tests. Default: performance.now(). */
  clock?: () => number;
  /** Receives one line per packet in and out when set (the CLI's --trace). */
  trace?: (line: string) => void;
}

export class Stack {
  readonly host: Ipv4Host;
  readonly address: string;
  private readonly clock: () => number;
  private readonly trace: ((line: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerDeadline: number | undefined;
  private closed = false;
  private readonly outBatch: Uint8Array[] = [];

  constructor(
    readonly link: Link,
    opts: StackOptions,
  ) {
    const addr = parseIpv4Addr(opts.address);
    if (addr === undefined) throw new Error(`not an IPv4 address: ${opts.address}`);
    this.address = opts.address;
    this.clock = opts.clock ?? (() => performance.now());
    this.trace = opts.trace;
    this.host = new Ipv4Host({ address: addr, mtu: link.mtu });
    link.setReceiver((packets) => this.onBatch(packets));
  }

  counters(): IpCounters {
    return snapshotCounters(this.host.counters);
  }

  /** Sends whatever the core has queued (used after API calls that produce packets). */
  flush(): void {
    if (this.closed) return;
    const batch = this.outBatch;
    for (let p = this.host.pollTransmit(); p !== undefined; p = this.host.pollTransmit()) batch.push(p);
    if (batch.length > 0) {
      if (this.trace) for (const p of batch) this.trace(`out ${describeIpv4Packet(p)}`);
      this.link.send(batch);
      batch.length = 0;
    }
    this.armTimer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.link.close();
  }

  private onBatch(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    const now = this.clock();
    for (const p of packets) {
      if (this.trace) this.trace(`in  ${describeIpv4Packet(p)}`);
      this.host.handlePacket(now, p);
    }
    this.flush();
  }

  private armTimer(): void {
    const deadline = this.host.pollTimeout();
    if (deadline === this.timerDeadline) return;
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
    }, delay);
    this.timer.unref();
  }
}
