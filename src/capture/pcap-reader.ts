// Classic pcap reader (draft-ietf-opsawg-pcap, the libpcap format tcpdump -w writes): the 24-byte file
// header in either byte order, microsecond or nanosecond magic, then records. Never throws on input.

import { type Parsed, err, ok } from '../wire/result.js';

/** draft-ietf-opsawg-pcap §4: "Magic Number ... 0xA1B2C3D4" (µs timestamps) or "0xA1B23C4D" (ns timestamps). */
export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
const FILE_HEADER_LEN = 24;
const RECORD_HEADER_LEN = 16;

export interface PcapHeader {
  littleEndian: boolean;
  nanoseconds: boolean;
  majorVersion: number;
  minorVersion: number;
  snapLen: number;
  /** §4: "LinkType and additional information": the link type is the low 16 bits. */
  linkType: number;
  /** §4: the FCS bits (bit 28 "f" set means the FCS length in bits 29-31 is valid). */
  fcsLength: number | undefined;
}

export interface PcapRecord {
  /** Byte offset of the record header in the input. */
  offset: number;
  /** Nanoseconds since 1970-01-01 00:00:00 UTC. */
  timestampNs: bigint;
  capturedLength: number;
  originalLength: number;
  /** A view into the input. */
  data: Uint8Array;
}

export type PcapProblemKind =
  /** The input ends inside a record (e.g. tcpdump was killed): the walk stops here. */
  | 'truncated-record'
  /** A Captured Packet Length that cannot be right (over 256 MiB): the rest is not trusted. */
  | 'bad-record-length';

export interface PcapFile {
  header: PcapHeader;
  records: PcapRecord[];
  problems: { offset: number; kind: PcapProblemKind }[];
}

export type PcapReadError = 'too-short' | 'not-pcap' | 'unsupported-version';

/**
 * Largest believable Captured Packet Length. §5: it "MUST NOT be greater than SnapLen", but writers
 * disagree on SnapLen (0, 65535, 262144); a length past this bound means the framing is lost.
 */
const MAX_RECORD = 256 << 20;

/** Which classic pcap magic `bytes` starts with, if any. */
export function pcapMagic(bytes: Uint8Array): { littleEndian: boolean; nanoseconds: boolean } | undefined {
  if (bytes.length < 4) return undefined;
  const v = new DataView(bytes.buffer, bytes.byteOffset, 4);
  for (const le of [true, false]) {
    const m = v.getUint32(0, le);
    if (m === PCAP_MAGIC_MICROSECONDS) return { littleEndian: le, nanoseconds: false };
    if (m === PCAP_MAGIC_NANOSECONDS) return { littleEndian: le, nanoseconds: true };
  }
  return undefined;
}

/** Reads a whole classic pcap file. Never throws on any input. */
export function readPcap(bytes: Uint8Array): Parsed<PcapFile, PcapReadError> {
  if (bytes.length < 4) return err('too-short');
  const magic = pcapMagic(bytes);
  if (magic === undefined) return err('not-pcap');
  if (bytes.length < FILE_HEADER_LEN) return err('too-short');
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = magic.littleEndian;
  const majorVersion = v.getUint16(4, le);
  const minorVersion = v.getUint16(6, le);
  // §4: "Major Version ... 2"; readers may accept 2.4 and the old 2.x minors alike.
  if (majorVersion !== 2) return err('unsupported-version');
  const snapLen = v.getUint32(16, le);
  const linkField = v.getUint32(20, le);
  const header: PcapHeader = {
    littleEndian: le,
    nanoseconds: magic.nanoseconds,
    majorVersion,
    minorVersion,
    snapLen,
    linkType: linkField & 0xffff,
    // §4: "FCS len ... if the f bit is set, this field contains the number of 16-bit words of FCS".
    fcsLength: (linkField & 0x10000000) !== 0 ? ((linkField >>> 29) & 0x7) * 2 : undefined,
  };
  const file: PcapFile = { header, records: [], problems: [] };
  const unit = magic.nanoseconds ? 1n : 1000n;
  let off = FILE_HEADER_LEN;
  while (off < bytes.length) {
    if (bytes.length - off < RECORD_HEADER_LEN) {
      file.problems.push({ offset: off, kind: 'truncated-record' });
      break;
    }
    // §5 Packet Record: Timestamp (Seconds), Timestamp (Microseconds or nanoseconds), Captured Packet
    // Length, Original Packet Length, Packet Data.
    const sec = v.getUint32(off, le);
    const frac = v.getUint32(off + 4, le);
    const capturedLength = v.getUint32(off + 8, le);
    const originalLength = v.getUint32(off + 12, le);
    if (capturedLength > MAX_RECORD) {
      file.problems.push({ offset: off, kind: 'bad-record-length' });
      break;
    }
    const start = off + RECORD_HEADER_LEN;
    if (capturedLength > bytes.length - start) {
      file.problems.push({ offset: off, kind: 'truncated-record' });
      break;
    }
    file.records.push({
      offset: off,
      timestampNs: BigInt(sec) * 1_000_000_000n + BigInt(frac) * unit,
      capturedLength,
      originalLength,
      data: bytes.subarray(start, start + capturedLength),
    });
    off = start + capturedLength;
  }
  return ok(file);
}
