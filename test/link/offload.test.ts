// The opt-in offload mode of TunLink (IFF_VNET_HDR + TUNSETOFFLOAD TUN_F_CSUM|TUN_F_TSO4): unit tests
// of src/link/virtio-net.ts everywhere, and end to end (root + /dev/net/tun + the built addon) an
// HTTP upload and download through tunstack with GSO super-packets arriving from the kernel.
// Everything privileged lives in namespaces tunstack-<pid>-<n> that afterAll removes, also on failure.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { deterministicBytes, createHttpApp } from '../../src/apps/http-handler.js';
import { deleteNetns, netnsName } from '../../src/link/netns.js';
import { TunLink } from '../../src/link/tun-link.js';
import { addonPath } from '../../src/link/tun-native.js';
import {
  completeChecksum,
  decodeVirtioFrame,
  newVirtioRxCounters,
  parseVirtioNetHdr,
  VIRTIO_NET_HDR_F_NEEDS_CSUM,
  VIRTIO_NET_HDR_GSO_ECN,
  VIRTIO_NET_HDR_GSO_TCPV4,
  VIRTIO_NET_HDR_GSO_UDP,
  VIRTIO_NET_HDR_LEN,
  writeNoOffloadHeader,
} from '../../src/link/virtio-net.js';
import { Stack } from '../../src/socket/stack.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { foldChecksum, pseudoHeaderSum } from '../../src/wire/checksum.js';
import { emitIpv4Header, parseIpv4 } from '../../src/wire/ipv4.js';
import { emitTcp, fillTcpChecksum, parseTcp, TCP_ACK, TCP_PSH, tcpLen, type TcpRepr } from '../../src/wire/tcp.js';

const execFileAsync = promisify(execFile);

const SRC = parseIpv4Addr('198.18.0.1')!;
const DST = parseIpv4Addr('198.18.0.2')!;

/** An IPv4/TCP packet with a correct checksum, and the same packet with the checksum replaced by the partial (pseudo-header) value. */
function tcpPacket(payloadLen: number): { full: Uint8Array; partial: Uint8Array; tcpChecksum: number } {
  const payload = new Uint8Array(payloadLen);
  for (let i = 0; i < payloadLen; i++) payload[i] = (i * 7 + 3) & 0xff;
  const repr: TcpRepr = { srcPort: 40000, dstPort: 80, seq: 0x01020304, ack: 0xa0b0c0d0, flags: TCP_ACK | TCP_PSH, window: 502, payload };
  const len = tcpLen(repr);
  const full = new Uint8Array(20 + len);
  emitIpv4Header({ src: SRC, dst: DST, protocol: 6, payloadLength: len }, full, 0);
  emitTcp(repr, SRC, DST, full, 20);
  const tcpChecksum = (full[36]! << 8) | full[37]!;
  const partial = full.slice();
  // Linux's CHECKSUM_PARTIAL: th->check = ~tcp_v4_check(len, saddr, daddr, 0), the folded (uncomplemented) pseudo-header sum.
  const pseudo = ~foldChecksum(pseudoHeaderSum(SRC, DST, 6, len)) & 0xffff;
  partial[36] = pseudo >>> 8;
  partial[37] = pseudo & 0xff;
  return { full, partial, tcpChecksum };
}

function frame(hdr: { flags?: number; gsoType?: number; hdrLen?: number; gsoSize?: number; csumStart?: number; csumOffset?: number }, packet: Uint8Array): Uint8Array {
  const f = new Uint8Array(VIRTIO_NET_HDR_LEN + packet.length);
  const dv = new DataView(f.buffer);
  dv.setUint8(0, hdr.flags ?? 0);
  dv.setUint8(1, hdr.gsoType ?? 0);
  dv.setUint16(2, hdr.hdrLen ?? 0, true);
  dv.setUint16(4, hdr.gsoSize ?? 0, true);
  dv.setUint16(6, hdr.csumStart ?? 0, true);
  dv.setUint16(8, hdr.csumOffset ?? 0, true);
  f.set(packet, VIRTIO_NET_HDR_LEN);
  return f;
}

describe('virtio-net header', () => {
  it('parses the 10 little-endian bytes', () => {
    const b = Uint8Array.of(0xff, 0x01, 0x02, 0x03, 0x42, 0x00, 0x34, 0x12, 0x10, 0x00, 0xee);
    expect(parseVirtioNetHdr(b, 2)).toBeUndefined(); // 9 bytes left
    expect(parseVirtioNetHdr(b, 1)).toEqual(parseVirtioNetHdr(b.subarray(1)));
    expect(parseVirtioNetHdr(b, 1)).toEqual({ flags: 1, gsoType: 2, hdrLen: 0x4203, gsoSize: 0x3400, csumStart: 0x1012, csumOffset: 0xee00 });
    expect(parseVirtioNetHdr(Uint8Array.of(1, 1, 54, 0, 0xb4, 0x05, 20, 0, 16, 0))).toEqual({
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: VIRTIO_NET_HDR_GSO_TCPV4,
      hdrLen: 54,
      gsoSize: 1460,
      csumStart: 20,
      csumOffset: 16,
    });
    expect(parseVirtioNetHdr(new Uint8Array(9))).toBeUndefined();
  });

  it('writes an all-zero header for transmit', () => {
    const b = new Uint8Array(14).fill(0xaa);
    expect(writeNoOffloadHeader(b, 2)).toBe(10);
    expect([...b]).toEqual([0xaa, 0xaa, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa, 0xaa]);
  });

  it('completes a partial TCP checksum to the one emitTcp computes', () => {
    for (const n of [0, 1, 100, 1459, 1460, 65495]) {
      const { full, partial, tcpChecksum } = tcpPacket(n);
      expect(partial).not.toEqual(full);
      expect(parseTcp(partial.subarray(20), SRC, DST).ok).toBe(false);
      expect(completeChecksum(partial, 20, 16)).toBe(true);
      expect((partial[36]! << 8) | partial[37]!).toBe(tcpChecksum);
      expect(partial).toEqual(full);
      expect(parseTcp(partial.subarray(20), SRC, DST).ok).toBe(true);
    }
  });

  it('refuses checksum offsets outside the packet without touching it', () => {
    const { partial } = tcpPacket(10);
    const before = partial.slice();
    expect(completeChecksum(partial, partial.length, 0)).toBe(false);
    expect(completeChecksum(partial, 20, partial.length - 21)).toBe(false); // field would straddle the end
    expect(completeChecksum(partial, -1, 16)).toBe(false);
    expect(completeChecksum(partial, 20, 1.5)).toBe(false);
    expect(partial).toEqual(before);
  });

  it('decodes frames: strips the header, completes NEEDS_CSUM, counts GSO', () => {
    const c = newVirtioRxCounters();
    // Plain, no flags: passed through untouched.
    const plain = tcpPacket(50).full;
    const out1 = decodeVirtioFrame(frame({}, plain), c);
    expect(out1).toEqual(plain);
    // NEEDS_CSUM, no GSO.
    const p2 = tcpPacket(1000);
    const out2 = decodeVirtioFrame(frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: 20, csumOffset: 16 }, p2.partial), c)!;
    expect(out2).toEqual(p2.full);
    // A TCPv4 super-packet of 30000 payload bytes at MSS 1448 (with ECN bit).
    const p3 = tcpPacket(30000);
    const f3 = frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16 }, p3.partial);
    const out3 = decodeVirtioFrame(f3, c)!;
    expect(out3.byteOffset - f3.byteOffset).toBe(10); // a view, not a copy
    expect(out3).toEqual(p3.full);
    const ip = parseIpv4(out3);
    expect(ip.ok).toBe(true);
    if (ip.ok) expect(parseTcp(ip.value.payload, SRC, DST).ok).toBe(true);
    expect(c).toEqual({ gsoPackets: 1, gsoSegments: Math.ceil(30000 / 1448), checksumsCompleted: 2, checksumsLeftPartial: 0, ipLengthsFixed: 0, malformed: 0 });
  });

  it('leaves_a_tcp_checksum_partial_and_says_so_when_asked_and_completes_others', () => {
    const c = newVirtioRxCounters();
    const mark = { tcp: false };
    const p = tcpPacket(30000);
    const f = frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, hdrLen: 40, gsoSize: 1448, csumStart: 20, csumOffset: 16 }, p.partial);
    const out = decodeVirtioFrame(f, c, VIRTIO_NET_HDR_LEN, mark)!;
    expect(mark.tcp).toBe(true);
    expect(out).toEqual(p.partial); // untouched: nothing summed
    expect(fillTcpChecksum(out)).toBe(true);
    expect(out).toEqual(p.full);
    // A plain frame (no NEEDS_CSUM) is not marked.
    const plain = tcpPacket(50).full;
    decodeVirtioFrame(frame({}, plain), c, VIRTIO_NET_HDR_LEN, mark);
    expect(mark.tcp).toBe(false);
    // A checksum that is not TCP's (offset 6: UDP's) is completed as before, not marked.
    const q = tcpPacket(100);
    q.partial[9] = 17;
    decodeVirtioFrame(frame({ flags: VIRTIO_NET_HDR_F_NEEDS_CSUM, csumStart: 20, csumOffset: 6 }, q.partial), c, VIRTIO_NET_HDR_LEN, mark);
    expect(mark.tcp).toBe(false);
    expect(c).toMatchObject({ checksumsLeftPartial: 1, checksumsCompleted: 1, malformed: 0 });
  });

  it('rewrites a BIG TCP total length of 0 (and the header checksum)', () => {
    const c = newVirtioRxCounters();
    const p = tcpPacket(20000);
    const bad = p.partial.slice();
    bad[2] = 0;
    bad[3] = 0;
    const out = decodeVirtioFrame(frame({ flags: 1, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, gsoSize: 1460, csumStart: 20, csumOffset: 16 }, bad), c)!;
    expect(out).toEqual(p.full);
    expect(c.ipLengthsFixed).toBe(1);
  });

  it('drops (and counts) malformed or unsupported headers, never throws', () => {
    const c = newVirtioRxCounters();
    const p = tcpPacket(3000).partial;
    const cases: Uint8Array[] = [
      new Uint8Array(5), // shorter than the header
      frame({ flags: 1, csumStart: 20, csumOffset: 16 }, new Uint8Array(8)), // a checksum to finish in a runt
      frame({ gsoType: 2 }, p), // unknown gso_type
      frame({ gsoType: 0x7f }, p),
      frame({ gsoType: VIRTIO_NET_HDR_GSO_UDP, flags: 1, csumStart: 20, csumOffset: 6, gsoSize: 1400 }, p), // not enabled
      frame({ gsoType: VIRTIO_NET_HDR_GSO_ECN }, p), // ECN bit without a type
      frame({ flags: 1, csumStart: p.length, csumOffset: 0 }, p), // csum_start past the end
      frame({ flags: 1, csumStart: 20, csumOffset: 0xffff }, p), // csum_offset past the end
      frame({ flags: 1, csumStart: 4, csumOffset: 6 }, p), // inside the IPv4 header
      frame({ flags: 1, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, gsoSize: 0, csumStart: 20, csumOffset: 16 }, p), // GSO without a size
      frame({ gsoType: VIRTIO_NET_HDR_GSO_TCPV4, gsoSize: 1460 }, p), // GSO without NEEDS_CSUM
      frame({ flags: 1, gsoType: VIRTIO_NET_HDR_GSO_TCPV4, gsoSize: 1460, csumStart: 20, csumOffset: 16 }, Uint8Array.of(...p.subarray(0, 2), 0x12, 0x34, ...p.subarray(4))), // bad total length
    ];
    for (const f of cases) expect(decodeVirtioFrame(f, c)).toBeUndefined();
    expect(c.malformed).toBe(cases.length);
    expect(c.checksumsCompleted).toBe(0);
  });

  it('passes_a_runt_without_offload_work_up_for_the_ip_layer_to_count', () => {
    const c = newVirtioRxCounters();
    expect(decodeVirtioFrame(frame({}, new Uint8Array(8)), c)).toEqual(new Uint8Array(8));
    expect(c.malformed).toBe(0);
  });
});

// ---- end to end ------------------------------------------------------------------------------------

const privileged = process.getuid?.() === 0 && existsSync('/dev/net/tun') && existsSync(addonPath());

let nsCounter = 0;
const namespaces = new Set<string>();
const cleanups: (() => Promise<unknown>)[] = [];
let tmp: string | undefined;

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  for (const ns of namespaces) await deleteNetns(ns).catch(() => undefined);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

async function startStack(offload: boolean): Promise<{ link: TunLink; ns: string; stack: Stack }> {
  const ns = netnsName(process.pid, `off${++nsCounter}`);
  namespaces.add(ns);
  const link = await TunLink.open({ netns: ns, peer: '198.18.0.1/24', mtu: 1500, offload });
  cleanups.push(() => link.close());
  const stack = new Stack(link, { address: '198.18.0.2' });
  cleanups.push(() => stack.close());
  // As RunningStack.serveHttp: node:http, unmodified, on tunstack's TCP.
  const server: Server = createHttpServer(createHttpApp());
  const tcp = stack.createServer((socket) => server.emit('connection', socket));
  tcp.listen(80);
  return { link, ns, stack };
}

async function inNs(ns: string, argv: string[], maxBuffer = 1 << 20): Promise<string> {
  const { stdout } = await execFileAsync('ip', ['netns', 'exec', ns, ...argv], { maxBuffer, encoding: 'utf8' });
  return stdout;
}

const SIZE = 50 * 1024 * 1024;

async function upload(ns: string, file: string): Promise<{ ms: number; body: { bytes: number; sha256: string } }> {
  const t0 = performance.now();
  const out = await inNs(ns, ['curl', '-sS', '--fail', '--max-time', '120', '-H', 'Expect:', '--data-binary', `@${file}`, 'http://198.18.0.2/sink']);
  return { ms: performance.now() - t0, body: JSON.parse(out) as { bytes: number; sha256: string } };
}

async function download(ns: string): Promise<{ ms: number; sha256: string }> {
  const t0 = performance.now();
  const out = await inNs(ns, ['sh', '-c', `curl -sS --fail --max-time 120 http://198.18.0.2/bytes/${SIZE} | sha256sum`]);
  return { ms: performance.now() - t0, sha256: out.split(' ')[0]! };
}

function expectedDownloadSha(): string {
  const h = createHash('sha256');
  const chunk = 1 << 20;
  for (let off = 0; off < SIZE; off += chunk) h.update(deterministicBytes(off, Math.min(chunk, SIZE - off)));
  return h.digest('hex');
}

describe.skipIf(!privileged)('TunLink offload end to end (root)', () => {
  it('receives GSO super-packets: 50 MiB upload and download over HTTP, ping', { timeout: 300_000 }, async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tunstack-offload-'));
    const file = join(tmp, 'upload.bin');
    const data = randomBytes(SIZE);
    await writeFile(file, data);
    const wantUp = createHash('sha256').update(data).digest('hex');
    const wantDown = expectedDownloadSha();

    const figures: string[] = [];
    for (const offload of [true, false]) {
      const { link, ns, stack } = await startStack(offload);
      expect(link.offload).toBe(offload);

      const ping = await inNs(ns, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '198.18.0.2']);
      expect(ping).toMatch(/3 received/);

      const up = await upload(ns, file);
      expect(up.body).toEqual({ bytes: SIZE, sha256: wantUp });
      const s1 = link.stats();
      const down = await download(ns);
      expect(down.sha256).toBe(wantDown);
      const s2 = link.stats();

      if (offload) {
        // The point of it: the kernel handed over super-packets, with partial TCP checksums that need no
        // summing (CHECKSUM_PARTIAL: made by the local kernel; nothing to verify).
        expect(s1.gsoPacketsReceived).toBeGreaterThan(0);
        expect(s1.gsoSegmentsReceived).toBeGreaterThan(s1.gsoPacketsReceived);
        expect(s1.checksumsLeftPartial).toBeGreaterThanOrEqual(s1.gsoPacketsReceived);
        expect(s2.offloadMalformed).toBe(0);
        expect(s2.writeErrors).toBe(0);
        // The IP and TCP parsers accepted every super-packet: total length, header and TCP checksums.
        expect(stack.host.counters.dropped).toEqual({});
        // Far fewer reads than 1500-byte packets: 50 MiB / 1448 ≈ 36 k segments.
        expect(s1.packetsRead).toBeLessThan(SIZE / 1448);
      } else {
        expect(s2.gsoPacketsReceived).toBe(0);
        expect(s2.checksumsCompleted).toBe(0);
      }
      const mb = SIZE / 1e6;
      figures.push(
        `offload=${offload}: upload ${up.ms.toFixed(0)} ms (${((mb * 8) / (up.ms / 1000)).toFixed(0)} Mbit/s), ` +
          `download ${down.ms.toFixed(0)} ms (${((mb * 8) / (down.ms / 1000)).toFixed(0)} Mbit/s); ` +
          `reads during upload ${s1.packetsRead}, GSO ${s1.gsoPacketsReceived} packets for ${s1.gsoSegmentsReceived} segments, ` +
          `checksums completed ${s2.checksumsCompleted}, IPv4 lengths fixed ${s2.ipLengthsFixed}, malformed ${s2.offloadMalformed}, ` +
          `IP drops ${JSON.stringify(stack.host.counters.dropped)}, writes ${s2.packetsWritten}, write errors ${s2.writeErrors}`,
      );
      // Tear this one down before the next (both use 198.18.0.0/24 in their own namespaces).
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      await deleteNetns(ns).catch(() => undefined);
      namespaces.delete(ns);
    }
    console.log(figures.join('\n'));
  });
});

describe.skipIf(!privileged)('TunLink offload fallback (root)', () => {
  it('falls_back_to_a_plain_tun_and_keeps_the_reason_when_tunsetoffload_is_refused', async () => {
    const ns = netnsName(process.pid, `off${++nsCounter}`);
    namespaces.add(ns);
    // The test seam makes TUNSETOFFLOAD fail with EINVAL, as a kernel without TSO4 would.
    const link = await TunLink.open({ netns: ns, peer: '198.18.0.1/24', mtu: 1500, offload: true, testRefuseOffload: true });
    try {
      expect(link.offload).toBe(false);
      expect(link.tsoMaxSize).toBeUndefined();
      expect(link.offloadUnavailable).toMatch(/setting TUN offloads failed: Invalid argument \(simulated/);
      // The plain device works: the kernel's ping gets through it (no virtio-net header in front).
      const stack = new Stack(link, { address: '198.18.0.2' });
      const out = await inNs(ns, ['ping', '-c', '2', '-i', '0.2', '-W', '2', '198.18.0.2']);
      expect(out).toMatch(/2 packets transmitted, 2 received/);
      await stack.close();
    } finally {
      await link.close();
      await deleteNetns(ns).catch(() => undefined);
      namespaces.delete(ns);
    }
  });
});
