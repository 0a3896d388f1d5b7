// PcapTap: a Link wrapper that records every inbound and outbound batch as pcapng (LINKTYPE_RAW,
// nanosecond timestamps) with one synchronous sink write per batch; plus the sinks (file, stdout, memory).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
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
  private active = true;
  private error: Error | undefined;
  private closing: Promise<void> | undefined;
  private pendingComment: string | undefined;
  private scratch = new Uint8Array(64 * 1024);
  private readonly comments: (string | undefined)[] = [];
  /** Reused per packet so encoding a batch allocates no descriptor objects. */
  private readonly desc: EnhancedPacket = { timestampNs: 0n, packet: EMPTY };
  private packets = 0;
  private bytes = 0;
  /** The encoded inbound batch being processed by the stack (in `scratch`), not yet written. */
  private heldInbound: { bytes: Uint8Array; count: number } | undefined;

  constructor(
    private readonly inner: Link,
    private readonly sink: CaptureSink,
    options: PcapTapOptions = {},
  ) {
    this.name = inner.name;
    this.clock = options.clock ?? wallClockNs;
    this.snapLen = options.snapLen ?? DEFAULT_SNAPLEN;
    if (!Number.isInteger(this.snapLen) || this.snapLen < 1 || this.snapLen > 0xffffffff) {
      throw new RangeError(`PcapTap: snapLen must be a positive integer, got ${options.snapLen}`);
    }
    this.annotate = options.annotate;
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

  /** Bytes written to the sink so far. */
  get bytesWritten(): number {
    return this.bytes;
  }

  setReceiver(receiver: BatchReceiver): void {
    this.inner.setReceiver((packets, gso) => {
      // The inbound batch is encoded now (timestamp of arrival, bytes as they came) but written only
      // when the stack sends something, or when it is done with the batch: a Decryption Secrets Block
      // written while the stack processes it (a TLS client deriving keys from the ServerHello) then
      // lands before the encrypted records that arrived in the same batch, as Wireshark needs it.
      this.record(packets, 'inbound', true);
      try {
        receiver(packets, gso);
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
    this.record(packets, 'outbound');
    this.inner.send(packets, gso);
  }

  /**
   * Writes a Decryption Secrets Block (TLS key log lines) now, before the packets that need it —
   * including the inbound batch the stack is processing, if any (see setReceiver).
   */
  addSecrets(keyLogLines: string): void {
    if (!this.active || keyLogLines.length === 0) return;
    let block: Uint8Array;
    try {
      block = encodeDecryptionSecrets(keyLogLines);
    } catch (e) {
      this.fail(e);
      return;
    }
    this.writeChunk(block);
  }

  /** Attaches a comment to the next captured packet (either direction). */
  commentNext(text: string): void {
    this.pendingComment = this.pendingComment === undefined ? text : `${this.pendingComment}\n${text}`;
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

  /** Writes the held-back inbound batch, if any. */
  private flushInbound(): void {
    const held = this.heldInbound;
    if (held === undefined) return;
    this.heldInbound = undefined;
    if (this.writeChunk(held.bytes)) this.packets += held.count;
  }

  private record(batch: readonly Uint8Array[], direction: Direction, holdBack = false): void {
    if (!this.active || batch.length === 0) return;
    let total = 0;
    try {
      const timestampNs = this.clock(); // one reading per batch: the batch moved at one instant
      const desc = this.desc;
      desc.timestampNs = timestampNs;
      desc.direction = direction;
      const comments = this.comments;
      comments.length = batch.length;
      for (let i = 0; i < batch.length; i++) {
        const packet = batch[i] as Uint8Array;
        let comment = this.annotate?.(packet, direction);
        if (this.pendingComment !== undefined) {
          comment = comment === undefined ? this.pendingComment : `${this.pendingComment}\n${comment}`;
          this.pendingComment = undefined;
        }
        comments[i] = comment === undefined || comment.length === 0 ? undefined : clampComment(comment);
        desc.packet = packet.length > this.snapLen ? packet.subarray(0, this.snapLen) : packet;
        desc.originalLength = packet.length;
        desc.comment = comments[i];
        total += enhancedPacketLen(desc);
      }
      if (this.scratch.length < total) {
        this.scratch = new Uint8Array(Math.max(total, this.scratch.length * 2));
      }
      let off = 0;
      for (let i = 0; i < batch.length; i++) {
        const packet = batch[i] as Uint8Array;
        desc.packet = packet.length > this.snapLen ? packet.subarray(0, this.snapLen) : packet;
        desc.originalLength = packet.length;
        desc.comment = comments[i];
        off = encodeEnhancedPacketInto(desc, this.scratch, off);
      }
      comments.length = 0;
      desc.packet = EMPTY; // drop the reference to the caller's view
    } catch (e) {
      this.fail(e);
      return;
    }
    if (holdBack) this.heldInbound = { bytes: this.scratch.subarray(0, total), count: batch.length };
    else if (this.writeChunk(this.scratch.subarray(0, total))) this.packets += batch.length;
  }

  /** One sink write; on failure stops the capture. Returns whether the bytes were written. */
  private writeChunk(bytes: Uint8Array): boolean {
    if (!this.active) return false;
    try {
      this.sink.write(bytes);
    } catch (e) {
      this.fail(e);
      return false;
    }
    this.bytes += bytes.length;
    return true;
  }

  private fail(e: unknown): void {
    if (!this.active) return;
    this.active = false;
    this.error = toError(e);
    try {
      this.sink.close();
    } catch {
      // The first error is the one worth reporting.
    }
  }
}
