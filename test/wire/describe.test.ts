// describeIpv4Packet: one tcpdump-like line for every kind of packet, and never a throw
// on garbage.

import { describe, expect, it } from 'vitest';
import { describeIpv4Packet } from '../../src/wire/describe.js';
import { emitIcmp, icmpLen, type IcmpMessage } from '../../src/wire/icmp.js';
import { emitIpv4Header, IPPROTO_ICMP } from '../../src/wire/ipv4.js';
import { mulberry32 } from '../helpers/prng.js';
import {
  ALL_PACKETS,
  editIpv4,
  KERNEL,
  KERNEL_DATA,
  KERNEL_SACK,
  KERNEL_SYN,
  PING_REPLY,
  PING_REQUEST,
  SYN_ACK,
  TUNSTACK,
  UDP_HELLO,
} from './fixtures.js';

function icmpPacket(msg: IcmpMessage): Uint8Array {
  const out = new Uint8Array(20 + icmpLen(msg));
  emitIpv4Header({ src: TUNSTACK, dst: KERNEL, protocol: IPPROTO_ICMP, payloadLength: icmpLen(msg) }, out);
  emitIcmp(msg, out, 20);
  return out;
}

describe('describeIpv4Packet', () => {
  it('describes_icmp_echo', () => {
    expect(describeIpv4Packet(PING_REQUEST)).toBe('198.18.0.1 > 198.18.0.2: ICMP echo request id=7 seq=1 len=56');
    expect(describeIpv4Packet(PING_REPLY)).toBe('198.18.0.2 > 198.18.0.1: ICMP echo reply id=7 seq=1 len=56');
  });

  it('describes_a_syn_with_its_options', () => {
    expect(describeIpv4Packet(KERNEL_SYN)).toBe(
      '198.18.0.1.40312 > 198.18.0.2.9: TCP [SYN] seq=456036181 win=64240 <mss 1460,sackOK,TS 2587640190/0,wscale 7> len=0',
    );
  });

  it('shows_ack_only_when_the_ack_flag_is_set', () => {
    expect(describeIpv4Packet(SYN_ACK)).toBe(
      '198.18.0.2.9 > 198.18.0.1.40312: TCP [SYN,ACK] seq=12345678 ack=456036182 win=65535 ' +
        '<mss 1460,sackOK,TS 1000/2587640190,wscale 7> len=0',
    );
    expect(describeIpv4Packet(KERNEL_DATA)).toBe(
      '198.18.0.1.40312 > 198.18.0.2.9: TCP [PSH,ACK] seq=456036182 ack=12345679 win=502 <TS 2587640192/1000> len=27',
    );
  });

  it('lists_sack_blocks', () => {
    expect(describeIpv4Packet(KERNEL_SACK)).toContain('<TS 2587640208/1024,sack 12348495:12349951 12351407:12352863> len=0');
  });

  it('describes_udp', () => {
    expect(describeIpv4Packet(UDP_HELLO)).toBe('198.18.0.1.40000 > 198.18.0.2.7: UDP len=5');
  });

  it('describes_an_icmp_port_unreachable_with_the_quoted_flow', () => {
    const line = describeIpv4Packet(icmpPacket({ type: 'dest-unreachable', code: 3, nextHopMtu: 0, quoted: UDP_HELLO }));
    expect(line).toBe('198.18.0.2 > 198.18.0.1: ICMP dest unreachable (port) for UDP 198.18.0.1.40000 > 198.18.0.2.7 len=33');
    const quoted = KERNEL_SYN.subarray(0, 28);
    const frag = describeIpv4Packet(icmpPacket({ type: 'dest-unreachable', code: 4, nextHopMtu: 1280, quoted }));
    expect(frag).toContain('ICMP dest unreachable (frag-needed) mtu=1280 for TCP 198.18.0.1.40312 > 198.18.0.2.9');
  });

  it('describes_time_exceeded_and_other_icmp_types', () => {
    expect(describeIpv4Packet(icmpPacket({ type: 'time-exceeded', code: 0, quoted: PING_REQUEST.subarray(0, 28) }))).toBe(
      '198.18.0.2 > 198.18.0.1: ICMP time exceeded (ttl) for ICMP 198.18.0.1 > 198.18.0.2 len=28',
    );
    expect(
      describeIpv4Packet(icmpPacket({ type: 'other', icmpType: 13, code: 0, rest: new Uint8Array(4), data: new Uint8Array(12) })),
    ).toBe('198.18.0.2 > 198.18.0.1: ICMP type=13 code=0 len=12');
  });

  it('describes_fragments_without_reading_the_transport_header', () => {
    const first = editIpv4(UDP_HELLO, (b) => ((b[6] = 0x20), (b[7] = 0)));
    expect(describeIpv4Packet(first)).toBe('198.18.0.1 > 198.18.0.2: UDP fragment id=19754 off=0+ len=13');
    const last = editIpv4(UDP_HELLO, (b) => ((b[6] = 0), (b[7] = 185)));
    expect(describeIpv4Packet(last)).toBe('198.18.0.1 > 198.18.0.2: UDP fragment id=19754 off=1480 len=13');
  });

  it('describes_unknown_protocols_by_number', () => {
    const gre = editIpv4(UDP_HELLO, (b) => (b[9] = 47));
    expect(describeIpv4Packet(gre)).toBe('198.18.0.1 > 198.18.0.2: ip-proto 47 len=13');
  });

  it('names_the_error_of_a_malformed_ip_header', () => {
    const bad = Uint8Array.from(PING_REQUEST);
    bad[11] ^= 1;
    expect(describeIpv4Packet(bad)).toBe('malformed IPv4 (bad-checksum) 84 bytes');
    expect(describeIpv4Packet(new Uint8Array(0))).toBe('malformed IPv4 (truncated) 0 bytes');
    expect(describeIpv4Packet(PING_REQUEST.subarray(0, 20))).toBe('malformed IPv4 (truncated) 20 bytes');
    expect(describeIpv4Packet(editIpv4(PING_REQUEST, (b) => (b[0] = 0x65)))).toBe('malformed IPv4 (bad-version) 84 bytes');
  });

  it('names_the_error_of_a_malformed_transport_segment', () => {
    const tcp = Uint8Array.from(KERNEL_DATA);
    tcp[60] ^= 1; // payload byte: TCP checksum now wrong, IP header still fine
    expect(describeIpv4Packet(tcp)).toBe('198.18.0.1 > 198.18.0.2: TCP malformed (bad-checksum) len=59');
    const udp = Uint8Array.from(UDP_HELLO);
    udp[30] ^= 1;
    expect(describeIpv4Packet(udp)).toBe('198.18.0.1 > 198.18.0.2: UDP malformed (bad-checksum) len=13');
    const icmp = Uint8Array.from(PING_REQUEST);
    icmp[80] ^= 1;
    expect(describeIpv4Packet(icmp)).toBe('198.18.0.1 > 198.18.0.2: ICMP malformed (bad-checksum) len=64');
  });

  it('never_throws_on_mutated_or_random_input', () => {
    const rng = mulberry32(2024);
    for (let i = 0; i < 10_000; i++) {
      const seed = ALL_PACKETS[rng.int(ALL_PACKETS.length)]![1];
      const inputs = [rng.mutate(seed), editIpv4(rng.mutate(seed), () => {}), rng.bytes(rng.int(64))];
      for (const b of inputs) {
        const line = describeIpv4Packet(b);
        if (line.length === 0 || line.startsWith('undescribable')) {
          expect.fail(`bad line "${line}" for ${Array.from(b).join(',')}`);
        }
      }
    }
  });
});
