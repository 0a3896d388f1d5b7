// Link-layer decapsulation for the link types tcpdump, dumpcap and tunstack write (the tcpdump.org
// LINKTYPE_ registry): finds the IPv4 datagram inside a captured frame, or says why there is none.

/** LINKTYPE_ values (https://www.tcpdump.org/linktypes.html). */
export const LinkType = {
  NULL: 0, // BSD loopback: a 4-byte address family in the writer's byte order
  ETHERNET: 1,
  RAW_OPENBSD: 12, // DLT_RAW's value on some systems, written as-is by old libpcap
  RAW: 101, // "Raw IP; the packet begins with an IPv4 or IPv6 header"
  LINUX_SLL: 113, // Linux "cooked" capture v1 (tcpdump -i any, older libpcap)
  IPV4: 228, // "Raw IPv4; the packet begins with an IPv4 header"
  LINUX_SLL2: 276, // Linux "cooked" capture v2 (tcpdump -i any, libpcap ≥ 1.10)
} as const;

export type Decapsulated =
  | { ok: true; ip: Uint8Array }
  | { ok: false; reason: 'unsupported-link' | 'not-ipv4' | 'truncated' };

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;

function be16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function ipv4At(data: Uint8Array, at: number): Decapsulated {
  if (data.length <= at) return { ok: false, reason: 'truncated' };
  if (data[at]! >>> 4 !== 4) return { ok: false, reason: 'not-ipv4' };
  return { ok: true, ip: data.subarray(at) };
}

/** The IPv4 datagram inside one frame of `linkType`. Never throws. */
export function decapsulate(linkType: number, data: Uint8Array): Decapsulated {
  switch (linkType) {
    case LinkType.RAW:
    case LinkType.RAW_OPENBSD:
    case LinkType.IPV4:
      return ipv4At(data, 0);
    case LinkType.ETHERNET: {
      // IEEE 802.3: destination (6), source (6), EtherType (2); 802.1Q/802.1ad tags insert 4 bytes each.
      let at = 12;
      for (let tags = 0; ; tags++) {
        if (data.length < at + 2) return { ok: false, reason: 'truncated' };
        const type = be16(data, at);
        if ((type === ETHERTYPE_VLAN || type === ETHERTYPE_QINQ) && tags < 4) {
          at += 4;
          continue;
        }
        return type === ETHERTYPE_IPV4 ? ipv4At(data, at + 2) : { ok: false, reason: 'not-ipv4' };
      }
    }
    case LinkType.LINUX_SLL: {
      // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html: packet type (2), ARPHRD (2), address
      // length (2), address (8), protocol type (2) — 16 bytes, big-endian.
      if (data.length < 16) return { ok: false, reason: 'truncated' };
      return be16(data, 14) === ETHERTYPE_IPV4 ? ipv4At(data, 16) : { ok: false, reason: 'not-ipv4' };
    }
    case LinkType.LINUX_SLL2: {
      // https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html: protocol type (2), reserved (2),
      // interface index (4), ARPHRD (2), packet type (1), address length (1), address (8) — 20 bytes.
      if (data.length < 20) return { ok: false, reason: 'truncated' };
      return be16(data, 0) === ETHERTYPE_IPV4 ? ipv4At(data, 20) : { ok: false, reason: 'not-ipv4' };
    }
    case LinkType.NULL: {
      // LINKTYPE_NULL: "a 4-byte field, in the host byte order of the machine that wrote the file";
      // AF_INET is 2 everywhere, so either byte order is recognised.
      if (data.length < 4) return { ok: false, reason: 'truncated' };
      const le = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
      const bigEnd = (data[0]! << 24) | (data[1]! << 16) | (data[2]! << 8) | data[3]!;
      return le === 2 || bigEnd === 2 ? ipv4At(data, 4) : { ok: false, reason: 'not-ipv4' };
    }
    default:
      return { ok: false, reason: 'unsupported-link' };
  }
}
