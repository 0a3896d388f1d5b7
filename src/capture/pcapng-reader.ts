// pcapng reader: parses a whole pcapng byte array into typed blocks (SHB, IDB, EPB, DSB), skipping
// unknown ones. Never throws on input: framing damage stops the walk and is reported, not thrown.

import { type Parsed, err, ok } from '../wire/result.js';
import {
  BYTE_ORDER_MAGIC,
  BlockType,
  type Direction,
  EPB_FLAGS_INBOUND,
  EPB_FLAGS_OUTBOUND,
  OptionCode,
  SECRETS_TYPE_TLS_KEY_LOG,
  pad4,
} from './pcapng.js';

/** One option TLV; value is a view into the input bytes (not a copy). */
export interface PcapngOption {
  code: number;
  value: Uint8Array;
}

interface BlockBase {
  /** Byte offset of the block in the input. */
  offset: number;
  /** Block Total Length. */
  length: number;
  /** Every option of the block in file order, opt_endofopt excluded. */
  options: PcapngOption[];
  /** opt_comment values (UTF-8 decoded). */
  comments: string[];
}

export interface ShbBlock extends BlockBase {
  kind: 'shb';
  littleEndian: boolean;
  majorVersion: number;
  minorVersion: number;
  /** Signed; -1 means "not specified". */
  sectionLength: bigint;
  hardware?: string;
  os?: string;
  application?: string;
}

export interface IdbBlock extends BlockBase {
  kind: 'idb';
  /** Position among the IDBs of its section: what EPBs refer to. */
  interfaceId: number;
  linkType: number;
  snapLen: number;
  name?: string;
  description?: string;
  /** Raw if_tsresol octet; 6 (microseconds) when the option is absent, as the spec says. */
  tsresol: number;
  /** if_tsoffset in seconds; 0n when absent. */
  tsoffset: bigint;
}

export interface EpbBlock extends BlockBase {
  kind: 'epb';
  interfaceId: number;
  /** The raw 64-bit timestamp in units of the interface's if_tsresol. */
  timestamp: bigint;
  /** The timestamp converted to nanoseconds since the epoch (if_tsresol and if_tsoffset applied). */
  timestampNs: bigint;
  capturedLength: number;
  originalLength: number;
  /** Captured packet bytes: a view into the input. */
  data: Uint8Array;
  /** epb_flags when present. */
  flags?: number;
  /** From epb_flags bits 0-1; undefined when absent or "information not available". */
  direction?: Direction;
}

export interface DsbBlock extends BlockBase {
  kind: 'dsb';
  secretsType: number;
  /** Secrets Data without padding: a view into the input. */
  data: Uint8Array;
  /** For TLS Key Log secrets, the data decoded as UTF-8. */
  text?: string;
}

/** pcapng §4.4 Simple Packet Block: a packet of interface 0 with no timestamp and no options. */
export interface SpbBlock extends BlockBase {
  kind: 'spb';
  /** Always 0: "the Simple Packet Block ... is captured on the interface previously specified in the first IDB". */
  interfaceId: 0;
  originalLength: number;
  /** Captured packet bytes (without padding): a view into the input. */
  data: Uint8Array;
}

export type PcapngBlock = ShbBlock | IdbBlock | EpbBlock | DsbBlock | SpbBlock;

export type PcapngProblemKind =
  /** The input ends inside a block (e.g. the writer was killed): parsing stops here. */
  | 'truncated-block'
  /** Block Total Length < 12 or not a multiple of 4: parsing stops here. */
  | 'bad-block-length'
  /** The trailing Block Total Length differs from the leading one: parsing stops here. */
  | 'trailer-mismatch'
  /** An SHB whose Byte-Order Magic is neither 0x1A2B3C4D nor byte-swapped: parsing stops here. */
  | 'bad-byte-order-magic'
  /** An SHB with a major version other than 1: its section is skipped. */
  | 'unsupported-version'
  /** A well-framed block whose fixed fields or option list do not fit its length: block skipped. */
  | 'malformed-block'
  /** An option with an impossible length (e.g. epb_flags not 4 octets): block skipped. */
  | 'bad-option'
  /** An EPB naming an interface with no IDB in its section: block skipped. */
  | 'unknown-interface';

export interface PcapngProblem {
  offset: number;
  kind: PcapngProblemKind;
}

export interface PcapngFile {
  blocks: PcapngBlock[];
  /** Well-framed blocks of other types (NRB, ISB, custom …), passed over. */
  skippedBlocks: number;
  problems: PcapngProblem[];
  /** Where the walk stopped: bytes.length unless a framing problem stopped it earlier. */
  end: number;
}

export type PcapngReadError = 'too-short' | 'not-pcapng' | 'bad-byte-order-magic' | 'bad-block-length' | 'truncated';

const SWAPPED_MAGIC = 0x4d3c2b1a;
const utf8 = new TextDecoder('utf-8', { fatal: false });

/** "Software that reads these files ... MUST treat a zero-value octet as a string terminator" (§3.5). */
function str(value: Uint8Array): string {
  const nul = value.indexOf(0);
  return utf8.decode(nul < 0 ? value : value.subarray(0, nul));
}

class Cursor {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    public le: boolean,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  u16(off: number): number {
    return this.view.getUint16(off, this.le);
  }
  u32(off: number): number {
    return this.view.getUint32(off, this.le);
  }
  /** Always little-endian: how the Byte-Order Magic is tested, whatever the current section's order. */
  u32le(off: number): number {
    return this.view.getUint32(off, true);
  }
  u64(off: number): bigint {
    return this.view.getBigUint64(off, this.le);
  }
}

/**
 * Parses an option list in [start, end) (§3.5): "Code that reads pcapng files MUST NOT assume an
 * option list will have an opt_endofopt option at the end; it MUST also check for the end of the block".
 * Returns undefined when an option runs past the end.
 */
function readOptions(c: Cursor, start: number, end: number): PcapngOption[] | undefined {
  const out: PcapngOption[] = [];
  let off = start;
  while (end - off >= 4) {
    const code = c.u16(off);
    const len = c.u16(off + 2);
    if (code === OptionCode.endOfOpt) break;
    if (off + 4 + len > end) return undefined;
    out.push({ code, value: c.bytes.subarray(off + 4, off + 4 + len) });
    off += 4 + pad4(len);
  }
  return out;
}

function comments(opts: readonly PcapngOption[]): string[] {
  const out: string[] = [];
  for (const o of opts) if (o.code === OptionCode.comment) out.push(str(o.value));
  return out;
}

function firstString(opts: readonly PcapngOption[], code: number): string | undefined {
  const o = opts.find((x) => x.code === code);
  return o === undefined ? undefined : str(o.value);
}

const TEN = 10n;

/** Converts a timestamp in if_tsresol units to nanoseconds (§4.2 if_tsresol; §4.3 Timestamp). */
export function toNanoseconds(timestamp: bigint, tsresol: number, tsoffsetSeconds = 0n): bigint {
  const base = tsoffsetSeconds * 1_000_000_000n;
  const exp = tsresol & 0x7f;
  if ((tsresol & 0x80) === 0) {
    // "a negative power of 10"
    if (exp <= 9) return base + timestamp * TEN ** BigInt(9 - exp);
    return base + timestamp / TEN ** BigInt(exp - 9);
  }
  // "a negative power of 2"
  return base + (timestamp * 1_000_000_000n) / (1n << BigInt(exp));
}

/** Reads a whole pcapng capture. Never throws on any input. */
export function readPcapng(input: Uint8Array): Parsed<PcapngFile, PcapngReadError> {
  // TextDecoder refuses views of shared memory; work on a private copy then.
  const bytes = input.buffer instanceof ArrayBuffer ? input : input.slice();
  if (bytes.length < 12) return err('too-short');
  const c = new Cursor(bytes, true);
  // "The file MUST begin with a Section Header Block" (§3.4); its type is palindromic.
  if (c.u32(0) !== BlockType.SectionHeader) return err('not-pcapng');
  const magic = c.u32le(8);
  if (magic !== BYTE_ORDER_MAGIC && magic !== SWAPPED_MAGIC) return err('bad-byte-order-magic');
  c.le = magic === BYTE_ORDER_MAGIC;
  const firstLen = c.u32(4);
  if (firstLen < 28 || firstLen % 4 !== 0) return err('bad-block-length');
  if (firstLen > bytes.length) return err('truncated');

  const file: PcapngFile = { blocks: [], skippedBlocks: 0, problems: [], end: 0 };
  let interfaces: IdbBlock[] = [];
  let skipSection = false;
  let off = 0;

  const problem = (kind: PcapngProblemKind, at: number): void => {
    file.problems.push({ offset: at, kind });
  };

  while (off < bytes.length) {
    if (bytes.length - off < 12) {
      problem('truncated-block', off);
      break;
    }
    const type = c.u32(off);
    if (type === BlockType.SectionHeader) {
      const m = c.u32le(off + 8);
      if (m === BYTE_ORDER_MAGIC) c.le = true;
      else if (m === SWAPPED_MAGIC) c.le = false;
      else {
        problem('bad-byte-order-magic', off);
        break;
      }
    }
    const total = c.u32(off + 4);
    // §3.1: "Block Total Length ... This value MUST be a multiple of 4"; an empty body makes 12.
    if (total < 12 || total % 4 !== 0) {
      problem('bad-block-length', off);
      break;
    }
    if (total > bytes.length - off) {
      problem('truncated-block', off);
      break;
    }
    if (c.u32(off + total - 4) !== total) {
      problem('trailer-mismatch', off);
      break;
    }
    const body = off + 8;
    const bodyEnd = off + total - 4;
    const blockStart = off;
    off += total;

    if (type === BlockType.SectionHeader) {
      interfaces = [];
      const shb = readShb(c, blockStart, body, bodyEnd, total);
      if (shb === undefined) {
        problem('malformed-block', blockStart);
        skipSection = true;
        continue;
      }
      // §3.4: "In case an application cannot read a Section because of different version number,
      // it MUST skip everything until the next Section Header Block."
      skipSection = shb.majorVersion !== 1;
      if (skipSection) problem('unsupported-version', blockStart);
      file.blocks.push(shb);
      continue;
    }
    if (skipSection) {
      file.skippedBlocks++;
      continue;
    }
    switch (type) {
      case BlockType.InterfaceDescription: {
        const r = readIdb(c, blockStart, body, bodyEnd, total, interfaces.length);
        if (typeof r === 'string') problem(r, blockStart);
        else {
          interfaces.push(r);
          file.blocks.push(r);
        }
        break;
      }
      case BlockType.EnhancedPacket: {
        const r = readEpb(c, blockStart, body, bodyEnd, total, interfaces);
        if (typeof r === 'string') problem(r, blockStart);
        else file.blocks.push(r);
        break;
      }
      case BlockType.SimplePacket: {
        const r = readSpb(c, blockStart, body, bodyEnd, total, interfaces);
        if (typeof r === 'string') problem(r, blockStart);
        else file.blocks.push(r);
        break;
      }
      case BlockType.DecryptionSecrets: {
        const r = readDsb(c, blockStart, body, bodyEnd, total);
        if (typeof r === 'string') problem(r, blockStart);
        else file.blocks.push(r);
        break;
      }
      default:
        file.skippedBlocks++;
    }
  }
  // When a framing problem stopped the walk, `off` is the start of the damaged block.
  file.end = off;
  return ok(file);
}

/** pcapng §4.1 Section Header Block. */
function readShb(c: Cursor, offset: number, body: number, end: number, length: number): ShbBlock | undefined {
  if (end - body < 16) return undefined;
  const options = readOptions(c, body + 16, end);
  if (options === undefined) return undefined;
  const shb: ShbBlock = {
    kind: 'shb',
    offset,
    length,
    littleEndian: c.le,
    majorVersion: c.u16(body + 4),
    minorVersion: c.u16(body + 6),
    sectionLength: BigInt.asIntN(64, c.u64(body + 8)),
    options,
    comments: comments(options),
  };
  const hardware = firstString(options, OptionCode.shbHardware);
  const os = firstString(options, OptionCode.shbOs);
  const application = firstString(options, OptionCode.shbUserAppl);
  if (hardware !== undefined) shb.hardware = hardware;
  if (os !== undefined) shb.os = os;
  if (application !== undefined) shb.application = application;
  return shb;
}

/** pcapng §4.2 Interface Description Block. */
function readIdb(
  c: Cursor,
  offset: number,
  body: number,
  end: number,
  length: number,
  interfaceId: number,
): IdbBlock | PcapngProblemKind {
  if (end - body < 8) return 'malformed-block';
  const options = readOptions(c, body + 8, end);
  if (options === undefined) return 'malformed-block';
  let tsresol = 6; // "If this option is not present, a resolution of 10^-6 is assumed"
  let tsoffset = 0n;
  for (const o of options) {
    if (o.code === OptionCode.ifTsresol) {
      if (o.value.length !== 1) return 'bad-option';
      tsresol = o.value[0] ?? 6;
    } else if (o.code === OptionCode.ifTsoffset) {
      if (o.value.length !== 8) return 'bad-option';
      const v = new DataView(o.value.buffer, o.value.byteOffset, 8);
      tsoffset = v.getBigInt64(0, c.le);
    }
  }
  const idb: IdbBlock = {
    kind: 'idb',
    offset,
    length,
    interfaceId,
    linkType: c.u16(body),
    snapLen: c.u32(body + 4),
    tsresol,
    tsoffset,
    options,
    comments: comments(options),
  };
  const name = firstString(options, OptionCode.ifName);
  const description = firstString(options, OptionCode.ifDescription);
  if (name !== undefined) idb.name = name;
  if (description !== undefined) idb.description = description;
  return idb;
}

/** pcapng §4.3 Enhanced Packet Block. */
function readEpb(
  c: Cursor,
  offset: number,
  body: number,
  end: number,
  length: number,
  interfaces: readonly IdbBlock[],
): EpbBlock | PcapngProblemKind {
  if (end - body < 20) return 'malformed-block';
  const interfaceId = c.u32(body);
  const timestamp = (BigInt(c.u32(body + 4)) << 32n) | BigInt(c.u32(body + 8));
  const capturedLength = c.u32(body + 12);
  const originalLength = c.u32(body + 16);
  const dataStart = body + 20;
  // Compare before padding so a huge Captured Packet Length cannot overflow the arithmetic.
  if (capturedLength > end - dataStart || pad4(capturedLength) > end - dataStart) return 'malformed-block';
  const options = readOptions(c, dataStart + pad4(capturedLength), end);
  if (options === undefined) return 'malformed-block';
  const idb = interfaces[interfaceId];
  // "The interface ID MUST be valid, which means that an matching interface description block MUST exist."
  if (idb === undefined) return 'unknown-interface';
  const epb: EpbBlock = {
    kind: 'epb',
    offset,
    length,
    interfaceId,
    timestamp,
    timestampNs: toNanoseconds(timestamp, idb.tsresol, idb.tsoffset),
    capturedLength,
    originalLength,
    data: c.bytes.subarray(dataStart, dataStart + capturedLength),
    options,
    comments: comments(options),
  };
  for (const o of options) {
    if (o.code !== OptionCode.epbFlags) continue;
    // epb_flags: fixed length 4 (§4.3); "Software that reads these files SHOULD report options that
    // have an invalid length as errors".
    if (o.value.length !== 4) return 'bad-option';
    const flags = new DataView(o.value.buffer, o.value.byteOffset, 4).getUint32(0, c.le);
    epb.flags = flags;
    // §4.3.1 bits 0-1: 01 = inbound, 10 = outbound.
    const dir = flags & 0b11;
    if (dir === EPB_FLAGS_INBOUND) epb.direction = 'inbound';
    else if (dir === EPB_FLAGS_OUTBOUND) epb.direction = 'outbound';
  }
  return epb;
}

/** pcapng §4.4 Simple Packet Block. */
function readSpb(
  c: Cursor,
  offset: number,
  body: number,
  end: number,
  length: number,
  interfaces: readonly IdbBlock[],
): SpbBlock | PcapngProblemKind {
  if (end - body < 4) return 'malformed-block';
  const idb = interfaces[0];
  // §4.4: "The Simple Packet Block ... MUST NOT appear in a Section that has more than one interface" —
  // and it needs at least that one to say what the bytes are.
  if (idb === undefined) return 'unknown-interface';
  const originalLength = c.u32(body);
  // §4.4: "the Captured Packet Length ... is the minimum value among the Original Packet Length and the
  // value of the SnapLen field in the IDB (or the Original Packet Length if SnapLen is zero)", bounded by the block.
  let captured = Math.min(originalLength, end - body - 4);
  if (idb.snapLen !== 0) captured = Math.min(captured, idb.snapLen);
  const data = c.bytes.subarray(body + 4, body + 4 + captured);
  return { kind: 'spb', offset, length, interfaceId: 0, originalLength, data, options: [], comments: [] };
}

/** pcapng §4.7 Decryption Secrets Block. */
function readDsb(c: Cursor, offset: number, body: number, end: number, length: number): DsbBlock | PcapngProblemKind {
  if (end - body < 8) return 'malformed-block';
  const secretsType = c.u32(body);
  const secretsLength = c.u32(body + 4);
  const dataStart = body + 8;
  if (secretsLength > end - dataStart || pad4(secretsLength) > end - dataStart) return 'malformed-block';
  const options = readOptions(c, dataStart + pad4(secretsLength), end);
  if (options === undefined) return 'malformed-block';
  const data = c.bytes.subarray(dataStart, dataStart + secretsLength);
  const dsb: DsbBlock = { kind: 'dsb', offset, length, secretsType, data, options, comments: comments(options) };
  if (secretsType === SECRETS_TYPE_TLS_KEY_LOG) dsb.text = utf8.decode(data);
  return dsb;
}
