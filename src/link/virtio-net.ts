// The virtio-net header a TUN device opened with IFF_VNET_HDR puts in front of every packet
// (include/uapi/linux/virtio_net.h, struct virtio_net_hdr; Documentation/networking/tuntap.rst), and
// what a reader must do with it: strip it, finish partial checksums, and reject what it cannot handle.
// Pure: no I/O. Allocation-free in the per-packet path except the returned subarray view.
//
// struct virtio_net_hdr {           // 10 bytes; tun's byte order is little-endian on x86 (legacy
//   u8  flags;                      // virtio: native endian; TUNSETVNETBE is not used here)
//   u8  gso_type;
//   u16 hdr_len;                    // length of the headers to replicate per segment (a hint)
//   u16 gso_size;                   // payload bytes per segment (the MSS) for GSO packets
//   u16 csum_start;                 // where checksumming starts, from the start of the packet
//   u16 csum_offset;                // where the checksum field is, from csum_start
// };

import { foldChecksum, onesSum, pseudoHeaderSum } from '../wire/checksum.js';

export const VIRTIO_NET_HDR_LEN = 10;

/** flags: the checksum at csum_start+csum_offset is partial (the folded pseudo-header sum only). */
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
/** flags: the checksum was already verified (the field is complete and correct). */
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_F_RSC_INFO = 4;

export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
/** gso_type bit: the TCP super-packet carries ECN CWR (only on its first segment after splitting). */
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

export interface VirtioNetHdr {
  flags: number;
  /** Including the ECN bit. */
  gsoType: number;
  hdrLen: number;
  gsoSize: number;
  csumStart: number;
  csumOffset: number;
}

/** Parses the 10-byte header at `offset`; undefined if fewer than 10 bytes are there. */
export function parseVirtioNetHdr(buf: Uint8Array, offset = 0): VirtioNetHdr | undefined {
  if (offset < 0 || offset + VIRTIO_NET_HDR_LEN > buf.length) return undefined;
  const le16 = (o: number): number => buf[offset + o]! | (buf[offset + o + 1]! << 8);
  return {
    flags: buf[offset]!,
    gsoType: buf[offset + 1]!,
    hdrLen: le16(2),
    gsoSize: le16(4),
    csumStart: le16(6),
    csumOffset: le16(8),
  };
}

/** Writes a header with no offload (flags 0, VIRTIO_NET_HDR_GSO_NONE, all fields 0); returns 10. */
export function writeNoOffloadHeader(buf: Uint8Array, offset = 0): number {
  buf.fill(0, offset, offset + VIRTIO_NET_HDR_LEN);
  return VIRTIO_NET_HDR_LEN;
}

/**
 * Prepares a TCP/IPv4 super-segment for the kernel to cut (send-side GSO, include/uapi/linux/
 * virtio_net.h): fills `hdr` with NEEDS_CSUM + GSO_TCPV4, hdr_len, gso_size, csum_start/offset, and
 * replaces the packet's TCP checksum with the folded pseudo-header sum (what Linux leaves in
 * th->check for CHECKSUM_PARTIAL: the kernel completes it per segment). Returns false when the
 * packet is not an option-less-or-not IPv4/TCP packet it can describe.
 */
export function prepareTcpGso(packet: Uint8Array, gsoSize: number, hdr: Uint8Array): boolean {
  if (packet.length < 40 || packet[0]! >> 4 !== 4 || packet[9] !== 6 || hdr.length < VIRTIO_NET_HDR_LEN) return false;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (packet.length < ihl + 20) return false;
  const thl = (packet[ihl + 12]! >> 4) * 4;
  const tcpLen = packet.length - ihl;
  if (thl < 20 || tcpLen < thl || gsoSize <= 0 || gsoSize > 0xffff) return false;
  const v = new DataView(packet.buffer, packet.byteOffset, packet.length);
  const src = v.getUint32(12);
  const dst = v.getUint32(16);
  const partial = ~foldChecksum(pseudoHeaderSum(src, dst, 6, tcpLen)) & 0xffff;
  v.setUint16(ihl + 16, partial);
  const h = new DataView(hdr.buffer, hdr.byteOffset, VIRTIO_NET_HDR_LEN);
  h.setUint8(0, VIRTIO_NET_HDR_F_NEEDS_CSUM);
  h.setUint8(1, VIRTIO_NET_HDR_GSO_TCPV4);
  h.setUint16(2, ihl + thl, true); // hdr_len
  h.setUint16(4, gsoSize, true); // gso_size
  h.setUint16(6, ihl, true); // csum_start
  h.setUint16(8, 16, true); // csum_offset: the TCP checksum field
  return true;
}

/**
 * Finishes a partial checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM) in place. The field at
 * csumStart+csumOffset holds the folded ones'-complement pseudo-header sum (Linux: th->check =
 * ~tcp_v4_check(len, saddr, daddr, 0)); the full checksum is the complement of the ones'-complement
 * sum over [csumStart, end of packet) including that field — what skb_checksum_help does
 * (net/core/dev.c: csum = skb_checksum(skb, start, skb->len - start, 0); field = csum_fold(csum)).
 * Returns false (and changes nothing) when the offsets do not fit in the packet.
 */
export function completeChecksum(packet: Uint8Array, csumStart: number, csumOffset: number): boolean {
  if (!Number.isInteger(csumStart) || !Number.isInteger(csumOffset) || csumStart < 0 || csumOffset < 0) return false;
  const at = csumStart + csumOffset;
  if (csumStart >= packet.length || at + 2 > packet.length) return false;
  const c = foldChecksum(onesSum(packet, csumStart, packet.length));
  packet[at] = c >>> 8;
  packet[at + 1] = c & 0xff;
  return true;
}

/** What the receive path counts. Plain mutable counters. */
export interface VirtioRxCounters {
  /** Packets that came with a GSO type (super-packets, possibly larger than the MTU). */
  gsoPackets: number;
  /** The segments those stood for on the wire: ceil(payload / gso_size) each. */
  gsoSegments: number;
  /** NEEDS_CSUM checksums finished here. */
  checksumsCompleted: number;
  /** NEEDS_CSUM TCP checksums left partial (passed up marked, see BatchReceiver's `partial`). */
  checksumsLeftPartial: number;
  /** GSO super-packets whose IPv4 total length (and so header checksum) had to be rewritten. */
  ipLengthsFixed: number;
  /** Dropped: short, unknown/unsupported gso_type, checksum offsets out of range, not IPv4 ... */
  malformed: number;
}

export function newVirtioRxCounters(): VirtioRxCounters {
  return { gsoPackets: 0, gsoSegments: 0, checksumsCompleted: 0, checksumsLeftPartial: 0, ipLengthsFixed: 0, malformed: 0 };
}

/**
 * One frame as read from an IFF_VNET_HDR TUN fd (`hdrSize` bytes of header, then an IPv4 packet):
 * returns a view of the packet with its checksum completed, or undefined (counted in
 * `counters.malformed`) when the frame must be dropped. Never throws on packet contents.
 *
 * Accepted gso_types: NONE and TCPV4 (with or without the ECN bit) — what TUN_F_CSUM|TUN_F_TSO4
 * allows the kernel to send. A GSO super-packet is handed up as one large IPv4/TCP packet; its IPv4
 * total length must be the packet's length (Linux writes it so for skbs up to 64 KB; BIG TCP's 0
 * is rewritten here together with the header checksum).
 * With `partial`, a NEEDS_CSUM IPv4/TCP checksum is not completed but left partial, and `partial.tcp`
 * says so (false for every other frame): the receive path then skips verifying it (BatchReceiver).
 */
export function decodeVirtioFrame(
  frame: Uint8Array,
  counters: VirtioRxCounters,
  hdrSize = VIRTIO_NET_HDR_LEN,
  partial?: { tcp: boolean },
): Uint8Array | undefined {
  if (partial !== undefined) partial.tcp = false;
  if (frame.length < hdrSize || hdrSize < VIRTIO_NET_HDR_LEN) {
    counters.malformed++;
    return undefined;
  }
  const flags = frame[0]!;
  const gsoType = frame[1]!;
  const gsoSize = frame[4]! | (frame[5]! << 8);
  const csumStart = frame[6]! | (frame[7]! << 8);
  const csumOffset = frame[8]! | (frame[9]! << 8);
  const packet = frame.subarray(hdrSize);
  const gso = gsoType & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso !== VIRTIO_NET_HDR_GSO_NONE && gso !== VIRTIO_NET_HDR_GSO_TCPV4) {
    counters.malformed++;
    return undefined;
  }
  if (gso === VIRTIO_NET_HDR_GSO_NONE && gsoType !== VIRTIO_NET_HDR_GSO_NONE) {
    counters.malformed++; // the ECN bit without a GSO type
    return undefined;
  }
  if (gso === VIRTIO_NET_HDR_GSO_NONE && (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0) {
    // Nothing for the link to do: even a runt goes up, for the IP layer to count by reason.
    return packet;
  }
  if (packet.length < 20) {
    counters.malformed++;
    return undefined;
  }
  const version = packet[0]! >> 4;
  const ihl = (packet[0]! & 0x0f) * 4;
  if (gso === VIRTIO_NET_HDR_GSO_TCPV4) {
    // A TCPv4 super-packet: IPv4, TCP, a segment size, and a partial checksum to finish.
    if (version !== 4 || ihl < 20 || packet[9] !== 6 || gsoSize === 0 || (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) === 0) {
      counters.malformed++;
      return undefined;
    }
    if (packet.length > 0xffff) {
      counters.malformed++; // cannot be expressed in an IPv4 total length
      return undefined;
    }
    const totalLength = (packet[2]! << 8) | packet[3]!;
    if (totalLength !== packet.length) {
      // BIG TCP leaves tot_len 0; anything else inconsistent is not ours to guess at.
      if (totalLength !== 0) {
        counters.malformed++;
        return undefined;
      }
      packet[2] = packet.length >>> 8;
      packet[3] = packet.length & 0xff;
      packet[10] = 0;
      packet[11] = 0;
      const c = foldChecksum(onesSum(packet, 0, ihl));
      packet[10] = c >>> 8;
      packet[11] = c & 0xff;
      counters.ipLengthsFixed++;
    }
    const tcpHeaderLen = ihl + 12 < packet.length ? (packet[ihl + 12]! >> 4) * 4 : 0;
    const payload = packet.length - ihl - tcpHeaderLen;
    counters.gsoPackets++;
    counters.gsoSegments += payload > 0 ? Math.ceil(payload / gsoSize) : 1;
  }
  if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    // The checksummed region must start past the IPv4 header (it is the TCP/UDP header's checksum).
    if (version === 4 && csumStart < ihl) {
      counters.malformed++;
      return undefined;
    }
    // With `partial`: an IPv4/TCP checksum is left partial (the caller marks the packet so): summing
    // 64 KB to then verify the sum just made is a tautology, and the stack's largest receive cost.
    if (partial !== undefined && version === 4 && packet[9] === 6 && csumStart === ihl && csumOffset === 16 && packet.length >= ihl + 20) {
      partial.tcp = true;
      counters.checksumsLeftPartial++;
      return packet;
    }
    if (!completeChecksum(packet, csumStart, csumOffset)) {
      counters.malformed++;
      return undefined;
    }
    counters.checksumsCompleted++;
  }
  return packet;
}
