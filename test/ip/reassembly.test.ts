// IPv4 reassembly and fragmentation in the host layer (RFC 791 §3.2, RFC 1122 §3.3.2), on a virtual clock.

import { describe, expect, it } from 'vitest';
import { Ipv4Host } from '../../src/ip/host.js';
import { fragmentPacket } from '../../src/ip/fragment.js';
import { emitIcmp, icmpLen, parseIcmp, type IcmpMessage } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP, parseIpv4 } from '../../src/wire/ipv4.js';
import { mulberry32 } from '../helpers/prng.js';

const KERNEL = 0xc6120001;
const US = 0xc6120002;

function echoRequest(dataLen: number, id = 0x4242): Uint8Array {
  const data = new Uint8Array(dataLen).map((_, i) => (i * 7) & 0xff);
  const msg: IcmpMessage = { type: 'echo-request', id: 5, seq: 1, data };
  const pkt = new Uint8Array(20 + icmpLen(msg));
  emitIpv4Header({ src: KERNEL, dst: US, protocol: IPPROTO_ICMP, payloadLength: icmpLen(msg), id, dontFragment: false }, pkt, 0);
  emitIcmp(msg, pkt, 20);
  return pkt;
}

function drain(host: Ipv4Host): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let p = host.pollTransmit(); p; p = host.pollTransmit()) out.push(p);
  return out;
}

/** Reassembles what tunstack sent, as the kernel would, and returns the ICMP message. */
function reassembleReply(frags: Uint8Array[]): IcmpMessage {
  const parts = frags.map((f) => {
    const p = parseIpv4(f);
    if (!p.ok) throw new Error(p.error);
    return p.value;
  });
  const total = Math.max(...parts.map((p) => p.fragmentOffset + p.payload.length));
  const buf = new Uint8Array(total);
  for (const p of parts) buf.set(p.payload, p.fragmentOffset);
  const m = parseIcmp(buf);
  if (!m.ok) throw new Error(`reply does not parse: ${m.error}`);
  return m.value;
}

describe('reassembly (RFC 1122 §3.3.2: a host MUST reassemble)', () => {
  it('reassembles_a_3000_byte_echo_request_and_replies_in_fragments_within_the_mtu', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const frags = fragmentPacket(echoRequest(3000), 1500);
    expect(frags).toHaveLength(3);
    for (const f of frags) host.handlePacket(0, f);
    const out = drain(host);
    expect(out.length).toBe(3);
    for (const f of out) expect(f.length).toBeLessThanOrEqual(1500);
    const reply = reassembleReply(out);
    expect(reply.type).toBe('echo-reply');
    if (reply.type === 'echo-reply') expect(reply.data).toEqual(new Uint8Array(3000).map((_, i) => (i * 7) & 0xff));
    expect(host.counters.reassembled).toBe(1);
    expect(host.counters.fragmentsSent).toBe(3);
  });

  it('reassembles_fragments_in_any_order_with_duplicates', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const frags = fragmentPacket(echoRequest(4000), 576);
    const rng = mulberry32(3);
    const shuffled = [...frags, frags[1]!, frags[0]!].sort(() => rng.next() - 0.5);
    for (const f of shuffled) host.handlePacket(0, f);
    expect(host.counters.reassembled).toBe(1);
    expect(host.counters.echoRepliesSent).toBe(1);
  });

  it('discards_a_datagram_with_overlapping_fragments', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const a = fragmentPacket(echoRequest(3000), 1500);
    const b = fragmentPacket(echoRequest(3000), 1004); // same id, different cut points: overlaps
    host.handlePacket(0, a[0]!);
    host.handlePacket(0, b[1]!);
    host.handlePacket(0, a[1]!);
    host.handlePacket(0, a[2]!);
    expect(host.counters.reassembled).toBe(0);
    expect(host.counters.dropped['ip-fragment-overlap']).toBe(1);
    expect(drain(host)).toHaveLength(0);
  });

  it('rejects_a_non_final_fragment_whose_length_is_not_a_multiple_of_8', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const pkt = new Uint8Array(20 + 13);
    emitIpv4Header({ src: KERNEL, dst: US, protocol: 17, payloadLength: 13, moreFragments: true, dontFragment: false }, pkt, 0);
    host.handlePacket(0, pkt);
    expect(host.counters.dropped['ip-fragment-bad-length']).toBe(1);
  });

  it('expires_an_incomplete_datagram_after_30_s_with_time_exceeded', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    const frags = fragmentPacket(echoRequest(3000), 1500);
    host.handlePacket(1000, frags[0]!);
    host.handlePacket(1000, frags[2]!);
    expect(host.pollTimeout()).toBe(31_000);
    host.handleTimeout(30_999);
    expect(drain(host)).toHaveLength(0);
    host.handleTimeout(31_000);
    const out = drain(host);
    expect(out).toHaveLength(1);
    const ip = parseIpv4(out[0]!);
    const m = ip.ok ? parseIcmp(ip.value.payload) : undefined;
    expect(m?.ok && m.value.type).toBe('time-exceeded');
    if (m?.ok && m.value.type === 'time-exceeded') {
      expect(m.value.code).toBe(1);
      expect(m.value.quoted).toEqual(frags[0]!.subarray(0, 28)); // header + 8 bytes of fragment zero
    }
    expect(host.pollTimeout()).toBeUndefined();
    expect(host.counters.reassemblyTimeouts).toBe(1);
  });

  it('holds_at_most_64_datagrams_evicting_the_oldest', () => {
    const host = new Ipv4Host({ address: US, mtu: 1500 });
    for (let id = 0; id < 100; id++) host.handlePacket(0, fragmentPacket(echoRequest(3000, id), 1500)[0]!);
    expect(host.counters.reassemblyEvictions).toBe(36);
    // The newest datagram can still complete.
    for (const f of fragmentPacket(echoRequest(3000, 99), 1500).slice(1)) host.handlePacket(0, f);
    expect(host.counters.reassembled).toBe(1);
  });
});
