// Send-side GSO (TSO): the TCP layer emits super-segments of whole segments, and the link describes
// them to the kernel in a virtio_net_hdr with a partial checksum the kernel completes per segment.

import { describe, expect, it } from 'vitest';
import { completeChecksum, parseVirtioNetHdr, prepareTcpGso, VIRTIO_NET_HDR_GSO_TCPV4, VIRTIO_NET_HDR_F_NEEDS_CSUM } from '../../src/link/virtio-net.js';
import { Tcb } from '../../src/tcp/tcb.js';
import { emitIpv4Header, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { emitTcp, tcpLen, TCP_ACK, TCP_SYN, type TcpRepr } from '../../src/wire/tcp.js';

const SRC = 0xc6120002;
const DST = 0xc6120001;

function tcpPacket(payloadLen: number): Uint8Array {
  const repr: TcpRepr = { srcPort: 80, dstPort: 40000, seq: 1000, ack: 2000, flags: TCP_ACK, window: 1000, options: { timestamps: { tsVal: 5, tsEcr: 6 } }, payload: new Uint8Array(payloadLen).map((_, i) => i * 7) };
  const len = tcpLen(repr);
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src: SRC, dst: DST, protocol: IPPROTO_TCP, payloadLength: len }, pkt, 0);
  emitTcp(repr, SRC, DST, pkt, 20);
  return pkt;
}

describe('prepareTcpGso', () => {
  it('describes_a_super_segment_and_leaves_a_partial_checksum_the_kernel_can_complete', () => {
    const pkt = tcpPacket(10 * 1448);
    const full = (pkt[36]! << 8) | pkt[37]!;
    const hdr = new Uint8Array(10);
    expect(prepareTcpGso(pkt, 1448, hdr)).toBe(true);
    expect(parseVirtioNetHdr(hdr)).toMatchObject({
      flags: VIRTIO_NET_HDR_F_NEEDS_CSUM,
      gsoType: VIRTIO_NET_HDR_GSO_TCPV4,
      hdrLen: 20 + 32,
      gsoSize: 1448,
      csumStart: 20,
      csumOffset: 16,
    });
    // What the kernel does with CHECKSUM_PARTIAL gives back the real checksum.
    expect((pkt[36]! << 8) | pkt[37]!).not.toBe(full);
    expect(completeChecksum(pkt, 20, 16)).toBe(true);
    expect((pkt[36]! << 8) | pkt[37]!).toBe(full);
  });

  it('refuses_what_is_not_ipv4_tcp', () => {
    const pkt = tcpPacket(100);
    pkt[9] = 17;
    expect(prepareTcpGso(pkt, 1448, new Uint8Array(10))).toBe(false);
    expect(prepareTcpGso(new Uint8Array(10), 1448, new Uint8Array(10))).toBe(false);
  });
});

describe('TCP super-segments (gsoMaxSize)', () => {
  it('sends_new_data_as_whole_segment_super_segments_and_retransmits_single_segments', () => {
    const tcb = new Tcb({ localAddr: SRC, localPort: 80, remoteAddr: DST, remotePort: 40000 }, true, {
      mss: 1460,
      gsoMaxSize: 65000,
    });
    tcb.openPassive(0, 1000, { srcPort: 40000, dstPort: 80, seq: 5000, ack: 0, headerLength: 20, flags: TCP_SYN, window: 65535, checksum: 0, urgentPointer: 0, options: { mss: 1460 }, payload: new Uint8Array(0) });
    tcb.pollTransmit(0);
    tcb.handleSegment(10, { srcPort: 40000, dstPort: 80, seq: 5001, ack: 1001, headerLength: 20, flags: TCP_ACK, window: 65535, checksum: 0, urgentPointer: 0, options: {}, payload: new Uint8Array(0) });
    tcb.write(new Uint8Array(100_000));
    const first = tcb.pollTransmit(10)!;
    // The initial window (3 segments, 4380 bytes) in one super-segment of whole segments.
    expect(first.payload!.length).toBe(3 * 1460);
    expect(first.gsoSize).toBe(1460);
    // After a timeout the retransmission goes segment by segment.
    tcb.handleTimeout(10 + 2000);
    const again = tcb.pollTransmit(2010)!;
    expect(again.payload!.length).toBe(1460);
    expect(again.gsoSize).toBeUndefined();
  });
});
