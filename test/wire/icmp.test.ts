// ICMP codec: echo round trips from the Linux ping literal, error messages that quote a
// datagram, error paths, truncation at every offset, and fuzzing.

import { describe, expect, it } from 'vitest';
import { internetChecksum } from '../../src/wire/checksum.js';
import {
  emitIcmp,
  ICMP_DEST_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_QUOTE_LIMIT,
  ICMP_TIME_EXCEEDED,
  icmpLen,
  icmpTypeOf,
  isIcmpError,
  parseIcmp,
  UNREACH_FRAG_NEEDED,
  UNREACH_HOST,
  UNREACH_NET,
  UNREACH_PORT,
  UNREACH_PROTOCOL,
  type IcmpMessage,
} from '../../src/wire/icmp.js';
import { mulberry32 } from '../helpers/prng.js';
import { hex, l4, PING_REPLY, PING_REQUEST, UDP_HELLO } from './fixtures.js';

function parsed(bytes: Uint8Array, verifyChecksum = true): IcmpMessage {
  const r = parseIcmp(bytes, { verifyChecksum });
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return r.value;
}

function errorOf(bytes: Uint8Array, verifyChecksum = true): string | undefined {
  const r = parseIcmp(bytes, { verifyChecksum });
  return r.ok ? undefined : r.error;
}

function emitted(msg: IcmpMessage): Uint8Array {
  const out = new Uint8Array(icmpLen(msg));
  expect(emitIcmp(msg, out)).toBe(out.length);
  return out;
}

describe('parseIcmp / emitIcmp', () => {
  it('parses_a_linux_ping_echo_request', () => {
    const m = parsed(l4(PING_REQUEST));
    expect(m.type).toBe('echo-request');
    if (m.type !== 'echo-request') return;
    expect(m.id).toBe(7);
    expect(m.seq).toBe(1);
    expect(m.data.length).toBe(56);
    expect(Array.from(m.data.subarray(16, 20))).toEqual([0x10, 0x11, 0x12, 0x13]);
    expect(m.data.buffer).toBe(PING_REQUEST.buffer); // a view, not a copy
  });

  it('round_trips_the_echo_request_and_reply_literals', () => {
    for (const packet of [PING_REQUEST, PING_REPLY]) {
      const m = parsed(l4(packet));
      expect(emitted(m)).toEqual(l4(packet));
    }
    expect(parsed(l4(PING_REPLY)).type).toBe('echo-reply');
  });

  it('builds_an_echo_reply_in_place_over_the_request_without_copying_the_data', () => {
    const rx = Uint8Array.from(PING_REQUEST);
    const req = parsed(rx.subarray(20));
    if (req.type !== 'echo-request') throw new Error('not an echo request');
    const n = emitIcmp({ type: 'echo-reply', id: req.id, seq: req.seq, data: req.data }, rx, 20);
    expect(n).toBe(64);
    expect(rx.subarray(20)).toEqual(l4(PING_REPLY));
  });

  it('round_trips_a_port_unreachable_that_quotes_the_offending_datagram', () => {
    const msg: IcmpMessage = { type: 'dest-unreachable', code: UNREACH_PORT, nextHopMtu: 0, quoted: UDP_HELLO };
    const out = emitted(msg);
    expect(Array.from(out.subarray(0, 8))).toEqual([3, 3, out[2], out[3], 0, 0, 0, 0]);
    const back = parsed(out);
    expect(back).toEqual(msg);
    expect(emitted(back)).toEqual(out);
  });

  it('carries_the_next_hop_mtu_in_frag_needed', () => {
    // RFC 1191 §4: type 3 code 4, unused(16) then Next-Hop MTU(16).
    const quoted = UDP_HELLO.subarray(0, 28);
    const out = emitted({ type: 'dest-unreachable', code: UNREACH_FRAG_NEEDED, nextHopMtu: 1280, quoted });
    expect(Array.from(out.subarray(4, 8))).toEqual([0, 0, 0x05, 0x00]);
    const m = parsed(out);
    expect(m).toMatchObject({ type: 'dest-unreachable', code: 4, nextHopMtu: 1280 });
  });

  it('round_trips_time_exceeded', () => {
    const msg: IcmpMessage = { type: 'time-exceeded', code: 0, quoted: UDP_HELLO.subarray(0, 28) };
    const out = emitted(msg);
    expect(out[0]).toBe(ICMP_TIME_EXCEEDED);
    expect(parsed(out)).toEqual(msg);
  });

  it('keeps_other_types_generic_with_their_rest_of_header', () => {
    // Timestamp request (type 13): id 0x1234, seq 5, three 32-bit timestamps.
    const b = hex('0d 00 00 00 12 34 00 05 00 00 00 01 00 00 00 00 00 00 00 00');
    const c = emitted({ type: 'other', icmpType: 13, code: 0, rest: b.subarray(4, 8), data: b.subarray(8) });
    const m = parsed(c);
    expect(m.type).toBe('other');
    if (m.type !== 'other') return;
    expect(m.icmpType).toBe(13);
    expect(Array.from(m.rest)).toEqual([0x12, 0x34, 0x00, 0x05]);
    expect(m.data.length).toBe(12);
    expect(emitted(m)).toEqual(c);
    expect(icmpTypeOf(m)).toBe(13);
  });

  it('rejects_fewer_than_8_bytes_as_truncated', () => {
    for (let n = 0; n < 8; n++) expect(errorOf(l4(PING_REQUEST).subarray(0, n))).toBe('truncated');
  });

  it('rejects_a_bad_checksum_unless_told_not_to_verify', () => {
    const b = Uint8Array.from(l4(PING_REQUEST));
    b[60] ^= 0x40; // a data byte
    expect(errorOf(b)).toBe('bad-checksum');
    expect(errorOf(b, false)).toBeUndefined();
  });

  it('handles_every_prefix_of_the_ping_without_throwing', () => {
    const icmp = l4(PING_REQUEST);
    for (let n = 0; n <= icmp.length; n++) {
      const prefix = icmp.subarray(0, n);
      const e = errorOf(prefix);
      if (n < 8) expect(e).toBe('truncated');
      else if (n < icmp.length) expect(e === 'bad-checksum' || e === undefined).toBe(true);
      else expect(e).toBeUndefined();
      if (n >= 8) {
        const m = parsed(prefix, false);
        expect(m.type === 'echo-request' && m.data.length === n - 8).toBe(true);
      }
    }
  });

  it('reports_its_length_and_throws_range_error_on_caller_mistakes', () => {
    const echo: IcmpMessage = { type: 'echo-request', id: 1, seq: 2, data: new Uint8Array(10) };
    expect(icmpLen(echo)).toBe(18);
    expect(() => emitIcmp(echo, new Uint8Array(17))).toThrow(RangeError);
    expect(() => emitIcmp(echo, new Uint8Array(18), 1)).toThrow(RangeError);
    expect(() =>
      emitIcmp({ type: 'other', icmpType: 13, code: 0, rest: new Uint8Array(3), data: new Uint8Array(0) }, new Uint8Array(8)),
    ).toThrow(RangeError);
  });

  it('writes_at_an_offset', () => {
    const out = new Uint8Array(70).fill(0xaa);
    const m = parsed(l4(PING_REQUEST));
    emitIcmp(m, out, 3);
    expect(out.subarray(3, 67)).toEqual(l4(PING_REQUEST));
    expect(out[2]).toBe(0xaa);
    expect(out[67]).toBe(0xaa);
  });
});

describe('ICMP constants and rules', () => {
  it('classifies_error_types_per_rfc1122_3_2_2', () => {
    for (const t of [3, 4, 5, 11, 12]) expect(isIcmpError(t)).toBe(true);
    for (const t of [0, 8, 13, 14, 17, 18, 255]) expect(isIcmpError(t)).toBe(false);
  });

  it('limits_quotes_so_the_error_datagram_fits_576_bytes', () => {
    expect(ICMP_QUOTE_LIMIT).toBe(548);
    expect(20 + 8 + ICMP_QUOTE_LIMIT).toBe(576);
  });

  it('numbers_types_and_codes_as_rfc792', () => {
    expect([ICMP_ECHO_REPLY, ICMP_DEST_UNREACHABLE, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED]).toEqual([0, 3, 8, 11]);
    expect([UNREACH_NET, UNREACH_HOST, UNREACH_PROTOCOL, UNREACH_PORT, UNREACH_FRAG_NEEDED]).toEqual([0, 1, 2, 3, 4]);
  });
});

describe('parseIcmp fuzzing', () => {
  const seeds = [
    l4(PING_REQUEST),
    l4(PING_REPLY),
    emitted({ type: 'dest-unreachable', code: 3, nextHopMtu: 0, quoted: UDP_HELLO }),
    emitted({ type: 'time-exceeded', code: 1, quoted: UDP_HELLO }),
  ];

  function violation(bytes: Uint8Array, verifyChecksum: boolean): string | undefined {
    const r = parseIcmp(bytes, { verifyChecksum });
    if (!r.ok) return undefined;
    if (icmpLen(r.value) !== bytes.length) return `icmpLen ${icmpLen(r.value)} != ${bytes.length}`;
    if (r.value.type === 'other' && r.value.rest.length !== 4) return 'rest length';
    return undefined;
  }

  it('never_throws_on_20000_mutated_messages_and_re_emits_them_once_their_checksum_is_repaired', () => {
    const rng = mulberry32(792);
    const out = new Uint8Array(2048);
    let reEmitted = 0;
    for (let i = 0; i < 20_000; i++) {
      const m = rng.mutate(seeds[rng.int(seeds.length)]!);
      for (const verify of [true, false]) {
        const v = violation(m, verify);
        if (v !== undefined) expect.fail(`${v} for ${Array.from(m).join(',')}`);
      }
      // With its checksum repaired, whatever parses re-emits to the same bytes.
      if (m.length >= 8) {
        m[2] = 0;
        m[3] = 0;
        const c = internetChecksum(m);
        m[2] = c >>> 8;
        m[3] = c & 0xff;
        const r = parseIcmp(m);
        if (!r.ok) expect.fail(`rejected a repaired message: ${r.error}`);
        if (reEmittable(m)) {
          const n = emitIcmp(r.value, out);
          if (toKey(out.subarray(0, n)) !== toKey(m)) expect.fail(`re-emit differs for ${toKey(m)}`);
          reEmitted++;
        }
      }
    }
    expect(reEmitted).toBeGreaterThan(5000);
  });

  it('never_throws_on_20000_random_byte_strings', () => {
    const rng = mulberry32(7920);
    for (let i = 0; i < 20_000; i++) {
      const b = rng.bytes(rng.int(40));
      expect(violation(b, false)).toBeUndefined();
      violation(b, true);
    }
  });
});

/** The typed message drops the echo code and the unused words; they must be zero for an exact re-emit. */
function reEmittable(m: Uint8Array): boolean {
  const t = m[0];
  if (t === 0 || t === 8) return m[1] === 0;
  if (t === 3) return m[4] === 0 && m[5] === 0;
  if (t === 11) return (m[4]! | m[5]! | m[6]! | m[7]!) === 0;
  return true;
}

function toKey(b: Uint8Array): string {
  return Array.from(b).join(',');
}
