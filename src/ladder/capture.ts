// Reads a capture file of any supported format into one list of packets plus the TLS key log found
// in it: tunstack's and dumpcap's pcapng (EPB, SPB, DSB, comments) and classic pcap (tcpdump -w).

import { SECRETS_TYPE_TLS_KEY_LOG } from '../capture/pcapng.js';
import { type IdbBlock, readPcapng } from '../capture/pcapng-reader.js';
import { pcapMagic, readPcap } from '../capture/pcap-reader.js';
import { type Parsed, err, ok } from '../wire/result.js';

export interface CapturedPacket {
  /** 1-based frame number, as Wireshark counts packets. */
  frame: number;
  /** Nanoseconds since the epoch; undefined for a pcapng Simple Packet Block (it has no timestamp). */
  timestampNs: bigint | undefined;
  linkType: number;
  /** Captured bytes starting with the link-layer header: a view into the file. */
  data: Uint8Array;
  originalLength: number;
  /** pcapng epb_flags direction, when the writer recorded it. */
  direction?: 'inbound' | 'outbound';
  /** pcapng opt_comment values on the packet. */
  comments: string[];
}

export interface CaptureFile {
  format: 'pcapng' | 'pcap';
  packets: CapturedPacket[];
  /** Every TLS key log line from the Decryption Secrets Blocks, in file order. */
  keyLog: string;
  /** Damage found while reading, as sentences a person can act on. The packets before it are kept. */
  problems: string[];
}

const PCAPNG_PROBLEMS: Record<string, string> = {
  'truncated-block': 'the file ends inside a block (was the capture cut short?)',
  'bad-block-length': 'a block has an impossible length; the rest of the file is unreadable',
  'trailer-mismatch': "a block's trailing length differs from its leading one; the rest of the file is unreadable",
  'bad-byte-order-magic': 'a section header has a bad byte-order magic; the rest of the file is unreadable',
  'unsupported-version': 'a section has a pcapng version other than 1 and was skipped',
  'malformed-block': 'a block whose fields do not fit its length was skipped',
  'bad-option': 'a block with an impossible option was skipped',
  'unknown-interface': 'a packet naming an interface with no description was skipped',
};

function hex4(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** Recognises the format by its first bytes and reads it. Never throws on any input. */
export function readCaptureFile(bytes: Uint8Array): Parsed<CaptureFile, string> {
  if (bytes.length === 0) return err('the file is empty');
  if (bytes.length >= 4 && bytes[0] === 0x0a && bytes[1] === 0x0d && bytes[2] === 0x0d && bytes[3] === 0x0a) {
    return fromPcapng(bytes);
  }
  if (pcapMagic(bytes) !== undefined) return fromPcap(bytes);
  return err(
    bytes.length < 4
      ? `the file is only ${bytes.length} bytes: not a pcap or pcapng capture`
      : `not a pcap or pcapng capture (it starts with ${hex4(bytes)}; a pcapng file starts with 0a 0d 0d 0a, a pcap file with a1 b2 c3 d4 or its byte swap)`,
  );
}

function fromPcapng(bytes: Uint8Array): Parsed<CaptureFile, string> {
  const r = readPcapng(bytes);
  if (!r.ok) {
    const why: Record<string, string> = {
      'too-short': 'the file is too short to hold a pcapng section header',
      'not-pcapng': 'not a pcapng file',
      'bad-byte-order-magic': 'the pcapng section header has a bad byte-order magic',
      'bad-block-length': 'the pcapng section header has an impossible length',
      truncated: 'the file ends inside the pcapng section header',
    };
    return err(`${why[r.error] ?? r.error}: not a readable capture`);
  }
  const out: CaptureFile = { format: 'pcapng', packets: [], keyLog: '', problems: [] };
  let interfaces: IdbBlock[] = [];
  let frame = 0;
  for (const b of r.value.blocks) {
    switch (b.kind) {
      case 'shb':
        interfaces = [];
        break;
      case 'idb':
        interfaces.push(b);
        break;
      case 'epb': {
        const idb = interfaces[b.interfaceId];
        if (idb === undefined) break; // the reader already reported it
        const p: CapturedPacket = {
          frame: ++frame,
          timestampNs: b.timestampNs,
          linkType: idb.linkType,
          data: b.data,
          originalLength: b.originalLength,
          comments: b.comments,
        };
        if (b.direction !== undefined) p.direction = b.direction;
        out.packets.push(p);
        break;
      }
      case 'spb': {
        const idb = interfaces[0];
        if (idb === undefined) break;
        out.packets.push({ frame: ++frame, timestampNs: undefined, linkType: idb.linkType, data: b.data, originalLength: b.originalLength, comments: [] });
        break;
      }
      case 'dsb':
        // pcapng §4.7: only the TLS Key Log type is understood here; others (WireGuard, ZigBee …) are passed over.
        if (b.secretsType === SECRETS_TYPE_TLS_KEY_LOG && b.text !== undefined) {
          out.keyLog += b.text.endsWith('\n') || b.text.length === 0 ? b.text : b.text + '\n';
        }
        break;
    }
  }
  const seen = new Set<string>();
  for (const p of r.value.problems) {
    const text = PCAPNG_PROBLEMS[p.kind] ?? p.kind;
    if (seen.has(text)) continue;
    seen.add(text);
    out.problems.push(`${text} (at byte ${p.offset})`);
  }
  return ok(out);
}

function fromPcap(bytes: Uint8Array): Parsed<CaptureFile, string> {
  const r = readPcap(bytes);
  if (!r.ok) {
    if (r.error === 'unsupported-version') return err('a pcap file of a version other than 2.x: not readable');
    return err('the file is too short to hold a pcap file header');
  }
  const out: CaptureFile = { format: 'pcap', packets: [], keyLog: '', problems: [] };
  let frame = 0;
  for (const rec of r.value.records) {
    out.packets.push({
      frame: ++frame,
      timestampNs: rec.timestampNs,
      linkType: r.value.header.linkType,
      data: rec.data,
      originalLength: rec.originalLength,
      comments: [],
    });
  }
  for (const p of r.value.problems) {
    out.problems.push(
      p.kind === 'truncated-record'
        ? `the file ends inside packet ${frame + 1} (was the capture cut short?); the packets before it are shown`
        : `packet ${frame + 1} has an impossible length (byte ${p.offset}); the rest of the file is unreadable`,
    );
  }
  return ok(out);
}
