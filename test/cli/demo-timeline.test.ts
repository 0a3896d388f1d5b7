// The demo's timeline and the kernel-state inference, on hand-built packets with a stepping clock:
// seq/ack relative to each ISN, scaled windows, each tunstack state change under the segment that
// caused it, the kernel's inferred states, TLS lines, payload hints, and colour only when asked.

import { describe, expect, it } from 'vitest';
import { InferredEnd } from '../../src/cli/demo-kernel-states.js';
import { payloadHint, shortenTlsDetail, Timeline } from '../../src/cli/timeline.js';
import type { StackEvent } from '../../src/cli/running-stack.js';
import { parseIpv4Addr } from '../../src/wire/addr.js';
import { emitIpv4Header, IPPROTO_TCP } from '../../src/wire/ipv4.js';
import { emitTcp, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, tcpLen, type TcpRepr } from '../../src/wire/tcp.js';

const K = parseIpv4Addr('198.18.0.1')!;
const T = parseIpv4Addr('198.18.0.2')!;
const ISN_K = 4_294_967_000; // wraps past 2^32 during the connection
const ISN_T = 1000;

function seg(fromKernel: boolean, repr: Partial<TcpRepr>): Uint8Array {
  const r: TcpRepr = {
    srcPort: fromKernel ? 40312 : 443,
    dstPort: fromKernel ? 443 : 40312,
    seq: 0,
    ack: 0,
    flags: TCP_ACK,
    window: 100,
    ...repr,
  };
  const len = tcpLen(r);
  const pkt = new Uint8Array(20 + len);
  emitIpv4Header({ src: fromKernel ? K : T, dst: fromKernel ? T : K, protocol: IPPROTO_TCP, payloadLength: len }, pkt, 0);
  emitTcp(r, fromKernel ? K : T, fromKernel ? T : K, pkt, 20);
  return pkt;
}

const state = (from: string, to: string): StackEvent => ({ kind: 'tcp-state', remoteAddr: '198.18.0.1', remotePort: 40312, localPort: 443, passive: true, from, to });
const tls = (direction: 'in' | 'out', message: string, detail = ''): StackEvent => ({
  kind: 'tls',
  remoteAddr: '198.18.0.1',
  remotePort: 40312,
  localPort: 443,
  passive: true,
  direction,
  message,
  detail,
});

function run(color = false): string[] {
  const lines: string[] = [];
  let t = 0;
  const tl = new Timeline({ write: (l) => lines.push(l), color, now: () => (t += 1) });
  const add = (v: number, n: number) => (v + n) >>> 0;
  // SYN in: tunstack goes LISTEN → SYN-RECEIVED while processing it.
  const syn = [seg(true, { flags: TCP_SYN, seq: ISN_K, window: 64240, options: { mss: 1460, windowScale: 7, sackPermitted: true } })];
  tl.packets(syn, 'in');
  tl.event(state('LISTEN', 'SYN-RECEIVED'));
  tl.packets(syn, 'in-done');
  tl.packets([seg(false, { flags: TCP_SYN | TCP_ACK, seq: ISN_T, ack: add(ISN_K, 1), window: 65535, options: { mss: 1460, windowScale: 5 } })], 'out');
  // ACK and ClientHello in one batch: ESTABLISHED belongs under the ACK, the TLS line after the batch.
  const batch = [
    seg(true, { seq: add(ISN_K, 1), ack: ISN_T + 1, window: 502 }),
    seg(true, { flags: TCP_ACK | TCP_PSH, seq: add(ISN_K, 1), ack: ISN_T + 1, window: 502, payload: Uint8Array.from([22, 3, 1, 0, 16, 1, 0]) }),
  ];
  tl.packets(batch, 'in');
  tl.event(tls('in', 'ClientHello', 'suites=[TLS_AES_128_GCM_SHA256,0xc02f] groups=[x25519]'));
  tl.event(state('SYN-RECEIVED', 'ESTABLISHED'));
  tl.packets(batch, 'in-done');
  tl.event(tls('out', 'ServerHello', 'TLS_AES_128_GCM_SHA256 key_share=x25519'));
  tl.event(tls('out', 'Negotiated', 'TLS_AES_128_GCM_SHA256 x25519'));
  // The kernel closes; tunstack answers with RST.
  tl.packets([seg(true, { flags: TCP_FIN | TCP_ACK, seq: add(ISN_K, 8), ack: ISN_T + 1 })], 'in');
  tl.packets([], 'in-done');
  tl.packets([seg(false, { flags: TCP_RST, seq: ISN_T + 1 })], 'out');
  return lines;
}

describe('Timeline', () => {
  it('draws_segments_with_relative_seq_ack_and_scaled_windows', () => {
    const lines = run();
    expect(lines.find((l) => l.includes('── SYN seq=0 win=64240 len=0 <mss 1460,sack,ws 7>'))).toMatch(/SYN-SENT\*/);
    expect(lines.find((l) => l.includes('SYN,ACK seq=0 ack=1 win=65535 len=0 <mss 1460,ws 5> ──'))).toMatch(/^\s*[\d.]+s\s+ESTABLISHED\*\s+◀─/);
    // 502 << 7 (the kernel's shift), once both SYNs offered window scaling (RFC 7323 §2.2).
    expect(lines.some((l) => /── ACK seq=1 ack=1 win=64256 len=0 ─+▶/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('PSH,ACK seq=1 ack=1 win=64256 len=7 [TLS handshake …]'))).toBe(true);
    expect(lines.find((l) => l.includes('FIN,ACK seq=8 ack=1'))).toMatch(/FIN-WAIT-1\*/);
    expect(lines.find((l) => l.includes('RST seq=1'))).toMatch(/CLOSED\*/);
  });

  it('puts_each_tunstack_state_change_under_the_segment_that_caused_it_and_tls_after_the_batch', () => {
    const lines = run();
    const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
    const order = [
      at(/── SYN seq=0/),
      at(/LISTEN → SYN-RECEIVED$/),
      at(/SYN,ACK seq=0 ack=1/),
      at(/── ACK seq=1 ack=1/),
      at(/SYN-RECEIVED → ESTABLISHED$/),
      at(/PSH,ACK seq=1/),
      at(/TLS ──▶ ClientHello suites=\[TLS_AES_128_GCM_SHA256,\+1 TLS 1\.2\] groups=\[x25519\]/),
      at(/TLS ◀── ServerHello TLS_AES_128_GCM_SHA256 key_share=x25519/),
      at(/TLS negotiated: TLS_AES_128_GCM_SHA256 x25519/),
      at(/FIN,ACK seq=8/),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // One heading for the connection, before its first line.
    expect(lines.filter((l) => l.includes('┌ connection 198.18.0.1:40312 ⇄ 198.18.0.2:443'))).toHaveLength(1);
  });

  it('colours_only_when_asked', () => {
    expect(run(false).join('\n')).not.toContain('\x1b[');
    expect(run(true).join('\n')).toContain('\x1b[36m');
  });

  it('names_what_a_payload_carries', () => {
    expect(payloadHint(new TextEncoder().encode('GET /echo HTTP/1.1\r\nHost: x\r\n\r\n'))).toBe('"GET /echo HTTP/1.1"');
    expect(payloadHint(new TextEncoder().encode('HTTP/1.1 404 Not Found\r\n'))).toBe('"HTTP/1.1 404 Not Found"');
    expect(payloadHint(Uint8Array.from([23, 3, 3, 0, 1, 0, 23, 3, 3, 0, 1, 0, 21, 3, 3, 0, 0]))).toBe('[TLS application_data×2, alert]');
    expect(payloadHint(Uint8Array.from([1, 2, 3]))).toBeUndefined();
    expect(shortenTlsDetail('suites=[0xc02c,0xc02b] shares=[x25519]')).toBe('suites=[+2 TLS 1.2] shares=[x25519]');
  });
});

describe('InferredEnd (the kernel side)', () => {
  it('walks_an_active_close_through_time_wait', () => {
    const k = new InferredEnd('CLOSED');
    expect(k.sent({ flags: TCP_SYN, seq: 100, ack: 0, len: 0 })).toEqual(['SYN-SENT']);
    expect(k.received({ flags: TCP_SYN | TCP_ACK, seq: 500, ack: 101, len: 0 })).toEqual(['ESTABLISHED']);
    expect(k.sent({ flags: TCP_FIN | TCP_ACK, seq: 101, ack: 501, len: 10 })).toEqual(['FIN-WAIT-1']);
    expect(k.received({ flags: TCP_ACK, seq: 501, ack: 111, len: 0 })).toEqual([]); // not yet the FIN's ACK
    expect(k.received({ flags: TCP_FIN | TCP_ACK, seq: 501, ack: 112, len: 0 })).toEqual(['FIN-WAIT-2', 'TIME-WAIT']);
  });

  it('walks_a_passive_open_and_close_and_a_refused_connect', () => {
    const k = new InferredEnd('LISTEN');
    expect(k.received({ flags: TCP_SYN, seq: 7, ack: 0, len: 0 })).toEqual([]);
    expect(k.sent({ flags: TCP_SYN | TCP_ACK, seq: 0xffffffff, ack: 8, len: 0 })).toEqual(['SYN-RECEIVED']);
    expect(k.received({ flags: TCP_ACK, seq: 8, ack: 0, len: 0 })).toEqual(['ESTABLISHED']); // ISN+1 wraps to 0
    expect(k.received({ flags: TCP_FIN | TCP_ACK, seq: 8, ack: 0, len: 0 })).toEqual(['CLOSE-WAIT']);
    expect(k.sent({ flags: TCP_FIN | TCP_ACK, seq: 0, ack: 9, len: 0 })).toEqual(['LAST-ACK']);
    expect(k.received({ flags: TCP_ACK, seq: 9, ack: 1, len: 0 })).toEqual(['CLOSED']);
    const c = new InferredEnd('CLOSED');
    c.sent({ flags: TCP_SYN, seq: 1, ack: 0, len: 0 });
    expect(c.received({ flags: TCP_RST | TCP_ACK, seq: 0, ack: 2, len: 0 })).toEqual(['CLOSED']);
  });
});
