// Brings up a whole tunstack on a real TUN device — device, namespace, capture, stack — and
// takes it all down again exactly once, whether the process ends by signal, error or normally.

import { TunLink } from '../link/tun-link.js';
import { PcapTap, fileSink } from '../link/pcap-tap.js';
import type { Link } from '../link/link.js';
import { Stack } from '../socket/stack.js';

export interface RunningStackOptions {
  addr: string;
  peer: string;
  mtu: number;
  tun?: string;
  netns?: string;
  pcap?: string;
  trace?: (line: string) => void;
}

export class RunningStack {
  private closing: Promise<void> | undefined;
  private readonly onExit = () => this.closeSync();

  private constructor(
    readonly tun: TunLink,
    readonly stack: Stack,
    readonly tap: PcapTap | undefined,
  ) {
    // Last line of defence: whatever ends the process, the device and namespace go with it.
    process.on('exit', this.onExit);
  }

  static async start(opts: RunningStackOptions): Promise<RunningStack> {
    const tun = await TunLink.open({ name: opts.tun, mtu: opts.mtu, netns: opts.netns, peer: opts.peer });
    try {
      let link: Link = tun;
      let tap: PcapTap | undefined;
      if (opts.pcap) {
        tap = new PcapTap(tun, fileSink(opts.pcap), { interfaceName: tun.name });
        link = tap;
      }
      const stack = new Stack(link, { address: opts.addr, trace: opts.trace });
      return new RunningStack(tun, stack, tap);
    } catch (e) {
      tun.closeSync();
      throw e;
    }
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
