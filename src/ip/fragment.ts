// Fragmentation of datagrams tunstack originates that exceed the link MTU (RFC 791 §3.2).
// Only echo replies to reassembled requests get here: TCP sizes its segments to the MSS.

import { IPV4_HEADER_LEN, emitIpv4Header, parseIpv4 } from '../wire/ipv4.js';

/** Splits an option-less IPv4 packet into fragments of at most `mtu` bytes. */
export function fragmentPacket(pkt: Uint8Array, mtu: number): Uint8Array[] {
  const parsed = parseIpv4(pkt, { verifyChecksum: false });
  if (!parsed.ok) throw new Error(`fragmentPacket: not an IPv4 packet (${parsed.error})`);
  const h = parsed.value;
  // RFC 791 §3.2: each fragment but the last carries a multiple of 8 octets of data.
  const chunk = Math.floor((mtu - IPV4_HEADER_LEN) / 8) * 8;
  if (chunk <= 0) throw new RangeError(`fragmentPacket: mtu ${mtu} too small`);
  const out: Uint8Array[] = [];
  for (let off = 0; off < h.payload.length; off += chunk) {
    const len = Math.min(chunk, h.payload.length - off);
    const frag = new Uint8Array(IPV4_HEADER_LEN + len);
    emitIpv4Header(
      {
        src: h.src,
        dst: h.dst,
        protocol: h.protocol,
        payloadLength: len,
        ttl: h.ttl,
        id: h.id,
        dscpEcn: h.dscpEcn,
        dontFragment: false,
        moreFragments: off + len < h.payload.length,
        fragmentOffset: off,
      },
      frag,
      0,
    );
    frag.set(h.payload.subarray(off, off + len), IPV4_HEADER_LEN);
    out.push(frag);
  }
  return out;
}
