// pcapng encoder and reader: byte-exact block layouts against hand-written hex, reader round trips,
// and the reader's no-throw guarantee under truncation at every offset and seeded random mutation.

import { describe, expect, it } from 'vitest';
import {
  BlockType,
  DEFAULT_SNAPLEN,
  LINKTYPE_RAW,
  SECRETS_TYPE_TLS_KEY_LOG,
  encodeDecryptionSecrets,
  encodeEnhancedPacket,
  encodeEnhancedPacketInto,
  encodeEnhancedPackets,
  encodeInterfaceDescription,
  encodeSectionHeader,
  enhancedPacketLen,
  utf8Length,
} from '../../src/capture/pcapng.js';
import {
  type DsbBlock,
  type EpbBlock,
  type IdbBlock,
  type PcapngBlock,
  type PcapngFile,
  type ShbBlock,
  readPcapng,
  toNanoseconds,
} from '../../src/capture/pcapng-reader.js';
import { mulberry32 } from '../helpers/prng.js';

/** "0a0d 0d0a ..." → bytes; whitespace and `|` separators are ignored. */
function hex(s: string): Uint8Array {
  const clean = s.replace(/[\s|]+/g, '');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function readOk(bytes: Uint8Array): PcapngFile {
  const r = readPcapng(bytes);
  if (!r.ok) throw new Error(`readPcapng failed: ${r.error}`);
  return r.value;
}

function only<K extends PcapngBlock['kind']>(file: PcapngFile, kind: K): Extract<PcapngBlock, { kind: K }>[] {
  return file.blocks.filter((b): b is Extract<PcapngBlock, { kind: K }> => b.kind === kind);
}


const TS = 0x1122334455667788n; // Timestamp (High) = 0x11223344, (Low) = 0x55667788

describe('Section Header Block (pcapng §4.1)', () => {
  it('without options is 28 bytes: type, length, magic, version 1.0, section length -1, length', () => {
    expect(encodeSectionHeader()).toEqual(
      hex(`0a0d0d0a 1c000000 | 4d3c2b1a | 0100 0000 | ffffffff ffffffff | 1c000000`),
    );
  });

  it('writes opt_comment, shb_hardware, shb_os, shb_userappl padded to 32 bits, then opt_endofopt', () => {
    const shb = encodeSectionHeader({ comment: 'hi', hardware: 'x64', os: 'Linux', application: 'tunstack' });
    expect(shb).toEqual(
      hex(`0a0d0d0a 48000000 4d3c2b1a 0100 0000 ffffffff ffffffff
           0100 0200 6869 0000                 -- opt_comment "hi" + 2 pad
           0200 0300 783634 00                 -- shb_hardware "x64" + 1 pad
           0300 0500 4c696e7578 000000         -- shb_os "Linux" + 3 pad
           0400 0800 74756e737461636b          -- shb_userappl "tunstack"
           0000 0000                           -- opt_endofopt
           48000000`.replace(/--[^\n]*/g, '')),
    );
    expect(shb.length % 4).toBe(0);
  });

  it('omits empty strings and rejects an option longer than 65535 bytes', () => {
    expect(encodeSectionHeader({ comment: '' })).toEqual(encodeSectionHeader());
    expect(() => encodeSectionHeader({ comment: 'x'.repeat(65536) })).toThrow(RangeError);
    expect(encodeSectionHeader({ comment: 'x'.repeat(65535) }).length).toBe(28 + 4 + 65536 + 4);
  });
});

describe('Interface Description Block (pcapng §4.2)', () => {
  it('defaults to LINKTYPE_RAW, snaplen 262144 and always carries if_tsresol = 9', () => {
    expect(LINKTYPE_RAW).toBe(101);
    expect(DEFAULT_SNAPLEN).toBe(262144);
    expect(encodeInterfaceDescription()).toEqual(
      hex(`01000000 20000000 | 6500 0000 | 00000400 | 0900 0100 09 000000 | 00000000 | 20000000`),
    );
  });

  it('writes if_name and if_description before if_tsresol', () => {
    expect(encodeInterfaceDescription({ name: 'tun0', description: 'tunstack', snapLen: 1500, linkType: 228 })).toEqual(
      hex(`01000000 34000000 | e400 0000 | dc050000
           0200 0400 74756e30
           0300 0800 74756e737461636b
           0900 0100 09000000
           00000000
           34000000`),
    );
  });

  it('rejects a link type or snaplen out of range', () => {
    expect(() => encodeInterfaceDescription({ linkType: 70000 })).toThrow(RangeError);
    expect(() => encodeInterfaceDescription({ snapLen: -1 })).toThrow(RangeError);
  });
});

describe('Enhanced Packet Block (pcapng §4.3)', () => {
  it('without options: 28-byte header, data padded to 32 bits, trailing length', () => {
    const epb = encodeEnhancedPacket({ timestampNs: TS, packet: hex('0102030405') });
    expect(epb).toEqual(
      hex(`06000000 28000000 | 00000000 | 44332211 | 88776655 | 05000000 | 05000000
           0102030405 000000 | 28000000`),
    );
    expect(enhancedPacketLen({ timestampNs: TS, packet: hex('0102030405') })).toBe(40);
  });

  it('writes epb_flags (01 inbound, 10 outbound) then a UTF-8 opt_comment, then opt_endofopt', () => {
    const epb = encodeEnhancedPacket({
      interfaceId: 3,
      timestampNs: TS,
      packet: hex('deadbeef'),
      originalLength: 100,
      direction: 'outbound',
      comment: 'é',
    });
    expect(epb).toEqual(
      hex(`06000000 38000000 | 03000000 | 44332211 | 88776655 | 04000000 | 64000000
           deadbeef
           0200 0400 02000000          -- epb_flags: outbound
           0100 0200 c3a9 0000         -- opt_comment "é" (2 UTF-8 bytes) + 2 pad
           0000 0000
           38000000`.replace(/--[^\n]*/g, '')),
    );
    const inbound = encodeEnhancedPacket({ timestampNs: 0n, packet: new Uint8Array(0), direction: 'inbound' });
    expect(inbound).toEqual(
      hex(`06000000 2c000000 00000000 00000000 00000000 00000000 00000000
           0200 0400 01000000 00000000 2c000000`),
    );
  });

  it('splits a nanosecond timestamp into high and low 32-bit words', () => {
    const ns = 1_700_000_000_123_456_789n; // 0x17979cfe_3d85cd15
    const epb = encodeEnhancedPacket({ timestampNs: ns, packet: new Uint8Array(0) });
    expect(epb.subarray(12, 20)).toEqual(hex('fe9c9717 15cd853d'));
  });

  it('encodes into a dirty reused buffer exactly as into a fresh one (padding is zeroed)', () => {
    const packets = [
      { timestampNs: 1n, packet: hex('01'), direction: 'inbound' as const, comment: 'a' },
      { timestampNs: 2n, packet: hex('0203'), direction: 'outbound' as const },
      { timestampNs: 3n, packet: hex('040506') },
    ];
    const buf = new Uint8Array(512).fill(0xee);
    let off = 8;
    for (const p of packets) off = encodeEnhancedPacketInto(p, buf, off);
    expect(buf.subarray(8, off)).toEqual(encodeEnhancedPackets(packets));
    expect(off - 8).toBe(packets.reduce((n, p) => n + enhancedPacketLen(p), 0));
    expect(buf[off]).toBe(0xee);
  });

  it('throws RangeError on caller misuse', () => {
    const packet = hex('01020304');
    expect(() => encodeEnhancedPacket({ timestampNs: -1n, packet })).toThrow(RangeError);
    expect(() => encodeEnhancedPacket({ timestampNs: 1n << 64n, packet })).toThrow(RangeError);
    expect(() => encodeEnhancedPacket({ timestampNs: 0n, packet, originalLength: 3 })).toThrow(RangeError);
    expect(() => encodeEnhancedPacket({ timestampNs: 0n, packet, interfaceId: -1 })).toThrow(RangeError);
    expect(() => encodeEnhancedPacket({ timestampNs: 0n, packet, comment: '€'.repeat(21846) })).toThrow(RangeError);
    expect(() => encodeEnhancedPacketInto({ timestampNs: 0n, packet }, new Uint8Array(35), 0)).toThrow(RangeError);
    expect(encodeEnhancedPacketInto({ timestampNs: 0n, packet }, new Uint8Array(36), 0)).toBe(36);
    expect(encodeEnhancedPacket({ timestampNs: (1n << 64n) - 1n, packet }).subarray(12, 20)).toEqual(
      hex('ffffffff ffffffff'),
    );
  });

  it('utf8Length agrees with TextEncoder, including surrogate pairs and lone surrogates', () => {
    const rnd = mulberry32(7);
    const enc = new TextEncoder();
    const samples = ['', 'a', 'é', '€', '😀', '\ud800', '\udc00x', 'a\ud83d', '\ud83d\ude00\ud83d'];
    for (let i = 0; i < 500; i++) {
      let s = '';
      const n = rnd.int(12);
      for (let j = 0; j < n; j++) {
        const pick = rnd.int(5);
        s += String.fromCharCode(
          pick === 0 ? rnd.int(0x80) : pick === 1 ? 0x80 + rnd.int(0x780) : pick === 2 ? 0xd800 + rnd.int(0x800) : rnd.int(0x10000),
        );
      }
      samples.push(s);
    }
    for (const s of samples) expect(utf8Length(s)).toBe(enc.encode(s).length);
  });
});

describe('Decryption Secrets Block (pcapng §4.7)', () => {
  it('writes type 0x544c534b, the unpadded length, the key log padded, and terminates the last line', () => {
    expect(SECRETS_TYPE_TLS_KEY_LOG).toBe(0x544c534b);
    expect(encodeDecryptionSecrets('X')).toEqual(
      hex(`0a000000 18000000 | 4b534c54 | 02000000 | 580a 0000 | 18000000`),
    );
    expect(encodeDecryptionSecrets('AB\n')).toEqual(hex(`0a000000 18000000 4b534c54 03000000 41420a00 18000000`));
    expect(encodeDecryptionSecrets('ABC\r\n')).toEqual(
      hex(`0a000000 1c000000 4b534c54 05000000 4142430d 0a000000 1c000000`),
    );
  });

  it('accepts raw bytes and another secrets type', () => {
    expect(encodeDecryptionSecrets(hex('01020304'), 0x57474b4c)).toEqual(
      hex(`0a000000 18000000 4c4b4757 04000000 01020304 18000000`),
    );
  });
});

// ---------------------------------------------------------------------------------------------

const KEYLOG = `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${'ab'.repeat(32)} ${'cd'.repeat(32)}\n`;

function sampleCapture(): Uint8Array {
  return concat(
    encodeSectionHeader({ application: 'tunstack', os: 'Linux', hardware: 'x64', comment: 'section' }),
    encodeInterfaceDescription({ name: 'tun0', description: 'test link', snapLen: 65535 }),
    encodeDecryptionSecrets(KEYLOG),
    encodeEnhancedPackets([
      { timestampNs: 1_700_000_000_000_000_001n, packet: hex('4500001c'), direction: 'inbound', comment: 'first ✓' },
      { timestampNs: 1_700_000_000_000_000_002n, packet: hex('45'), originalLength: 1500, direction: 'outbound' },
      { timestampNs: 1_700_000_000_000_000_003n, packet: hex('450000') },
    ]),
  );
}

describe('reader round trip', () => {
  it('reads back every field the encoder wrote', () => {
    const bytes = sampleCapture();
    const file = readOk(bytes);
    expect(file.problems).toEqual([]);
    expect(file.skippedBlocks).toBe(0);
    expect(file.end).toBe(bytes.length);
    expect(file.blocks.map((b) => b.kind)).toEqual(['shb', 'idb', 'dsb', 'epb', 'epb', 'epb']);

    const [shb] = only(file, 'shb') as [ShbBlock];
    expect(shb).toMatchObject({
      offset: 0,
      littleEndian: true,
      majorVersion: 1,
      minorVersion: 0,
      sectionLength: -1n,
      application: 'tunstack',
      os: 'Linux',
      hardware: 'x64',
      comments: ['section'],
    });

    const [idb] = only(file, 'idb') as [IdbBlock];
    expect(idb).toMatchObject({
      interfaceId: 0,
      linkType: LINKTYPE_RAW,
      snapLen: 65535,
      name: 'tun0',
      description: 'test link',
      tsresol: 9,
      tsoffset: 0n,
    });

    const [dsb] = only(file, 'dsb') as [DsbBlock];
    expect(dsb.secretsType).toBe(SECRETS_TYPE_TLS_KEY_LOG);
    expect(dsb.text).toBe(KEYLOG);

    const epbs = only(file, 'epb');
    expect(epbs.map((e) => e.timestampNs)).toEqual([
      1_700_000_000_000_000_001n,
      1_700_000_000_000_000_002n,
      1_700_000_000_000_000_003n,
    ]);
    expect(epbs.map((e) => e.direction)).toEqual(['inbound', 'outbound', undefined]);
    expect(epbs.map((e) => e.flags)).toEqual([1, 2, undefined]);
    expect(epbs.map((e) => e.comments)).toEqual([['first ✓'], [], []]);
    expect(epbs.map((e) => [e.capturedLength, e.originalLength])).toEqual([
      [4, 4],
      [1, 1500],
      [3, 3],
    ]);
    expect(epbs.map((e) => Array.from(e.data))).toEqual([[0x45, 0, 0, 0x1c], [0x45], [0x45, 0, 0]]);
  });

  it('reads a big-endian section (hand-written) with the default microsecond resolution', () => {
    const be = hex(`0a0d0d0a 0000001c 1a2b3c4d 0001 0000 ffffffff ffffffff 0000001c
                    00000001 00000014 0065 0000 00040000 00000014
                    00000006 00000024 00000000 00000000 000f4240 00000004 00000004 deadbeef 00000024`);
    const file = readOk(be);
    expect(file.problems).toEqual([]);
    const [shb] = only(file, 'shb') as [ShbBlock];
    expect(shb.littleEndian).toBe(false);
    const [idb] = only(file, 'idb') as [IdbBlock];
    expect(idb).toMatchObject({ linkType: 101, snapLen: 262144, tsresol: 6 });
    const [epb] = only(file, 'epb') as [EpbBlock];
    expect(epb.timestamp).toBe(1_000_000n);
    expect(epb.timestampNs).toBe(1_000_000_000n);
    expect(Array.from(epb.data)).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it('converts power-of-10 and power-of-2 resolutions and if_tsoffset to nanoseconds', () => {
    expect(toNanoseconds(5n, 0)).toBe(5_000_000_000n);
    expect(toNanoseconds(5n, 9)).toBe(5n);
    expect(toNanoseconds(5_000n, 12)).toBe(5n);
    expect(toNanoseconds(1024n, 0x80 | 10)).toBe(1_000_000_000n);
    expect(toNanoseconds(1n, 9, 2n)).toBe(2_000_000_001n);
  });

  it('passes over unknown blocks and stops a string at a NUL octet', () => {
    const custom = hex('ad0b0000 10000000 01020304 10000000'); // an unknown block type, 16 bytes
    const idbWithNul = hex(`01000000 20000000 6500 0000 00000400 0200 0500 74756e0078 000000 20000000`);
    const file = readOk(concat(encodeSectionHeader(), custom, idbWithNul));
    expect(file.skippedBlocks).toBe(1);
    expect(file.problems).toEqual([]);
    expect((only(file, 'idb')[0] as IdbBlock).name).toBe('tun');
  });

  it('starts a new interface table at each Section Header Block', () => {
    const section = (): Uint8Array =>
      concat(encodeSectionHeader(), encodeInterfaceDescription(), encodeEnhancedPacket({ timestampNs: 1n, packet: hex('45') }));
    const file = readOk(concat(section(), section()));
    expect(file.blocks.map((b) => b.kind)).toEqual(['shb', 'idb', 'epb', 'shb', 'idb', 'epb']);
    expect(only(file, 'idb').map((i) => i.interfaceId)).toEqual([0, 0]);
  });

  it('reads input backed by a SharedArrayBuffer', () => {
    const bytes = sampleCapture();
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    expect(readOk(shared).blocks).toHaveLength(6);
  });
});

describe('reader on damaged input', () => {
  const shbIdb = concat(encodeSectionHeader(), encodeInterfaceDescription());

  it('rejects what is not a pcapng file', () => {
    expect(readPcapng(new Uint8Array(0))).toEqual({ ok: false, error: 'too-short' });
    expect(readPcapng(hex('d4c3b2a1 02000400 00000000 00000000'))).toEqual({ ok: false, error: 'not-pcapng' });
    expect(readPcapng(hex('0a0d0d0a 1c000000 00000000 01000000'))).toEqual({ ok: false, error: 'bad-byte-order-magic' });
    expect(readPcapng(hex('0a0d0d0a 1e000000 4d3c2b1a 01000000'))).toEqual({ ok: false, error: 'bad-block-length' });
    expect(readPcapng(encodeSectionHeader().subarray(0, 20))).toEqual({ ok: false, error: 'truncated' });
  });

  it('reports a truncated trailing block and keeps everything before it', () => {
    const epb = encodeEnhancedPacket({ timestampNs: 9n, packet: hex('45000014') });
    const bytes = concat(shbIdb, epb, epb);
    const file = readOk(bytes.subarray(0, bytes.length - 3));
    expect(only(file, 'epb')).toHaveLength(1);
    expect(file.problems).toEqual([{ offset: shbIdb.length + epb.length, kind: 'truncated-block' }]);
    expect(file.end).toBe(shbIdb.length + epb.length);
  });

  it('stops at a trailer mismatch or an impossible block length', () => {
    const epb = encodeEnhancedPacket({ timestampNs: 9n, packet: hex('45000014') });
    const badTrailer = epb.slice();
    badTrailer[badTrailer.length - 4] ^= 4;
    expect(readOk(concat(shbIdb, badTrailer, epb)).problems).toEqual([{ offset: shbIdb.length, kind: 'trailer-mismatch' }]);
    const badLength = epb.slice();
    badLength[4] = 0x2a; // not a multiple of 4
    expect(readOk(concat(shbIdb, badLength)).problems).toEqual([{ offset: shbIdb.length, kind: 'bad-block-length' }]);
    const tiny = hex('06000000 08000000');
    expect(readOk(concat(shbIdb, tiny)).problems[0]?.kind).toBe('truncated-block');
  });

  it('skips a well-framed block with bad contents and goes on', () => {
    const good = encodeEnhancedPacket({ timestampNs: 1n, packet: hex('45') });
    // epb_flags with length 2 instead of 4
    const badFlags = hex(`06000000 2c000000 00000000 00000000 00000000 00000000 00000000
                          0200 0200 0100 0000 00000000 2c000000`);
    // captured length larger than the block
    const badCaplen = hex(`06000000 20000000 00000000 00000000 00000000 ff000000 ff000000 20000000`);
    // an option that runs past the end of the block
    const badOption = hex(`06000000 28000000 00000000 00000000 00000000 00000000 00000000 0100 0900 41414141 28000000`);
    // interface 7 has no IDB
    const noIdb = encodeEnhancedPacket({ timestampNs: 1n, packet: hex('45'), interfaceId: 7 });
    const bytes = concat(shbIdb, badFlags, badCaplen, badOption, noIdb, good);
    const file = readOk(bytes);
    expect(file.problems.map((p) => p.kind)).toEqual(['bad-option', 'malformed-block', 'malformed-block', 'unknown-interface']);
    expect(only(file, 'epb')).toHaveLength(1);
    expect(file.end).toBe(bytes.length);
  });

  it('skips a section whose major version it does not know, up to the next Section Header Block', () => {
    const v2 = encodeSectionHeader();
    v2[12] = 2;
    const epb = encodeEnhancedPacket({ timestampNs: 1n, packet: hex('45') });
    const file = readOk(concat(v2, encodeInterfaceDescription(), epb, shbIdb, epb));
    expect(file.problems).toEqual([{ offset: 0, kind: 'unsupported-version' }]);
    expect(file.skippedBlocks).toBe(2);
    expect(file.blocks.map((b) => b.kind)).toEqual(['shb', 'shb', 'idb', 'epb']);
  });

  it('never throws when the capture is cut at any offset, and keeps exactly the complete blocks', () => {
    const bytes = sampleCapture();
    const boundaries = [0];
    for (const b of readOk(bytes).blocks) boundaries.push(b.offset + b.length);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const r = readPcapng(bytes.subarray(0, cut));
      if (cut < (boundaries[1] ?? 0)) {
        expect(r.ok).toBe(false);
        continue;
      }
      if (!r.ok) throw new Error(`cut at ${cut}: ${r.error}`);
      const complete = boundaries.filter((b) => b > 0 && b <= cut).length;
      expect(r.value.blocks).toHaveLength(complete);
      const last = boundaries[complete] ?? 0;
      expect(r.value.end).toBe(last);
      expect(r.value.problems).toEqual(cut === last ? [] : [{ offset: last, kind: 'truncated-block' }]);
    }
  });

  it('never throws on seeded random mutations, and every view it returns lies inside the input', () => {
    const seed = sampleCapture();
    const rnd = mulberry32(0x7c0ffee);
    for (let iter = 0; iter < 3000; iter++) {
      let bytes = seed.slice();
      const edits = 1 + rnd.int(8);
      for (let e = 0; e < edits; e++) {
        const at = rnd.int(bytes.length);
        switch (rnd.int(4)) {
          case 0:
            bytes[at] ^= 1 << rnd.int(8);
            break;
          case 1:
            bytes[at] = rnd.int(256);
            break;
          case 2: // a length-looking word
            if ((at & ~3) + 4 <= bytes.length) {
              new DataView(bytes.buffer).setUint32(at & ~3, rnd.int(4) === 0 ? rnd.u32() : rnd.int(512), true);
            }
            break;
          default:
            bytes = bytes.slice(0, rnd.int(bytes.length + 1));
        }
        if (bytes.length === 0) break;
      }
      const r = readPcapng(bytes);
      if (!r.ok) continue;
      expect(r.value.end).toBeLessThanOrEqual(bytes.length);
      for (const b of r.value.blocks) {
        expect(b.offset + b.length).toBeLessThanOrEqual(bytes.length);
        if (b.kind === 'epb') {
          expect(b.data.length).toBe(b.capturedLength);
          expect(b.data.byteOffset + b.data.length).toBeLessThanOrEqual(b.offset + b.length);
        }
      }
    }
    // Pure garbage too.
    for (let iter = 0; iter < 1000; iter++) {
      const garbage = new Uint8Array(rnd.int(200));
      for (let i = 0; i < garbage.length; i++) garbage[i] = rnd.int(256);
      if (garbage.length >= 12 && rnd.int(2) === 0) garbage.set(encodeSectionHeader().subarray(0, 12));
      expect(() => readPcapng(garbage)).not.toThrow();
    }
  });

  it('exposes the block type codes it skips as constants', () => {
    expect(BlockType.EnhancedPacket).toBe(6);
    expect(BlockType.DecryptionSecrets).toBe(10);
  });
});
