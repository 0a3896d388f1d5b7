// PcapTap: a Link wrapper that records every inbound and outbound batch as pcapng (LINKTYPE_RAW,
// nanosecond timestamps) with one synchronous sink write per batch, comments on the packets that changed
// a connection's state, rotation and filtering; plus the sinks (file, stdout, FIFO, memory).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isatty } from 'node:tty';
import {
  DEFAULT_SNAPLEN,
  type Direction,
  type EnhancedPacket,
  LINKTYPE_RAW,
  encodeDecryptionSecrets,
  encodeEnhancedPacketInto,
  encodeInterfaceDescription,
  encodeSectionHeader,
  enhancedPacketLen,
} from '../capture/pcapng.js';
import type { BatchReceiver, Link } from './link.js';
import { fillTcpChecksum } from '../wire/tcp.js';
import { causeOf, isSegmentOf, packetFlow, type TapConnection } from './pcap-flow.js';

/**
 * Where capture bytes go. `write` must have the bytes stored (or copied) when it returns: the
 * bytes are a view that the tap reuses for the next batch. A failing sink throws; the tap then
 * stops capturing and remembers the error.
 */
export interface CaptureSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// Sinks

/** How long a non-blocking fd may refuse to take any byte (EAGAIN) before the write gives up. */
const EAGAIN_BUDGET_MS = 2000;

let sleepCell: Int32Array | undefined;
/** Blocks the thread for ms milliseconds (used only while a pipe is full). */
function sleepSync(ms: number): void {
  sleepCell ??= new Int32Array(new SharedArrayBuffer(4));
  Atomics.wait(sleepCell, 0, 0, ms);
}

function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** Writes all of bytes to fd; waits out EAGAIN (a full non-blocking pipe) for up to EAGAIN_BUDGET_MS without progress. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  let stalledMs = 0;
  while (off < bytes.length) {
    try {
      const n = fs.writeSync(fd, bytes, off, bytes.length - off);
      off += n;
      if (n > 0) stalledMs = 0;
    } catch (e) {
      if (errnoCode(e) !== 'EAGAIN' || stalledMs >= EAGAIN_BUDGET_MS) throw e;
      sleepSync(1);
      stalledMs += 1;
    }
  }
}

/**
 * A sink over an open file descriptor, written synchronously: each write is in the kernel when it
 * returns, so a killed process leaves every completed batch in the file. EAGAIN (non-blocking pipe
 * full) is retried briefly; EPIPE and other errors are thrown to the tap, which stops capturing.
 */
export function fdSink(fd: number, options: { closeFd?: boolean } = {}): CaptureSink {
  let open = true;
  return {
    write(bytes: Uint8Array): void {
      if (!open) throw new Error('capture sink is closed');
      writeAll(fd, bytes);
    },
    close(): void {
      if (!open) return;
      open = false;
      if (options.closeFd ?? true) fs.closeSync(fd);
    },
  };
}

/**
 * A sink writing to a file (created or truncated, parent directories created), or to stdout (fd 1)
 * when path is '-'. A FIFO path works like a file; note that opening a FIFO blocks until a reader
 * opens it (e.g. `tunstack … --pcap /tmp/f & wireshark -k -i /tmp/f`). With '-', nothing else may
 * write to stdout. Throws a one-line Error when the file cannot be opened.
 */
export function fileSink(filePath: string): CaptureSink {
  if (filePath === '-') return fdSink(1, { closeFd: false });
  let fd: number;
  try {
    const dir = path.dirname(filePath);
    if (dir !== '' && dir !== '.') fs.mkdirSync(dir, { recursive: true });
    fd = fs.openSync(filePath, 'w', 0o644);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new Error(`cannot open capture file ${filePath}: ${reason}`, { cause: e });
  }
  return fdSink(fd, { closeFd: true });
}

/** How long `openCaptureSink` waits for a reader to open a FIFO, by default. */
export const FIFO_WAIT_MS = 30_000;

/**
 * Opens the capture destination without ever blocking the event loop on a FIFO: '-' is stdout
 * (refused when it is a terminal), a named pipe is opened with O_NONBLOCK — which fails with ENXIO
 * while nobody reads it (POSIX open(2)) — retried every 100 ms (calling `onWaiting` once) for up to
 * `waitMs`, then reopened blocking so writes wait for a slow reader like tcpdump's do; anything else
 * is a file (fileSink). Throws a one-line Error saying what to do.
 */
export async function openCaptureSink(
  filePath: string,
  options: { onWaiting?: () => void; waitMs?: number } = {},
): Promise<CaptureSink> {
  if (filePath === '-') {
    if (isatty(1)) {
      throw new Error('--pcap - writes binary pcapng to stdout, which is a terminal: pipe it (… | wireshark -k -i -, … | tshark -r -) or give a file name');
    }
    return fdSink(1, { closeFd: false });
  }
  let isFifo = false;
  try {
    isFifo = fs.statSync(filePath).isFIFO();
  } catch {
    // Missing: a new regular file.
  }
  if (!isFifo) return fileSink(filePath);
  const waitMs = options.waitMs ?? FIFO_WAIT_MS;
  const t0 = performance.now();
  let told = false;
  for (;;) {
    let probe: number;
    try {
      probe = fs.openSync(filePath, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (e) {
      if (errnoCode(e) !== 'ENXIO') {
        throw new Error(`cannot open capture FIFO ${filePath}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      if (performance.now() - t0 >= waitMs) {
        throw new Error(
          `nobody opened the FIFO ${filePath} for reading within ${waitMs >= 1000 ? `${Math.round(waitMs / 1000)} s` : `${waitMs} ms`}: start the reader first (e.g. wireshark -k -i ${filePath})`,
        );
      }
      if (!told) options.onWaiting?.();
      told = true;
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    // A reader is there: a blocking descriptor now opens at once; the probe can go.
    try {
      const fd = fs.openSync(filePath, fs.constants.O_WRONLY);
      return fdSink(fd, { closeFd: true });
    } finally {
      fs.closeSync(probe);
    }
  }
}

/** "captures/x.pcapng", 2 → "captures/x-2.pcapng": the name of a rotated capture file. */
export function rotatedPath(filePath: string, index: number): string {
  const ext = path.extname(filePath);
  const stem = ext === '' ? filePath : filePath.slice(0, -ext.length);
  return `${stem}-${index}${ext}`;
}

export interface MemorySink extends CaptureSink {
  /** One copied chunk per write, in order. */
  readonly chunks: Uint8Array[];
  readonly closed: boolean;
  /** All chunks concatenated. */
  bytes(): Uint8Array;
}

/** A sink that keeps copies of everything written, for tests. */
export function memorySink(): MemorySink {
  const chunks: Uint8Array[] = [];
  let closed = false;
  return {
    chunks,
    get closed() {
      return closed;
    },
    write(bytes: Uint8Array): void {
      if (closed) throw new Error('capture sink is closed');
      chunks.push(bytes.slice());
    },
    close(): void {
      closed = true;
    },
    bytes(): Uint8Array {
      let n = 0;
      for (const c of chunks) n += c.length;
      const out = new Uint8Array(n);
      let off = 0;
      for (const c of chunks) {
        out.set(c, off);
        off += c.length;
      }
      return out;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Clock

let clockAnchor: { wallNs: bigint; hrNs: bigint } | undefined;

/**
 * Nanoseconds since the epoch: anchored once to the wall clock (performance.timeOrigin + now(),
 * sub-millisecond), then advanced by process.hrtime — monotonic, nanosecond resolution.
 */
export function wallClockNs(): bigint {
  if (clockAnchor === undefined) {
    const hrNs = process.hrtime.bigint();
    const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    clockAnchor = { wallNs, hrNs };
  }
  return clockAnchor.wallNs + (process.hrtime.bigint() - clockAnchor.hrNs);
}

// ---------------------------------------------------------------------------------------------
// The tap

export interface PcapTapOptions {
  /** Bytes kept per packet (longer packets are cut in the capture only); default 262144. */
  snapLen?: number;
  /** if_name of the IDB; default the inner link's name. */
  interfaceName?: string;
  /** if_description of the IDB. */
  interfaceDescription?: string;
  /** A comment on the section (SHB opt_comment), e.g. the command line. */
  comment?: string;
  /** Nanoseconds since the epoch; read once per batch. Default wallClockNs. */
  clock?: () => bigint;
  /** Returns a comment for a packet (written as its opt_comment), or undefined. */
  annotate?: (packet: Uint8Array, direction: Direction) => string | undefined;
  /** Records only the packets this accepts (e.g. `portFilter([443])`); the link still passes all. */
  filter?: (packet: Uint8Array) => boolean;
  /**
   * Rotation: once the current file holds maxBytes, the next block goes to a new sink from
   * `openNext(1)`, `openNext(2)` … which starts with its own SHB and IDB and a Decryption Secrets
   * Block holding the secrets of the connections still alive (see addSecrets/forgetSecrets), so each
   * file opens on its own in Wireshark.
   */
  rotate?: { maxBytes: number; openNext: (index: number) => CaptureSink };
  /** Called once, synchronously, when the capture stops because of an error (e.g. EPIPE: the reader left). */
  onError?: (error: Error) => void;
}

/** A TCP state change of one of tunstack's connections, as the capture comments it. */
export interface TapStateChange extends TapConnection {
  from: string;
  to: string;
  /** The comment, e.g. "198.18.0.1:40312 → :80 SYN-RECEIVED → ESTABLISHED". */
  text: string;
}

/** A comment longer than this many UTF-16 units is cut so its UTF-8 (≤ 3 bytes a unit) fits an option. */
const MAX_COMMENT_UNITS = 21845;

function clampComment(s: string): string {
  return s.length > MAX_COMMENT_UNITS ? s.slice(0, MAX_COMMENT_UNITS) : s;
}

const EMPTY = new Uint8Array(0);

function toError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

/** The inbound batch the stack is processing: encoded at arrival, written when the stack answers or is done. */
interface HeldBatch {
  bytes: Uint8Array;
  /** Offset of each EPB in bytes, and the packet it records (a view valid while the stack processes the batch). */
  offsets: number[];
  packets: Uint8Array[];
  timestampNs: bigint;
  /** The comment each EPB already carries (annotate/commentNext), and state comments added since. */
  baseComments: (string | undefined)[];
  added: (string[] | undefined)[];
}

/**
 * Wraps a Link and records its traffic: inbound batches as the inner link delivers them (stamped on
 * arrival, written once the stack has processed them or before its first reply, so secrets added
 * meanwhile precede them), outbound batches when the stack sends them (before the inner link does).
 * Packets pass through unchanged. Capture failures never reach the stack: the tap stops capturing
 * and exposes the error as `captureError`.
 */
export class PcapTap implements Link {
  readonly name: string;
  private readonly clock: () => bigint;
  private readonly snapLen: number;
  private readonly annotate: ((packet: Uint8Array, direction: Direction) => string | undefined) | undefined;
  private readonly filter: ((packet: Uint8Array) => boolean) | undefined;
  private readonly rotate: { maxBytes: number; openNext: (index: number) => CaptureSink } | undefined;
  private readonly onError: ((error: Error) => void) | undefined;
  private sink: CaptureSink;
  private active = true;
  private error: Error | undefined;
  private closing: Promise<void> | undefined;
  private pendingComment: string | undefined;
  private scratch = new Uint8Array(64 * 1024);
  private readonly comments: (string | undefined)[] = [];
  private readonly selected: number[] = [];
  /** Reused per packet so encoding a batch allocates no descriptor objects. */
  private readonly desc: EnhancedPacket = { timestampNs: 0n, packet: EMPTY };
  private packets = 0;
  private bytes = 0;
  private readonly header: Uint8Array;
  private fileBytes = 0;
  private fileIndex = 0;
  /** Key log lines by connection (client random; '' for lines without one), re-written into each rotated file. */
  private readonly liveSecrets = new Map<string, string[]>();
  /** State changes no inbound segment explains: they belong to the next segment tunstack sends on that connection. */
  private pendingStates: TapStateChange[] = [];
  private heldInbound: HeldBatch | undefined;

  constructor(
    private readonly inner: Link,
    sink: CaptureSink,
    options: PcapTapOptions = {},
  ) {
    this.name = inner.name;
    this.sink = sink;
    this.clock = options.clock ?? wallClockNs;
    this.snapLen = options.snapLen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snapLen) || this.snapLen < 1 || this.snapLen > 0xffffffff) {
      throw new RangeError(`PcapTap: snapLen must be a positive integer, got ${options.snapLen}`);
    }
    if (options.rotate && (!Number.isInteger(options.rotate.maxBytes) || options.rotate.maxBytes < 1)) {
      throw new RangeError(`PcapTap: rotate.maxBytes must be a positive integer, got ${options.rotate.maxBytes}`);
    }
    this.annotate = options.annotate;
    this.filter = options.filter;
    this.rotate = options.rotate;
    this.onError = options.onError;
    // SHB + IDB in one write, so even an empty capture is a valid file.
    const shb = encodeSectionHeader({
      hardware: os.arch(),
      os: `${os.type()} ${os.release()}`,
      application: 'tunstack',
      comment: options.comment === undefined ? undefined : clampComment(options.comment),
    });
    const idb = encodeInterfaceDescription({
      linkType: LINKTYPE_RAW,
      snapLen: this.snapLen,
      name: options.interfaceName ?? inner.name,
      description: options.interfaceDescription,
    });
    const header = new Uint8Array(shb.length + idb.length);
    header.set(shb, 0);
    header.set(idb, shb.length);
    this.header = header;
    this.writeChunk(header);
  }

  get mtu(): number {
    return this.inner.mtu;
  }

  /** The error that stopped the capture (sink failure, clock or annotate hook throwing), if any. */
  get captureError(): Error | undefined {
    return this.error;
  }

  /** True until the capture stops (error or close). The link itself keeps working either way. */
  get capturing(): boolean {
    return this.active;
  }

  /** Packets written to the capture so far. */
  get packetsCaptured(): number {
    return this.packets;
  }

  /** Bytes written to the sink(s) so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  /** Files (sinks) written so far: 1 + rotations. */
  get files(): number {
    return this.fileIndex + 1;
  }

  setReceiver(receiver: BatchReceiver): void {
    this.inner.setReceiver((packets, gso, partial) => {
      // A TCP checksum the kernel left partial is filled in, so the capture shows the real one.
      if (partial !== undefined && this.active) for (let i = 0; i < packets.length; i++) if (partial[i] === true) fillTcpChecksum(packets[i]!);
      // The inbound batch is encoded now (timestamp of arrival, bytes as they came) but written only
      // when the stack sends something, or when it is done with the batch: a Decryption Secrets Block
      // written while the stack processes it (a TLS client deriving keys from the ServerHello) then
      // lands before the encrypted records that arrived in the same batch, as Wireshark needs it.
      this.pendingStates = [];
      this.record(packets, 'inbound', true);
      try {
        receiver(packets, gso, partial);
      } finally {
        this.flushInbound();
      }
    });
  }

  get tsoMaxSize(): number | undefined {
    return this.inner.tsoMaxSize;
  }

  send(packets: readonly Uint8Array[], gso?: readonly number[]): void {
    this.flushInbound(); // what arrived comes before what the stack answers
    // Super-segments come without their TCP checksum (the kernel computes it per segment): the
    // capture shows them with the checksum the packet stands for.
    if (gso !== undefined && this.active) for (let i = 0; i < packets.length; i++) if ((gso[i] ?? 0) > 0) fillTcpChecksum(packets[i]!);
    this.record(packets, 'outbound');
    this.inner.send(packets, gso);
  }

  /**
   * Writes a Decryption Secrets Block (TLS key log lines) now, before the packets that need it —
   * including the inbound batch the stack is processing, if any (see setReceiver). `connection` (the
   * client random) groups the lines so that rotation can repeat those of live connections and
   * forgetSecrets can drop them; lines without it are repeated in every rotated file.
   */
  addSecrets(keyLogLines: string, connection = ''): void {
    if (!this.active || keyLogLines.length === 0) return;
    let block: Uint8Array;
    try {
      block = encodeDecryptionSecrets(keyLogLines);
    } catch (e) {
      this.fail(e);
      return;
    }
    if (!this.writeChunk(block)) return;
    if (this.rotate) {
      const lines = this.liveSecrets.get(connection);
      const text = keyLogLines.endsWith('\n') ? keyLogLines : keyLogLines + '\n';
      if (lines) lines.push(text);
      else this.liveSecrets.set(connection, [text]);
    }
  }

  /** The connection is gone: its secrets are not repeated in files started after now. */
  forgetSecrets(connection: string): void {
    this.liveSecrets.delete(connection);
  }

  /** Attaches a comment to the next captured packet (either direction). */
  commentNext(text: string): void {
    this.pendingComment = this.pendingComment === undefined ? text : `${this.pendingComment}\n${text}`;
  }

  /**
   * Comments the packet that caused a connection's state change: while the stack processes an inbound
   * batch, the segment of that connection in it that explains the change (see causeOf); otherwise the
   * next segment tunstack sends on that connection (a SYN for SYN-SENT, a FIN for FIN-WAIT-1). A
   * change no packet carries (a timer's TIME-WAIT → CLOSED) is not written.
   */
  noteStateChange(change: TapStateChange): void {
    if (!this.active) return;
    const held = this.heldInbound;
    if (held !== undefined) {
      const idx: number[] = [];
      const flags: number[] = [];
      for (let i = 0; i < held.packets.length; i++) {
        const f = packetFlow(held.packets[i] as Uint8Array);
        if (isSegmentOf(f, change, true)) {
          idx.push(i);
          flags.push(f.flags);
        }
      }
      const k = causeOf(flags, change.from, change.to, true);
      if (k >= 0) {
        const i = idx[k] as number;
        (held.added[i] ??= []).push(clampComment(change.text));
        return;
      }
    }
    this.pendingStates.push(change);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      try {
        await this.inner.close();
      } finally {
        const wasActive = this.active;
        this.active = false;
        try {
          this.sink.close();
        } catch (e) {
          if (wasActive) this.error ??= toError(e);
        }
      }
    })();
    return this.closing;
  }

  /** Writes the held-back inbound batch, if any, with the state comments added while it was held. */
  private flushInbound(): void {
    const held = this.heldInbound;
    if (held === undefined) return;
    this.heldInbound = undefined;
    let bytes = held.bytes;
    if (held.added.some((a) => a !== undefined)) {
      try {
        bytes = this.reencode(held);
      } catch (e) {
        this.fail(e);
        return;
      }
    }
    if (this.writeChunk(bytes)) this.packets += held.offsets.length;
  }

  /** The held batch's EPBs again, each with its added comments (packet bytes taken from the encoded EPBs). */
  private reencode(held: HeldBatch): Uint8Array {
    const blocks: EnhancedPacket[] = held.offsets.map((off, i) => {
      const v = new DataView(held.bytes.buffer, held.bytes.byteOffset + off);
      const capLen = v.getUint32(20, true);
      const base = held.baseComments[i];
      return {
        timestampNs: held.timestampNs,
        direction: 'inbound',
        packet: held.bytes.subarray(off + 28, off + 28 + capLen),
        originalLength: v.getUint32(24, true),
        ...(base !== undefined ? { comment: base } : {}),
        ...(held.added[i] !== undefined ? { comments: held.added[i] } : {}),
      };
    });
    let total = 0;
    for (const b of blocks) total += enhancedPacketLen(b);
    const out = new Uint8Array(total);
    let off = 0;
    for (const b of blocks) off = encodeEnhancedPacketInto(b, out, off);
    return out;
  }

  private record(batch: readonly Uint8Array[], direction: Direction, holdBack = false): void {
    if (!this.active || batch.length === 0) {
      if (direction === 'outbound') this.pendingStates = [];
      return;
    }
    let total = 0;
    let held: HeldBatch | undefined;
    let stateComments: (string[] | undefined)[] | undefined;
    try {
      const timestampNs = this.clock(); // one reading per batch: the batch moved at one instant
      const selected = this.selected;
      selected.length = 0;
      for (let i = 0; i < batch.length; i++) {
        if (this.filter === undefined || this.filter(batch[i] as Uint8Array)) selected.push(i);
      }
      if (selected.length === 0) {
        if (direction === 'outbound') this.pendingStates = [];
        return;
      }
      if (direction === 'outbound' && this.pendingStates.length > 0) stateComments = this.outboundStateComments(batch, selected);
      const desc = this.desc;
      desc.timestampNs = timestampNs;
      desc.direction = direction;
      const comments = this.comments;
      comments.length = selected.length;
      for (let j = 0; j < selected.length; j++) {
        const packet = batch[selected[j] as number] as Uint8Array;
        let comment = this.annotate?.(packet, direction);
        if (this.pendingComment !== undefined) {
          comment = comment === undefined ? this.pendingComment : `${this.pendingComment}\n${comment}`;
          this.pendingComment = undefined;
        }
        comments[j] = comment === undefined || comment.length === 0 ? undefined : clampComment(comment);
        desc.packet = packet.length > this.snapLen ? packet.subarray(0, this.snapLen) : packet;
        desc.originalLength = packet.length;
        desc.comment = comments[j];
        desc.comments = stateComments?.[j];
        total += enhancedPacketLen(desc);
      }
      if (this.scratch.length < total) {
        this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
      }
      if (holdBack) {
        held = { bytes: EMPTY, offsets: [], packets: [], timestampNs, baseComments: comments.slice(), added: [] };
      }
      let off = 0;
      for (let j = 0; j < selected.length; j++) {
        const packet = batch[selected[j] as number] as Uint8Array;
        held?.offsets.push(off);
        held?.packets.push(packet);
        desc.packet = packet.length > this.snapLen ? packet.subarray(0, this.snapLen) : packet;
        desc.originalLength = packet.length;
        desc.comment = comments[j];
        desc.comments = stateComments?.[j];
        off = encodeEnhancedPacketInto(desc, this.scratch, off);
      }
      comments.length = 0;
      desc.packet = EMPTY; // drop the reference to the caller's view
      desc.comments = undefined;
    } catch (e) {
      this.fail(e);
      return;
    }
    if (held !== undefined) {
      held.bytes = this.scratch.subarray(0, total);
      this.heldInbound = held;
    } else if (this.writeChunk(this.scratch.subarray(0, total))) this.packets += this.selected.length;
  }

  /** Attaches the pending state changes to the outbound segments that carry them (per selected packet). */
  private outboundStateComments(batch: readonly Uint8Array[], selected: readonly number[]): (string[] | undefined)[] {
    const out: (string[] | undefined)[] = new Array<string[] | undefined>(selected.length);
    const flows = selected.map((i) => packetFlow(batch[i] as Uint8Array));
    for (const change of this.pendingStates) {
      const idx: number[] = [];
      const flags: number[] = [];
      flows.forEach((f, j) => {
        if (isSegmentOf(f, change, false)) {
          idx.push(j);
          flags.push(f.flags);
        }
      });
      const k = causeOf(flags, change.from, change.to, false);
      if (k >= 0) (out[idx[k] as number] ??= []).push(clampComment(change.text));
    }
    this.pendingStates = [];
    return out;
  }

  /** One sink write (starting a new file first when rotation says so); on failure stops the capture. */
  private writeChunk(bytes: Uint8Array): boolean {
    if (!this.active) return false;
    try {
      if (this.rotate && this.fileBytes >= this.rotate.maxBytes) this.startNextFile(this.rotate.openNext);
      this.sink.write(bytes);
    } catch (e) {
      this.fail(e);
      return false;
    }
    this.bytes += bytes.length;
    this.fileBytes += bytes.length;
    return true;
  }

  /** Closes the current file and opens the next: SHB, IDB, and one DSB with the live connections' secrets. */
  private startNextFile(openNext: (index: number) => CaptureSink): void {
    const next = openNext(this.fileIndex + 1);
    this.fileIndex++;
    const old = this.sink;
    this.sink = next;
    this.fileBytes = 0;
    try {
      old.close();
    } catch {
      // The old file is complete up to its last block; the new one is what matters now.
    }
    let secrets = '';
    for (const lines of this.liveSecrets.values()) secrets += lines.join('');
    const dsb = secrets.length > 0 ? encodeDecryptionSecrets(secrets) : EMPTY;
    const head = new Uint8Array(this.header.length + dsb.length);
    head.set(this.header, 0);
    head.set(dsb, this.header.length);
    next.write(head);
    this.bytes += head.length;
    this.fileBytes += head.length;
  }

  private fail(e: unknown): void {
    if (!this.active) return;
    this.active = false;
    this.error = toError(e);
    this.heldInbound = undefined;
    try {
      this.sink.close();
    } catch {
      // The first error is the one worth reporting.
    }
    try {
      this.onError?.(this.error);
    } catch {
      // A failing observer must not take the link down.
    }
  }
}
