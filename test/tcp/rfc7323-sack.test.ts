// RFC 7323 (window scaling, timestamps, PAWS) and RFC 2018 (SACK-permitted, SACK blocks from the
// receiver), each used only when both SYNs carry it.

import { describe, expect, it } from 'vitest';
import { Tcb } from '../../src/tcp/tcb.js';
import type { TcbOptions } from '../../src/tcp/tcb-types.js';
import { TCP_ACK, TCP_PSH, TCP_SYN } from '../../src/wire/tcp.js';
import { ENDS, expectNothing, expectSent, IRS, ISS, MSS, PEER_SYN, RCV0, readAll, send, sentAll, seg, SND0 } from './helpers.js';

const MODERN: Partial<TcbOptions> = { windowScaling: true, timestamps: true, sack: true, recvBufferSize: 1 << 20 };

function passive(opts: Partial<TcbOptions>, syn = PEER_SYN): Tcb {
  const tcb = new Tcb(ENDS, true, { mss: MSS, ...opts });
  tcb.openPassive(0, ISS, seg(syn));
  return tcb;
}

/** ESTABLISHED with everything negotiated: the peer's TSval starts at 1 and advances 1 per ms. */
function modernEstablished(): { tcb: Tcb; t: number } {
  const tcb = passive(MODERN);
  sentAll(tcb, 0);
  send(tcb, 10, { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 512, options: { timestamps: { tsVal: 11, tsEcr: ISS } } });
  expect(tcb.state).toBe('ESTABLISHED');
  return { tcb, t: 10 };
}

describe('negotiation in the SYN exchange', () => {
  it('answers_a_linux_syn_with_window_scale_sack_permitted_and_timestamps', () => {
    const tcb = passive(MODERN);
    // 1 MiB needs shift 5 (2^20 >> 5 = 32768 ≤ 65535); TSecr echoes the SYN's TSval (RFC 7323 §3.2).
    const synAck = expectSent(tcb, 0, { seq: ISS, ack: IRS + 1, flags: TCP_SYN | TCP_ACK, window: 65535 });
    expect(synAck.options).toEqual({ mss: MSS, windowScale: 5, sackPermitted: true, timestamps: { tsVal: ISS, tsEcr: 1 } });
  });

  it('declines_by_omission_when_the_syn_offers_nothing', () => {
    const tcb = passive(MODERN, { ...PEER_SYN, options: { mss: 1460 } });
    expectSent(tcb, 0, { flags: TCP_SYN | TCP_ACK, options: { mss: MSS } });
  });

  it('declines_by_omission_when_disabled_even_if_offered', () => {
    const tcb = passive({});
    expectSent(tcb, 0, { flags: TCP_SYN | TCP_ACK, options: { mss: MSS } });
  });

  it('offers_everything_in_an_active_syn_and_scales_nothing_if_the_syn_ack_declines', () => {
    const tcb = new Tcb(ENDS, false, { mss: MSS, ...MODERN });
    tcb.openActive(0, ISS);
    const syn = expectSent(tcb, 0, { seq: ISS, flags: TCP_SYN });
    expect(syn.options).toEqual({ mss: MSS, windowScale: 5, sackPermitted: true, timestamps: { tsVal: ISS, tsEcr: 0 } });
    send(tcb, 5, { seq: IRS, ack: SND0, flags: TCP_SYN | TCP_ACK, window: 1000, options: { mss: 1460 } });
    expect(tcb.state).toBe('ESTABLISHED');
    // Neither side scales now (RFC 7323 §1.3): the window field is the plain 16-bit value.
    const ack = expectSent(tcb, 5, { flags: TCP_ACK, window: 65535 });
    expect(ack.options).toBeUndefined();
    send(tcb, 6, { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 1000 });
    expect(tcb.info().sndWnd).toBe(1000);
  });
});

describe('window scaling (RFC 7323 §2)', () => {
  it('shifts_the_peer_window_by_its_scale_except_in_the_syn', () => {
    const { tcb } = modernEstablished();
    // The SYN's 64240 was taken as is; the handshake ACK's 512 is 512 << 7.
    expect(tcb.info().sndWnd).toBe(512 * 128);
  });

  it('advertises_the_whole_buffer_shifted_by_our_scale', () => {
    const { tcb, t } = modernEstablished();
    send(tcb, t + 1, { seq: RCV0, ack: SND0, flags: TCP_ACK | TCP_PSH, payload: 100, options: { timestamps: { tsVal: 12, tsEcr: ISS } } });
    tcb.handleTimeout(t + 100); // delayed ACK
    const r = expectSent(tcb, t + 100, { ack: RCV0 + 100, flags: TCP_ACK });
    // 1 MiB - 100 unread bytes, in units of 32: floor(1048476 / 32).
    expect(r.window).toBe(Math.floor(((1 << 20) - 100) / 32));
    expect(readAll(tcb).length).toBe(100);
  });
});

describe('timestamps (RFC 7323 §3–§5)', () => {
  it('puts_tsval_and_the_echo_of_ts_recent_on_every_segment_and_sizes_segments_for_them', () => {
    const { tcb, t } = modernEstablished();
    tcb.write(new Uint8Array(3000));
    const first = expectSent(tcb, t + 2, { seq: SND0, flags: TCP_ACK });
    // RFC 6691 §3: the 12 option bytes come out of the segment's data (1460 - 12).
    expect(first.payload?.length).toBe(MSS - 12);
    expect(first.options?.timestamps).toEqual({ tsVal: ISS + t + 2, tsEcr: 11 });
  });

  it('measures_rtt_from_the_echoed_timestamp', () => {
    const { tcb, t } = modernEstablished();
    tcb.write(new Uint8Array(100));
    sentAll(tcb, t + 100);
    // The ACK echoes the TSval of our segment, sent at t+100; it arrives at t+130: RTT 30 ms.
    send(tcb, t + 130, { seq: RCV0, ack: SND0 + 100, flags: TCP_ACK, window: 512, options: { timestamps: { tsVal: 140, tsEcr: ISS + t + 100 } } });
    const srtt = tcb.info().srttMs!;
    expect(srtt).toBeGreaterThan(10);
    expect(srtt).toBeLessThan(31);
  });

  it('rejects_an_old_duplicate_by_paws_and_acknowledges_it', () => {
    const { tcb, t } = modernEstablished();
    send(tcb, t + 1, { seq: RCV0, ack: SND0, flags: TCP_ACK, payload: 10, options: { timestamps: { tsVal: 50, tsEcr: ISS } } });
    expect(readAll(tcb).length).toBe(10);
    sentAll(tcb, t + 50);
    // Same sequence space, older TSval: an old duplicate (RFC 7323 §5.3 R1).
    send(tcb, t + 60, { seq: RCV0 + 10, ack: SND0, flags: TCP_ACK, payload: 10, options: { timestamps: { tsVal: 40, tsEcr: ISS } } });
    expect(tcb.readableBytes).toBe(0);
    expectSent(tcb, t + 60, { ack: RCV0 + 10, flags: TCP_ACK });
    // The current one goes through.
    send(tcb, t + 61, { seq: RCV0 + 10, ack: SND0, flags: TCP_ACK, payload: 10, options: { timestamps: { tsVal: 51, tsEcr: ISS } } });
    expect(tcb.readableBytes).toBe(10);
  });

  it('drops_a_non_rst_segment_without_timestamps_once_they_are_in_use', () => {
    const { tcb, t } = modernEstablished();
    send(tcb, t + 1, { seq: RCV0, ack: SND0, flags: TCP_ACK, payload: 10 });
    expect(tcb.readableBytes).toBe(0);
    expectNothing(tcb, t + 1);
  });
});

describe('SACK blocks from the receiver (RFC 2018 §4)', () => {
  it('reports_held_blocks_most_recent_first', () => {
    const { tcb, t } = modernEstablished();
    const ts = (v: number) => ({ timestamps: { tsVal: v, tsEcr: ISS } });
    send(tcb, t + 1, { seq: RCV0 + 1000, ack: SND0, flags: TCP_ACK, payload: 100, options: ts(12) });
    let ack = expectSent(tcb, t + 1, { ack: RCV0, flags: TCP_ACK });
    expect(ack.options?.sack).toEqual([[RCV0 + 1000, RCV0 + 1100]]);
    send(tcb, t + 2, { seq: RCV0 + 3000, ack: SND0, flags: TCP_ACK, payload: 100, options: ts(13) });
    ack = expectSent(tcb, t + 2, { ack: RCV0, flags: TCP_ACK });
    expect(ack.options?.sack).toEqual([
      [RCV0 + 3000, RCV0 + 3100],
      [RCV0 + 1000, RCV0 + 1100],
    ]);
    // The hole before the first block fills: one block left.
    send(tcb, t + 3, { seq: RCV0, ack: SND0, flags: TCP_ACK, payload: 1000, options: ts(14) });
    ack = expectSent(tcb, t + 3, { ack: RCV0 + 1100, flags: TCP_ACK });
    expect(ack.options?.sack).toEqual([[RCV0 + 3000, RCV0 + 3100]]);
  });
});
