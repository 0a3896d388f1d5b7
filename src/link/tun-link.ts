// TunLink: the Link over a real Linux TUN device, through the native addon. It opens the device, sets its MTU,
// optionally moves it into a network namespace, and configures the kernel side (the peer address) with `ip`.

import { parseCidr } from '../wire/addr.js';
import type { BatchReceiver, Link } from './link.js';
import { createNetns, deleteNetns, deleteNetnsSync, netnsExists, run } from './netns.js';
import { loadTunAddon, type TunError, type TunHandle, type TunStats } from './tun-native.js';
import {
  decodeVirtioFrame,
  newVirtioRxCounters,
  prepareTcpGso,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_LEN,
  type VirtioRxCounters,
} from './virtio-net.js';

export interface TunLinkOptions {
  /** Requested device name; default: kernel-chosen `tun%d`. */
  name?: string;
  /** Default 1500. */
  mtu?: number;
  /** Move the device into this namespace (created if missing — and then deleted by close()). */
  netns?: string;
  /** The kernel side's address and prefix, put on the device. Default '198.18.0.1/24'. */
  peer?: string;
  /**
   * Turn IPv6 off on the device (default true): tunstack speaks IPv4 only, and an IPv6-enabled
   * device would emit router solicitations and MLD reports into the link when it comes up.
   */
  disableIpv6?: boolean;
  /** The device stopped delivering packets (e.g. it was deleted). Default: an 'uncaughtException'. */
  onError?: (error: TunError) => void;
  /**
   * Opt-in offloads (default false): the device is opened with IFF_VNET_HDR, TUNSETVNETHDRSZ 10 and
   * TUNSETOFFLOAD TUN_F_CSUM | TUN_F_TSO4, so the kernel may hand over TCP super-packets of up to 64 KB
   * (GSO, larger than `mtu`) and partial checksums. The link strips the header, finishes the checksums
   * and passes plain IPv4 packets up; it sends plain packets with a zero header (no GSO).
   */
  offload?: boolean;
  /**
   * Tests only: make TUNSETOFFLOAD fail with EINVAL as a kernel without these offloads would, so the
   * fallback to a plain TUN (and `offloadUnavailable`) can be exercised on a kernel that has them.
   * Default: whether the environment has TUNSTACK_TEST_REFUSE_OFFLOAD=1 (so a `tunstack serve`
   * child process can be told too). Never set it outside tests.
   */
  testRefuseOffload?: boolean;
}

/** The environment variable behind TunLinkOptions.testRefuseOffload (tests only). */
export const TEST_REFUSE_OFFLOAD_ENV = 'TUNSTACK_TEST_REFUSE_OFFLOAD';

/** TunLink's counters: the addon's, plus the offload path's (all 0 without `offload`). */
export interface TunLinkStats extends TunStats {
  /** Received packets that were GSO super-packets. */
  gsoPacketsReceived: number;
  /** The MSS-sized segments those super-packets stood for. */
  gsoSegmentsReceived: number;
  /** Partial (NEEDS_CSUM) TCP/UDP checksums completed on receive. */
  checksumsCompleted: number;
  /** Received TCP checksums left partial (CHECKSUM_PARTIAL from the kernel: nothing to verify). */
  checksumsLeftPartial: number;
  /** GSO super-packets whose IPv4 total length had to be rewritten (BIG TCP's 0). */
  ipLengthsFixed: number;
  /** Received frames dropped for a malformed or unsupported virtio-net header. */
  offloadMalformed: number;
}

export const DEFAULT_PEER = '198.18.0.1/24';
export const DEFAULT_MTU = 1500;

/** Packets the kernel may queue on the device for tunstack to read. */
const TX_QUEUE_LEN = 10_000;

export class TunLink implements Link {
  #handle: TunHandle;
  readonly #netns: string | undefined;
  readonly #createdNetns: boolean;
  readonly #mtu: number;
  readonly #name: string;
  readonly #onError: ((error: TunError) => void) | undefined;
  #receiver: BatchReceiver | undefined;
  #closing: Promise<void> | undefined;
  #closedSync = false;
  readonly #offload: boolean;
  readonly #rx: VirtioRxCounters = newVirtioRxCounters();
  /** decodeVirtioFrame's per-packet answer: TCP with its checksum left partial. */
  readonly #partialMark = { tcp: false };

  private constructor(
    handle: TunHandle,
    mtu: number,
    netns: string | undefined,
    createdNetns: boolean,
    onError: ((error: TunError) => void) | undefined,
    offload: boolean,
  ) {
    this.#offload = offload;
    this.#handle = handle;
    this.#name = handle.name;
    this.#mtu = mtu;
    this.#netns = netns;
    this.#createdNetns = createdNetns;
    this.#onError = onError;
  }

  /**
   * Opens a TUN device and configures the kernel side:
   *   open + TUNSETIFF → SIOCSIFMTU (in our namespace, before any move) → [ip netns add NS] →
   *   [ip link set DEV netns NS; ip -n NS link set lo up] → ip [-n NS] addr add PEER dev DEV → ip [-n NS] link set DEV up.
   * If a step fails, the steps before it are undone (fd closed, namespace deleted if created here) and the error rethrown.
   */
  static async open(opts: TunLinkOptions = {}): Promise<TunLink> {
    const mtu = opts.mtu ?? DEFAULT_MTU;
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new RangeError(`TunLink: mtu must be an integer from 68 to 65535, got ${mtu}`);
    const peer = opts.peer ?? DEFAULT_PEER;
    if (parseCidr(peer) === undefined) throw new TypeError(`TunLink: peer must be an IPv4 CIDR like ${DEFAULT_PEER}, got "${peer}"`);
    const ns = opts.netns;
    const addon = loadTunAddon();
    let offloadUnavailable: string | undefined;

    const flags = addon.offloadFlags;
    if (opts.offload && flags === undefined) throw new Error("TunLink: offload needs a newer native addon: rebuild it with `npm run build:native`");
    const name = opts.name === undefined ? {} : { name: opts.name };
    let offload = opts.offload ?? false;
    let handle: ReturnType<typeof addon.open>;
    if (offload && flags !== undefined) {
      // Before the device comes up: TSO4 needs CSUM (drivers/net/tun.c set_offload ignores it otherwise).
      // A kernel or device without these offloads (EINVAL, ENOTTY) gets a clean fallback: the plain device.
      let h: ReturnType<typeof addon.open> | undefined;
      try {
        h = addon.open({ ...name, vnetHdr: true, vnetHdrSize: VIRTIO_NET_HDR_LEN, prependVnetHdr: true });
        if (opts.testRefuseOffload ?? process.env[TEST_REFUSE_OFFLOAD_ENV] === '1') throw refusedOffloadForTest();
        h.setOffload(flags.TUN_F_CSUM | flags.TUN_F_TSO4);
        handle = h;
      } catch (e) {
        h?.close();
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPERM' || code === 'ENOENT' || code === 'EBUSY') throw e;
        offloadUnavailable = e instanceof Error ? e.message : String(e);
        offload = false;
        handle = addon.open(name);
      }
    } else {
      handle = addon.open(name);
    }
    let createdNetns = false;
    try {
      const dev = handle.name;
      // Must precede the move: the ioctl socket lives in this process's namespace (see tun.cc, setMtu).
      handle.setMtu(mtu);
      const ip = (args: string[]): Promise<unknown> => run('ip', ns === undefined ? args : ['-n', ns, ...args]);
      if (ns !== undefined) {
        if (!(await netnsExists(ns))) {
          await createNetns(ns);
          createdNetns = true;
        }
        // The device keeps its fd (and our reader) across the move; it arrives down and without addresses.
        await run('ip', ['link', 'set', dev, 'netns', ns]);
        await ip(['link', 'set', 'lo', 'up']);
      }
      if (opts.disableIpv6 ?? true) await disableIpv6(ns, dev);
      await ip(['addr', 'add', peer, 'dev', dev]);
      // The device queue is what the kernel fills while tunstack reads: the default 500 packets
      // overflow (tail drops, retransmissions) as soon as a peer's window exceeds ~700 KB.
      await ip(['link', 'set', dev, 'txqueuelen', String(TX_QUEUE_LEN)]);
      await ip(['link', 'set', dev, 'up']);
      const link = new TunLink(handle, mtu, ns, createdNetns, opts.onError, offload);
      link.offloadUnavailable = offloadUnavailable;
      return link;
    } catch (e) {
      handle.close(); // first: the kernel deletes the device with its last fd, before we touch the namespace
      if (createdNetns && ns !== undefined) {
        try {
          await deleteNetns(ns);
        } catch {
          // keep the original error; the namespace name is in it or in the stale-netns reaper's reach
        }
      }
      throw e;
    }
  }

  get name(): string {
    return this.#name;
  }

  get mtu(): number {
    return this.#mtu;
  }

  /** The namespace the device lives in, or undefined for the current one. */
  get netns(): string | undefined {
    return this.#netns;
  }

  /** Whether open() created the namespace (and close() will delete it). */
  get ownsNetns(): boolean {
    return this.#createdNetns;
  }

  get closed(): boolean {
    return this.#handle.closed;
  }

  /** Why offloads were asked for but could not be had (the link then runs without them). */
  offloadUnavailable: string | undefined;

  /** Whether the device was opened with offloads (IFF_VNET_HDR + TUNSETOFFLOAD). */
  get offload(): boolean {
    return this.#offload;
  }

  stats(): TunLinkStats {
    const rx = this.#rx;
    return {
      ...this.#handle.stats(),
      gsoPacketsReceived: rx.gsoPackets,
      gsoSegmentsReceived: rx.gsoSegments,
      checksumsCompleted: rx.checksumsCompleted,
      checksumsLeftPartial: rx.checksumsLeftPartial,
      ipLengthsFixed: rx.ipLengthsFixed,
      offloadMalformed: rx.malformed,
    };
  }

  /** Installs the receiver and starts reading (reading starts with the first receiver). */
  setReceiver(receiver: BatchReceiver): void {
    this.#receiver = receiver;
    if (this.#handle.closed || this.#handle.polling) return;
    const offload = this.#offload;
    const rx = this.#rx;
    this.#handle.start(
      (buffer, lengths, count) => {
        if (offload) {
          // Strip each frame's virtio-net header (views, no copies) and finish partial checksums in place.
          const packets: Uint8Array[] = [];
          const gso: number[] = [];
          const partial: boolean[] = [];
          let anyGso = false;
          let anyPartial = false;
          let off = buffer.byteOffset;
          for (let i = 0; i < count; i++) {
            const len = lengths[i] as number;
            const frame = new Uint8Array(buffer.buffer, off, len);
            const mark = this.#partialMark;
            const pkt = decodeVirtioFrame(frame, rx, VIRTIO_NET_HDR_LEN, mark);
            if (pkt !== undefined) {
              packets.push(pkt);
              partial.push(mark.tcp);
              if (mark.tcp) anyPartial = true;
              // A GRO super-segment: say its segment size (gso_size) to whoever cares (FaultLink).
              const g = (frame[1]! & ~VIRTIO_NET_HDR_GSO_ECN) === VIRTIO_NET_HDR_GSO_TCPV4 ? frame[4]! | (frame[5]! << 8) : 0;
              if (g > 0) anyGso = true;
              gso.push(g);
            }
            off += len;
          }
          if (packets.length > 0) this.#receiver?.(packets, anyGso ? gso : undefined, anyPartial ? partial : undefined);
          return;
        }
        // Views over the batch buffer (no copies): valid as long as anyone holds them, since each batch is a fresh Buffer.
        const packets = new Array<Uint8Array>(count);
        let off = buffer.byteOffset;
        for (let i = 0; i < count; i++) {
          const len = lengths[i] as number;
          packets[i] = new Uint8Array(buffer.buffer, off, len);
          off += len;
        }
        this.#receiver?.(packets);
      },
      this.#onError,
    );
  }

  /** Writes the batch (one write() per packet; with offload the addon prepends a zero virtio-net header via writev); refused packets are counted in stats().writeErrors. After close(), a no-op. */
  /** With offloads the kernel cuts TCP super-segments of up to 64 KB (TSO over virtio_net_hdr). */
  get tsoMaxSize(): number | undefined {
    return this.offload ? 0xffff : undefined;
  }

  send(packets: readonly Uint8Array[], gso?: readonly number[]): void {
    if (packets.length === 0 || this.#handle.closed) return;
    if (!gso || !this.offload) {
      this.#handle.writeBatch(packets);
      return;
    }
    const headers: Array<Uint8Array | undefined> = [];
    for (let i = 0; i < packets.length; i++) {
      const g = gso[i] ?? 0;
      if (g > 0) {
        const hdr = new Uint8Array(VIRTIO_NET_HDR_LEN);
        headers.push(prepareTcpGso(packets[i]!, g, hdr) ? hdr : undefined);
      } else {
        headers.push(undefined);
      }
    }
    this.#handle.writeBatch(packets, headers);
  }

  /** Lets the process exit while the link is open (like net.Socket#unref). */
  unref(): void {
    this.#handle.unref();
  }

  ref(): void {
    this.#handle.ref();
  }

  /** Closes the fd FIRST (the kernel deletes the device), then deletes the namespace if open() created it. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#handle.close();
      if (this.#createdNetns && this.#netns !== undefined && !this.#closedSync) await deleteNetns(this.#netns);
    })();
    return this.#closing;
  }

  /** close() for process 'exit' handlers: the same steps, synchronously. Idempotent. */
  closeSync(): void {
    this.#handle.close();
    if (this.#closedSync) return;
    this.#closedSync = true;
    if (this.#createdNetns && this.#netns !== undefined) deleteNetnsSync(this.#netns);
  }
}

/** The error the addon throws when the kernel refuses TUNSETOFFLOAD (EINVAL), marked as simulated. */
function refusedOffloadForTest(): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`setting TUN offloads failed: Invalid argument (simulated: ${TEST_REFUSE_OFFLOAD_ENV}=1)`);
  e.code = 'EINVAL';
  e.errno = -22;
  e.syscall = 'ioctl(TUNSETOFFLOAD)';
  return e;
}

/** Best effort: net.ipv6.conf.DEV.disable_ipv6=1 in the device's namespace (absent when IPv6 is off in the kernel). */
async function disableIpv6(ns: string | undefined, dev: string): Promise<void> {
  // sysctl(8) keys use '.' as the separator, so a '.' inside the device name is written as '/'.
  const argv = ['sysctl', '-q', '-w', `net.ipv6.conf.${dev.replaceAll('.', '/')}.disable_ipv6=1`];
  try {
    if (ns === undefined) await run(argv[0] as string, argv.slice(1));
    else await run('ip', ['netns', 'exec', ns, ...argv]);
  } catch {
    // no IPv6 in this kernel, or no sysctl binary: nothing to silence
  }
}
