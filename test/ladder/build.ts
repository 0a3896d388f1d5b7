// Test helpers for the ladder: IPv4/TCP packets made with tunstack's own codecs, a scripted TCP
// conversation (seq/ack kept like a real pair of endpoints), and capture files — pcapng through the
// writer in src/capture/pcapng.ts, classic pcap and big-endian pcapng laid out byte by byte here.

import {
  encodeDecryptionSecrets,
  encodeEnhancedPackets,
  encodeInterfaceDescription,
  encodeSectionHeader,
  type Direction,
} from '../../src/capture/pcapng.js';
import { emitIpv4Header, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { emitTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpOptionsLen, type TcpOptions } from '../../src/wire/tcp.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN };

export interface SegmentSpec {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack?: number;
  flags: number;
  payload?: Uint8Array;
  window?: number;
  options?: TcpOptions;
  id?: number;
}

/** A raw IPv4 datagram carrying one TCP segment, checksums correct. */
export function tcpPacket(s: SegmentSpec): Uint8Array {
  const src = parseIpv4Addr(s.src)!;
  const dst = parseIpv4Addr(s.dst)!;
  const payload = s.payload ?? new Uint8Array(0);
  const tcpLen = 20 + tcpOptionsLen(s.options) + payload.length;
  const buf = new Uint8Array(20 + tcpLen);
  emitTcp({ srcPort: s.sport, dstPort: s.dport, seq: s.seq >>> 0, ack: (s.ack ?? 0) >>> 0, flags: s.flags, window: s.window ?? 65535, options: s.options ?? {}, payload }, src, dst, buf, 20);
  emitIpv4Header({ src, dst, protocol: IPPROTO_TCP, payloadLength: tcpLen, id: s.id ?? 0 }, buf, 0);
  return buf;
}

export interface Packet {
  /** Nanoseconds since the epoch. */
  ts: bigint;
  /** Raw IPv4 bytes. */
  ip: Uint8Array;
  direction?: Direction;
  comment?: string;
}

export const T0 = 1_764_979_200_000_000_000n; // 2025-12-06T00:00:00Z in ns

/**
 * A scripted TCP conversation between a client (A) and a server (B) that keeps each side's next
 * sequence number, so tests say "A sends 517 bytes" instead of computing seq/ack by hand.
 */
export class Conversation {
  readonly packets: Packet[] = [];
  private t: bigint;
  private next = { A: 0, B: 0 };
  constructor(
    readonly a = { addr: '198.18.0.1', port: 43210, isn: 1000 },
    readonly b = { addr: '198.18.0.2', port: 443, isn: 5_000_000 },
    t0 = T0,
  ) {
    this.t = t0;
    this.next = { A: a.isn, B: b.isn };
  }

  /** Advances the clock by `us` microseconds. */
  wait(us: number): this {
    this.t += BigInt(us) * 1000n;
    return this;
  }

  /** Sends one segment from `from`; seq defaults to the side's next, ack to the other's next. */
  send(from: 'A' | 'B', flags: number, payload: Uint8Array = new Uint8Array(0), over: Partial<SegmentSpec> = {}): this {
    const me = from === 'A' ? this.a : this.b;
    const peer = from === 'A' ? this.b : this.a;
    const seq = over.seq ?? this.next[from];
    const ip = tcpPacket({
      src: me.addr,
      dst: peer.addr,
      sport: me.port,
      dport: peer.port,
      seq,
      ack: (flags & TCP_ACK) !== 0 ? this.next[from === 'A' ? 'B' : 'A'] : 0,
      flags,
      payload,
      ...over,
    });
    const segLen = payload.length + ((flags & TCP_SYN) !== 0 ? 1 : 0) + ((flags & TCP_FIN) !== 0 ? 1 : 0);
    const end = (seq + segLen) >>> 0;
    if (((end - this.next[from]) | 0) > 0) this.next[from] = end;
    this.packets.push({ ts: this.t, ip });
    this.t += 100_000n; // 100 µs between packets unless told otherwise
    return this;
  }

  handshake(opts: { a?: TcpOptions; b?: TcpOptions } = {}): this {
    return this.send('A', TCP_SYN, undefined, { options: opts.a ?? { mss: 1460, windowScale: 7, sackPermitted: true } })
      .send('B', TCP_SYN | TCP_ACK, undefined, { options: opts.b ?? { mss: 1460, windowScale: 7, sackPermitted: true } })
      .send('A', TCP_ACK);
  }

  close(): this {
    return this.send('A', TCP_FIN | TCP_ACK).send('B', TCP_FIN | TCP_ACK).send('A', TCP_ACK);
  }

  /** Where side `from` will send next (absolute). */
  nextSeq(from: 'A' | 'B'): number {
    return this.next[from];
  }
}

const enc = new TextEncoder();
export const text = (s: string): Uint8Array => enc.encode(s);

/** A pcapng capture (little-endian, via the writer): SHB, one RAW IDB, an optional DSB, the packets. */
export function pcapng(packets: readonly Packet[], keyLog?: string): Uint8Array {
  const parts = [encodeSectionHeader({ application: 'test' }), encodeInterfaceDescription({ name: 'tun0' })];
  if (keyLog !== undefined) parts.push(encodeDecryptionSecrets(keyLog));
  parts.push(
    encodeEnhancedPackets(
      packets.map((p) => ({
        timestampNs: p.ts,
        packet: p.ip,
        ...(p.direction !== undefined ? { direction: p.direction } : {}),
        ...(p.comment !== undefined ? { comment: p.comment } : {}),
      })),
    ),
  );
  return Buffer.concat(parts);
}

/** Bytes written with an explicit byte order. */
class Out {
  private parts: number[] = [];
  constructor(private readonly le: boolean) {}
  u8(v: number): this {
    this.parts.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    const b = [(v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.le ? b.reverse() : b));
    return this;
  }
  u32(v: number): this {
    const b = [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
    this.parts.push(...(this.le ? b.reverse() : b));
    return this;
  }
  bytes(b: Uint8Array): this {
    this.parts.push(...b);
    return this;
  }
  pad4(): this {
    while (this.parts.length % 4 !== 0) this.parts.push(0);
    return this;
  }
  get length(): number {
    return this.parts.length;
  }
  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/** Classic pcap (draft-ietf-opsawg-pcap §4/§5): header, then one record per frame, in the given byte order and resolution. */
export function classicPcap(frames: readonly { ts: bigint; data: Uint8Array; origLen?: number }[], opts: { le: boolean; ns: boolean; linkType: number; snapLen?: number }): Uint8Array {
  const o = new Out(opts.le);
  o.u32(opts.ns ? 0xa1b23c4d : 0xa1b2c3d4).u16(2).u16(4).u32(0).u32(0).u32(opts.snapLen ?? 262144).u32(opts.linkType);
  for (const f of frames) {
    const sec = Number(f.ts / 1_000_000_000n);
    const frac = Number(opts.ns ? f.ts % 1_000_000_000n : (f.ts % 1_000_000_000n) / 1000n);
    o.u32(sec).u32(frac).u32(f.data.length).u32(f.origLen ?? f.data.length).bytes(f.data);
  }
  return o.done();
}

/** A pcapng block in the given byte order: type, total length, body (padded), total length. */
function block(le: boolean, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  const o = new Out(le).u32(type).u32(total).bytes(body).pad4().u32(total);
  return o.done();
}

/**
 * A pcapng capture as dumpcap lays it out, in either byte order: SHB, one IDB per link type (µs
 * resolution, the default: no if_tsresol), then EPBs (or an SPB for frames marked `simple`).
 */
export function pcapngOrdered(
  le: boolean,
  interfaces: readonly { linkType: number; snapLen?: number; tsresol?: number }[],
  frames: readonly { iface: number; ts: bigint; data: Uint8Array; simple?: boolean; comment?: string }[],
): Uint8Array {
  const parts: Uint8Array[] = [];
  parts.push(block(le, 0x0a0d0d0a, new Out(le).u32(0x1a2b3c4d).u16(1).u16(0).u32(0xffffffff).u32(0xffffffff).done()));
  for (const i of interfaces) {
    const body = new Out(le).u16(i.linkType).u16(0).u32(i.snapLen ?? 262144);
    if (i.tsresol !== undefined) body.u16(9).u16(1).u8(i.tsresol).pad4().u16(0).u16(0);
    parts.push(block(le, 1, body.done()));
  }
  for (const f of frames) {
    if (f.simple) {
      parts.push(block(le, 3, new Out(le).u32(f.data.length).bytes(f.data).pad4().done()));
      continue;
    }
    const res = interfaces[f.iface]?.tsresol ?? 6;
    const ts = res === 9 ? f.ts : f.ts / 1000n;
    const body = new Out(le).u32(f.iface).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn)).u32(f.data.length).u32(f.data.length).bytes(f.data).pad4();
    if (f.comment !== undefined) {
      const c = enc.encode(f.comment);
      body.u16(1).u16(c.length).bytes(c).pad4().u16(0).u16(0);
    }
    parts.push(block(le, 6, body.done()));
  }
  return Buffer.concat(parts);
}

/** Link-layer framings of a raw IPv4 datagram. */
export const frame = {
  ethernet(ip: Uint8Array, vlan?: number): Uint8Array {
    const head = [0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
    if (vlan !== undefined) head.push(0x81, 0x00, (vlan >>> 8) & 0x0f, vlan & 0xff);
    head.push(0x08, 0x00);
    return Buffer.concat([Uint8Array.from(head), ip]);
  },
  sll(ip: Uint8Array): Uint8Array {
    // packet type 0 (to us), ARPHRD_ETHER 1, address length 6, address (8), protocol 0x0800
    return Buffer.concat([Uint8Array.from([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00]), ip]);
  },
  sll2(ip: Uint8Array): Uint8Array {
    // protocol 0x0800, reserved, ifindex 2, ARPHRD_ETHER, packet type 4 (outgoing), address length 6, address (8)
    return Buffer.concat([Uint8Array.from([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6, 2, 0, 0, 0, 0, 1, 0, 0]), ip]);
  },
  null(ip: Uint8Array, le = true): Uint8Array {
    return Buffer.concat([Uint8Array.from(le ? [2, 0, 0, 0] : [0, 0, 0, 2]), ip]);
  },
};
