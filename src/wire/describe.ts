// One tcpdump-like line per IPv4 packet, for traces and test failure messages.
// Never throws: malformed input is described as malformed.

import { formatIpv4Addr } from './addr.js';
import { parseIcmp, UNREACH_FRAG_NEEDED, type IcmpMessage } from './icmp.js';
import { IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP, parseIpv4, type Ipv4Header } from './ipv4.js';
import { describeFlags, parseTcp, TCP_ACK, TCP_URG, type TcpOptions } from './tcp.js';
import { parseUdp } from './udp.js';

/**
 * e.g. `198.18.0.1.40312 > 198.18.0.2.9: TCP [SYN] seq=123 win=64240 <mss 1460,sackOK,TS 1/0,wscale 7> len=0`,
 * `198.18.0.1 > 198.18.0.2: ICMP echo request id=7 seq=1 len=56`, `malformed IPv4 (bad-checksum) 20 bytes`.
 */
export function describeIpv4Packet(bytes: Uint8Array): string {
  try {
    return describe(bytes);
  } catch {
    // Unreachable by design (the parsers never throw); a trace line must never take the stack down.
    return `undescribable IPv4 packet ${bytes.length} bytes`;
  }
}

function describe(bytes: Uint8Array): string {
  const ip = parseIpv4(bytes);
  if (!ip.ok) return `malformed IPv4 (${ip.error}) ${bytes.length} bytes`;
  const h = ip.value;
  const src = formatIpv4Addr(h.src);
  const dst = formatIpv4Addr(h.dst);
  if (h.moreFragments || h.fragmentOffset > 0) {
    // Only the reassembled datagram has a checkable transport header.
    return `${src} > ${dst}: ${protoName(h.protocol)} fragment id=${h.id} off=${h.fragmentOffset}${
      h.moreFragments ? '+' : ''
    } len=${h.payload.length}`;
  }
  switch (h.protocol) {
    case IPPROTO_ICMP: {
      const m = parseIcmp(h.payload);
      if (!m.ok) return `${src} > ${dst}: ICMP malformed (${m.error}) len=${h.payload.length}`;
      return `${src} > ${dst}: ICMP ${describeIcmp(m.value)}`;
    }
    case IPPROTO_TCP:
      return describeTcp(h, src, dst);
    case IPPROTO_UDP: {
      const u = parseUdp(h.payload, h.src, h.dst);
      if (!u.ok) return `${src} > ${dst}: UDP malformed (${u.error}) len=${h.payload.length}`;
      const d = u.value;
      return `${src}.${d.srcPort} > ${dst}.${d.dstPort}: UDP len=${d.payload.length}`;
    }
    default:
      return `${src} > ${dst}: ip-proto ${h.protocol} len=${h.payload.length}`;
  }
}

function describeTcp(h: Ipv4Header, src: string, dst: string): string {
  const t = parseTcp(h.payload, h.src, h.dst);
  if (!t.ok) return `${src} > ${dst}: TCP malformed (${t.error}) len=${h.payload.length}`;
  const s = t.value;
  let line = `${src}.${s.srcPort} > ${dst}.${s.dstPort}: TCP [${describeFlags(s.flags)}] seq=${s.seq}`;
  if ((s.flags & TCP_ACK) !== 0) line += ` ack=${s.ack}`;
  line += ` win=${s.window}`;
  if ((s.flags & TCP_URG) !== 0) line += ` urg=${s.urgentPointer}`;
  const opts = describeTcpOptions(s.options);
  if (opts !== '') line += ` <${opts}>`;
  return `${line} len=${s.payload.length}`;
}

/** Options in the order Linux sends them, in tcpdump's words. */
export function describeTcpOptions(o: TcpOptions): string {
  const parts: string[] = [];
  if (o.mss !== undefined) parts.push(`mss ${o.mss}`);
  if (o.sackPermitted === true) parts.push('sackOK');
  if (o.timestamps !== undefined) parts.push(`TS ${o.timestamps.tsVal}/${o.timestamps.tsEcr}`);
  if (o.windowScale !== undefined) parts.push(`wscale ${o.windowScale}`);
  if (o.sack !== undefined) parts.push(`sack ${o.sack.map(([l, r]) => `${l}:${r}`).join(' ')}`);
  return parts.join(',');
}

const UNREACH_NAMES = ['net', 'host', 'protocol', 'port', 'frag-needed'];

function describeIcmp(m: IcmpMessage): string {
  switch (m.type) {
    case 'echo-request':
      return `echo request id=${m.id} seq=${m.seq} len=${m.data.length}`;
    case 'echo-reply':
      return `echo reply id=${m.id} seq=${m.seq} len=${m.data.length}`;
    case 'dest-unreachable': {
      const what = UNREACH_NAMES[m.code] ?? `code ${m.code}`;
      const mtu = m.code === UNREACH_FRAG_NEEDED ? ` mtu=${m.nextHopMtu}` : '';
      return `dest unreachable (${what})${mtu}${describeQuoted(m.quoted)} len=${m.quoted.length}`;
    }
    case 'time-exceeded':
      return `time exceeded (${m.code === 0 ? 'ttl' : m.code === 1 ? 'reassembly' : `code ${m.code}`})${describeQuoted(
        m.quoted,
      )} len=${m.quoted.length}`;
    case 'other':
      return `type=${m.icmpType} code=${m.code} len=${m.data.length}`;
  }
}

/**
 * " for TCP 198.18.0.2.9 > 198.18.0.1.40312": the offending datagram an ICMP error quotes
 * (RFC 792: its "Internet Header + 64 bits of Data Datagram"), read leniently since it is cut short.
 */
function describeQuoted(q: Uint8Array): string {
  if (q.length < 20 || q[0] >>> 4 !== 4) return '';
  const hl = (q[0] & 0x0f) * 4;
  if (hl < 20) return '';
  const proto = q[9];
  const src = formatIpv4Addr(((q[12] << 24) | (q[13] << 16) | (q[14] << 8) | q[15]) >>> 0);
  const dst = formatIpv4Addr(((q[16] << 24) | (q[17] << 16) | (q[18] << 8) | q[19]) >>> 0);
  if ((proto === IPPROTO_TCP || proto === IPPROTO_UDP) && q.length >= hl + 4) {
    const sp = (q[hl] << 8) | q[hl + 1];
    const dp = (q[hl + 2] << 8) | q[hl + 3];
    return ` for ${protoName(proto)} ${src}.${sp} > ${dst}.${dp}`;
  }
  return ` for ${protoName(proto)} ${src} > ${dst}`;
}

function protoName(p: number): string {
  return p === IPPROTO_TCP ? 'TCP' : p === IPPROTO_UDP ? 'UDP' : p === IPPROTO_ICMP ? 'ICMP' : `ip-proto ${p}`;
}
