// The sender's side of SACK (RFC 2018 §5, RFC 6675): the scoreboard, and conservative SACK-based
// loss recovery — IsLost, SetPipe, NextSeg, entering and leaving recovery, timeouts — by scripted peer.

import { describe, expect, it } from 'vitest';
import { Scoreboard } from '../../src/tcp/sack.js';
import { Tcb, type TcbOptions } from '../../src/tcp/tcb.js';
import { Cubic } from '../../src/tcp/cc/cubic.js';
import { NewReno } from '../../src/tcp/cc/newreno.js';
import { TCP_ACK, TCP_FIN, type TcpRepr } from '../../src/wire/tcp.js';
import { ENDS, fireNextTimer, ISS, MSS, PEER_SYN, RCV0, s, send, sentAll, seg, SND0 } from './helpers.js';

describe('Scoreboard', () => {
  it('merges_blocks_ignores_bogus_ones_and_finds_holes', () => {
    const sb = new Scoreboard();
    expect(sb.update([[200, 300]], 100, 1000)).toBe(true);
    expect(sb.update([[250, 300]], 100, 1000)).toBe(false); // nothing new
    expect(sb.update([[500, 600], [300, 400]], 100, 1000)).toBe(true);
    expect(sb.update([[50, 90], [1000, 1100], [700, 650]], 100, 1000)).toBe(false); // below SND.UNA, beyond SND.MAX, inverted
    expect(sb.sackedBytes).toBe(300); // [200,400) and [500,600)
    expect(sb.nextHole(100, 1000)).toEqual([100, 200]);
    expect(sb.nextHole(100, 50)).toEqual([100, 150]);
    expect(sb.nextHole(200, 1000)).toEqual([400, 500]);
    expect(sb.nextHole(500, 1000)).toBeUndefined(); // nothing SACKed above 600: not known lost
    sb.advance(450);
    expect(sb.sackedBytes).toBe(100);
    expect(sb.highest).toBe(600);
    sb.clear();
    expect(sb.size).toBe(0);
  });

  it('keeps_at_most_64_ranges_whatever_the_peer_reports', () => {
    const sb = new Scoreboard();
    for (let i = 0; i < 1000; i++) sb.update([[100 + 4 * i, 101 + 4 * i]], 100, 100_000);
    expect(sb.size).toBe(64);
  });

  it('works_across_sequence_wraparound', () => {
    const sb = new Scoreboard();
    const una = 0xffffff00;
    sb.update([[(una + 0x200) >>> 0, (una + 0x300) >>> 0]], una, (una + 0x1000) >>> 0);
    expect(sb.nextHole(una, 10_000)).toEqual([una, (una + 0x200) >>> 0]);
  });
});

describe('SACK-based recovery', () => {
  /** ESTABLISHED with SACK in use (the peer's SYN offered it), 10 full segments in flight (IW 20). */
  function withFlight(): { tcb: Tcb; t: number } {
    const tcb = new Tcb(ENDS, true, { mss: MSS, sack: true, congestionControl: (m) => new NewReno(m, 20 * m) });
    tcb.openPassive(0, ISS, seg({ ...PEER_SYN, options: { mss: 1460, sackPermitted: true } }));
    sentAll(tcb, 0);
    send(tcb, 10, { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 65535 });
    tcb.write(new Uint8Array(10 * MSS));
    const burst = sentAll(tcb, 10);
    expect(burst.map((b) => b.payload?.length)).toEqual(Array(10).fill(MSS));
    return { tcb, t: 10 };
  }

  it('resends_only_the_holes_the_peer_reports', () => {
    const { tcb, t } = withFlight();
    const una = SND0; // the first segment of the burst
    const segStart = (i: number) => (una + i * MSS) >>> 0;
    // Segments 0 and 3 are lost; the peer SACKs 1–2 and 4–9 over three duplicate ACKs.
    const sack = (blocks: Array<[number, number]>) => ({ seq: RCV0, ack: una, flags: TCP_ACK, window: 65535, options: { sack: blocks } });
    send(tcb, t + 5, sack([[segStart(1), segStart(2)]]));
    send(tcb, t + 6, sack([[segStart(1), segStart(3)]]));
    send(tcb, t + 7, sack([[segStart(4), segStart(6)], [segStart(1), segStart(3)]]));
    const r1 = sentAll(tcb, t + 7);
    expect(r1.map((r) => r.seq)).toEqual([segStart(0)]); // fast retransmit: the first hole
    send(tcb, t + 8, sack([[segStart(4), segStart(8)], [segStart(1), segStart(3)]]));
    const r2 = sentAll(tcb, t + 8);
    expect(r2.map((r) => r.seq)).toContain(segStart(3)); // the next hole, not segments 1–2
    expect(r2.map((r) => r.seq)).not.toContain(segStart(1));
    expect(tcb.info().bytesRetransmitted).toBe(2 * MSS);
  });
});

// ---------------------------------------------------------------------------------------------
// RFC 6675 by scripted peer. The fixture: SACK in use (no timestamps: segments carry MSS octets),
// NewReno with an initial window of 20 segments, `flight` segments of `size` octets sent.

interface Flight {
  tcb: Tcb;
  t: number;
  /** Start of our segment i of the burst. */
  at: (i: number) => number;
}

function sackFlight(flight: number, o: { size?: number; unsent?: number; opts?: Partial<TcbOptions> } = {}): Flight {
  const size = o.size ?? MSS;
  const tcb = new Tcb(ENDS, true, {
    mss: MSS,
    sack: true,
    noDelay: true,
    congestionControl: (m) => new NewReno(m, 20 * m),
    ...o.opts,
  });
  tcb.openPassive(0, ISS, seg({ ...PEER_SYN, options: { mss: 1460, sackPermitted: true } }));
  sentAll(tcb, 0);
  send(tcb, 10, { seq: RCV0, ack: SND0, flags: TCP_ACK, window: 65535 });
  const burst: TcpRepr[] = [];
  for (let i = 0; i < flight; i++) {
    tcb.write(new Uint8Array(size));
    burst.push(...sentAll(tcb, 10));
  }
  expect(burst.map((b) => b.payload?.length)).toEqual(Array(flight).fill(size));
  if (o.unsent) {
    tcb.write(new Uint8Array(o.unsent));
    expect(sentAll(tcb, 10)).toEqual([]); // held back by cwnd (20 segments)
  }
  return { tcb, t: 10, at: (i) => s(SND0 + i * size) };
}

/** A duplicate ACK (SEG.ACK = `ack`) carrying SACK blocks. */
function sackAck(ack: number, blocks: Array<[number, number]>) {
  return { seq: RCV0, ack, flags: TCP_ACK, window: 65535, options: { sack: blocks } };
}

const seqs = (rs: TcpRepr[]) => rs.map((r) => r.seq);

describe('RFC 6675 IsLost', () => {
  it('declares_a_segment_lost_once_three_discontiguous_sacked_segments_lie_above_it', () => {
    // Short segments: three SACKed sequences of 100 octets are far below (DupThresh - 1) * SMSS.
    const { tcb, at } = sackFlight(10, { size: 100 });
    send(tcb, 11, sackAck(at(0), [[at(1), at(2)], [at(3), at(4)]]));
    expect(tcb.isLost(at(0))).toBe(false); // two above
    send(tcb, 12, sackAck(at(0), [[at(5), at(6)], [at(3), at(4)], [at(1), at(2)]]));
    expect(tcb.isLost(at(0))).toBe(true); // three above
    expect(tcb.isLost(at(2))).toBe(false); // two above
    expect(tcb.isLost(at(6))).toBe(false); // nothing above
  });

  it('declares_a_segment_lost_once_more_than_two_smss_of_sacked_octets_lie_above_it', () => {
    const { tcb, at } = sackFlight(10);
    send(tcb, 11, sackAck(at(0), [[at(1), at(3)]]));
    expect(tcb.isLost(at(0))).toBe(false); // exactly (DupThresh - 1) * SMSS: not "more than"
    send(tcb, 12, sackAck(at(0), [[at(1), s(at(3) + 1)]]));
    expect(tcb.isLost(at(0))).toBe(true); // one octet more
  });

  it('counts_a_contiguous_run_of_short_segments_as_one_sacked_sequence', () => {
    // The scoreboard keeps octet ranges: three adjacent 100-octet segments are one range (a
    // documented deviation) — recovery then starts on the third duplicate ACK (step (1)) instead.
    const { tcb, at } = sackFlight(10, { size: 100 });
    send(tcb, 11, sackAck(at(0), [[at(1), at(4)]]));
    expect(tcb.isLost(at(0))).toBe(false);
  });
});

describe('RFC 6675 SetPipe', () => {
  it('counts_unsacked_octets_not_lost_plus_those_retransmitted', () => {
    const { tcb, at } = sackFlight(10);
    expect(tcb.recoveryInfo().pipe).toBe(10 * MSS); // nothing SACKed: everything is in flight
    send(tcb, 11, sackAck(at(0), [[at(1), at(3)]]));
    // Segments 1–2 SACKed; nothing lost (only 2 SMSS above segment 0).
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: false, pipe: 8 * MSS, dupAcks: 1 });
    send(tcb, 12, sackAck(at(0), [[at(5), at(6)], [at(1), at(3)]]));
    // IsLost(segment 0) now (3 SACKed segments above): recovery, segment 0 retransmitted. Pipe:
    // segments 3, 4, 6–9 (unSACKed, not lost: at most 1 SACKed above) + segment 0 (lost, but
    // retransmitted: below HighRxt).
    const r = sentAll(tcb, 12);
    expect(seqs(r)).toEqual([at(0)]);
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: true, highRxt: at(1), pipe: 7 * MSS });
    send(tcb, 13, sackAck(at(0), [[at(7), at(8)], [at(5), at(6)], [at(1), at(3)]]));
    // Segments 3–4 have only two SACKed sequences above (5 and 7): not lost yet.
    expect(tcb.recoveryInfo().pipe).toBe(6 * MSS); // segments 3, 4, 6, 8, 9 and 0
    send(tcb, 14, sackAck(at(0), [[at(9), at(10)], [at(7), at(8)], [at(5), at(6)]]));
    // Now they are (5, 7 and 9 above), and leave pipe until retransmitted.
    expect(tcb.recoveryInfo().pipe).toBe(3 * MSS); // segments 6 and 8, and 0
  });
});

describe('RFC 6675 §5: entering loss recovery', () => {
  it('enters_recovery_when_one_ack_reports_three_discontiguous_blocks_without_three_dupacks', () => {
    const { tcb, t, at } = sackFlight(10);
    send(tcb, t + 1, sackAck(at(0), [[at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: true, dupAcks: 1, recoveryPoint: at(10) });
    // (4.2) ssthresh = cwnd = FlightSize / 2, no inflation by 3 SMSS.
    expect(tcb.info().ssthresh).toBe(5 * MSS);
    expect(tcb.info().cwnd).toBe(5 * MSS);
    // (4.3) the segment at HighACK + 1 at once; HighRxt = RescueRxt = its end.
    expect(seqs(sentAll(tcb, t + 1))).toEqual([at(0)]);
    expect(tcb.recoveryInfo()).toMatchObject({ highRxt: at(1), rescueRxt: at(1) });
  });

  it('enters_recovery_on_the_third_duplicate_ack_even_if_isLost_says_no', () => {
    // Step (1): three duplicate ACKs, whose SACK blocks (a run of short segments) make no loss by IsLost.
    const { tcb, t, at } = sackFlight(10, { size: 100 });
    send(tcb, t + 1, sackAck(at(0), [[at(1), at(2)]]));
    send(tcb, t + 2, sackAck(at(0), [[at(1), at(3)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(false);
    expect(sentAll(tcb, t + 2)).toEqual([]);
    send(tcb, t + 3, sackAck(at(0), [[at(1), at(4)]]));
    expect(tcb.isLost(at(0))).toBe(false);
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(seqs(sentAll(tcb, t + 3))).toEqual([at(0)]);
  });

  it('does_not_count_a_duplicated_ack_whose_sack_blocks_report_nothing_new', () => {
    // RFC 6675 §2 DupAck: only new SACK information makes a duplicate (the network duplicated this one).
    const { tcb, t, at } = sackFlight(10);
    for (let i = 1; i <= 4; i++) send(tcb, t + i, sackAck(at(0), [[at(1), at(2)]]));
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: false, dupAcks: 1 });
  });

  it('still_fast_retransmits_on_three_duplicates_without_sack_blocks', () => {
    const { tcb, t, at } = sackFlight(10);
    for (let i = 1; i <= 3; i++) send(tcb, t + i, { seq: RCV0, ack: at(0), flags: TCP_ACK, window: 65535 });
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(seqs(sentAll(tcb, t + 3))).toEqual([at(0)]);
  });

  it('sends_new_data_by_pipe_on_duplicate_acks_before_recovery', () => {
    // Step (3), Limited Transmit by pipe: each SACKed segment leaves room for one new one.
    const { tcb, t, at } = sackFlight(20, { unsent: 5 * MSS });
    send(tcb, t + 1, sackAck(at(0), [[at(1), at(2)]]));
    expect(seqs(sentAll(tcb, t + 1))).toEqual([at(20)]);
    send(tcb, t + 2, sackAck(at(0), [[at(1), at(3)]]));
    expect(seqs(sentAll(tcb, t + 2))).toEqual([at(21)]);
    // Third duplicate ACK: recovery; FlightSize leaves out the two Limited Transmit segments.
    send(tcb, t + 3, sackAck(at(0), [[at(1), at(4)]]));
    expect(tcb.info().ssthresh).toBe(10 * MSS);
  });
});

describe('RFC 6675 §4 NextSeg and §5 (C)', () => {
  /** 20 segments in flight and 10 more written; segments 0 and 2 lost; the peer SACKs what arrives. */
  function twoLosses(): Flight & { ack: (t: number, upTo: number) => TcpRepr[] } {
    const f = sackFlight(20, { unsent: 10 * MSS });
    // The peer got segments 1 and 3..upTo-1: one ACK per arrival.
    const ack = (t: number, upTo: number): TcpRepr[] => {
      send(f.tcb, t, sackAck(f.at(0), [[f.at(3), f.at(upTo)], [f.at(1), f.at(2)]]));
      return sentAll(f.tcb, t);
    };
    send(f.tcb, f.t + 1, sackAck(f.at(0), [[f.at(1), f.at(2)]]));
    expect(sentAll(f.tcb, f.t + 1).length).toBe(1); // Limited Transmit: segment 20
    return { ...f, ack };
  }

  it('retransmits_lost_holes_before_sending_new_data_and_never_more_than_cwnd_minus_pipe', () => {
    const { tcb, t, at, ack } = twoLosses();
    expect(seqs(ack(t + 2, 4))).toEqual([at(21)]); // still Limited Transmit (2 SACKed: nothing lost)
    // Segment 4 SACKed: 3 SACKed segments above segment 0: recovery. FlightSize 20 (less the 2
    // Limited Transmit segments): cwnd = ssthresh = 10 segments. (4.3) segment 0 only: pipe is
    // 1 + 15 + 2 (segments 2, 5–19, 20–21) + 1 (segment 0, retransmitted) = 19 > cwnd.
    expect(seqs(ack(t + 3, 5))).toEqual([at(0)]);
    expect(tcb.info().cwnd).toBe(10 * MSS);
    expect(tcb.recoveryInfo().pipe).toBe(19 * MSS);
    // Segment 5 SACKed: segment 2 is lost now (3 above) and leaves pipe, which is 17 MSS: nothing.
    expect(ack(t + 4, 6)).toEqual([]);
    // Each SACKed segment takes one out of pipe; at pipe = 9 SMSS one segment may go, and the
    // first is the lost segment 2 (rule 1), not new data (rule 2).
    let sent: TcpRepr[] = [];
    let upTo = 6;
    while (sent.length === 0) sent = ack(t + 5 + upTo, ++upTo);
    expect(seqs(sent)).toEqual([at(2)]);
    const pipeAfter = tcb.recoveryInfo().pipe!;
    expect(pipeAfter).toBeLessThanOrEqual(tcb.info().cwnd);
    expect(tcb.info().cwnd - pipeAfter).toBeLessThan(MSS);
    // The next SACKed segment makes room for one more: new data now (rule 2), segment 22.
    expect(seqs(ack(t + 30, ++upTo))).toEqual([at(22)]);
    expect(tcb.info().bytesRetransmitted).toBe(2 * MSS);
  });

  it('sends_as_many_segments_as_cwnd_minus_pipe_allows_after_one_ack', () => {
    const { tcb, t, at, ack } = twoLosses();
    ack(t + 2, 4);
    ack(t + 3, 5);
    // One ACK SACKs everything up to segment 21: pipe = segment 0 (retransmitted) and nothing
    // else unSACKed but segment 2, which is lost: 1 SMSS. cwnd 10: nine segments, 2 first.
    send(tcb, t + 4, sackAck(at(0), [[at(3), at(22)], [at(1), at(2)]]));
    const out = sentAll(tcb, t + 4);
    expect(seqs(out)).toEqual([at(2), ...[22, 23, 24, 25, 26, 27, 28, 29].map(at)]);
    expect(tcb.recoveryInfo().pipe).toBe(10 * MSS);
  });

  it('makes_one_rescue_retransmission_of_the_tail_when_nothing_else_may_be_sent', () => {
    // Segments 0, 8 and 9 lost; nothing more to send. SACKs for 1–7 start recovery.
    const { tcb, t, at } = sackFlight(10);
    send(tcb, t + 1, sackAck(at(0), [[at(1), at(2)]]));
    send(tcb, t + 2, sackAck(at(0), [[at(1), at(3)]]));
    send(tcb, t + 3, sackAck(at(0), [[at(1), at(4)]]));
    expect(seqs(sentAll(tcb, t + 3))).toEqual([at(0)]);
    for (let i = 5; i <= 8; i++) send(tcb, t + i, sackAck(at(0), [[at(1), at(i)]]));
    // Segments 8–9 lie above every SACK: not lost (rule 1), no hole below a SACK (rule 3), and
    // RescueRxt (the end of segment 0) blocks rule 4 until HighACK passes it.
    expect(sentAll(tcb, t + 8)).toEqual([]);
    // The retransmitted segment 0 arrives: a partial ACK up to segment 8. HighACK > RescueRxt and
    // cwnd - pipe (5 - 2 SMSS) allows: one segment with the highest unSACKed octet (segment 9).
    send(tcb, t + 20, { seq: RCV0, ack: at(8), flags: TCP_ACK, window: 65535 });
    expect(seqs(sentAll(tcb, t + 20))).toEqual([at(9)]);
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: true, rescueRxt: at(10), highRxt: at(1) });
    // Only one per recovery.
    send(tcb, t + 21, { seq: RCV0, ack: at(8), flags: TCP_ACK, window: 65535, options: {} });
    expect(sentAll(tcb, t + 21)).toEqual([]);
  });

  it('rescues_the_fin_with_the_last_data', () => {
    const { tcb, t, at } = sackFlight(5);
    tcb.close(t);
    expect(sentAll(tcb, t).map((r) => r.flags & TCP_FIN)).toEqual([TCP_FIN]);
    // Segments 0 and 4 and the FIN (sent alone) are lost; the peer SACKs 1–3.
    send(tcb, t + 1, sackAck(at(0), [[at(1), at(4)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(seqs(sentAll(tcb, t + 1))).toEqual([at(0)]);
    send(tcb, t + 2, { seq: RCV0, ack: at(4), flags: TCP_ACK, window: 65535 });
    const rescue = sentAll(tcb, t + 2);
    // The highest unSACKed sequence number is the FIN's: one segment ending with it.
    expect(rescue.map((r) => [r.seq, r.payload?.length ?? 0, r.flags & TCP_FIN])).toEqual([[at(4), MSS, TCP_FIN]]);
  });
});

describe('RFC 6675 §5 (A): leaving recovery', () => {
  it('stays_in_recovery_on_partial_acks_and_leaves_when_the_ack_covers_recovery_point', () => {
    const { tcb, t, at } = sackFlight(10);
    send(tcb, t + 1, sackAck(at(0), [[at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    sentAll(tcb, t + 1);
    const cwnd = tcb.info().cwnd;
    // Partial ACK (segment 0 arrived): recovery goes on, cwnd untouched (no NewReno deflation).
    send(tcb, t + 2, sackAck(at(2), [[at(6), at(7)], [at(4), at(5)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(tcb.info().cwnd).toBe(cwnd);
    sentAll(tcb, t + 2);
    send(tcb, t + 3, sackAck(at(9), []));
    expect(tcb.recoveryInfo().inRecovery).toBe(true); // RecoveryPoint is segment 9's last octet
    send(tcb, t + 4, sackAck(at(10), []));
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: false, dupAcks: 0 });
    // As NewReno's exit (RFC 6582 §3.2 step 6 (1)): min(ssthresh, max(FlightSize, SMSS) + SMSS).
    expect(tcb.info().cwnd).toBe(2 * MSS);
  });

  it('keeps_sack_information_above_the_ack_that_ends_recovery', () => {
    const { tcb, t, at } = sackFlight(10);
    send(tcb, t + 1, sackAck(at(0), [[at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    sentAll(tcb, t + 1);
    tcb.write(new Uint8Array(4 * MSS));
    // A partial ACK up to segment 7: pipe 3 SMSS (7–9), cwnd 5: two new segments (rule 2).
    send(tcb, t + 2, sackAck(at(7), []));
    expect(seqs(sentAll(tcb, t + 2))).toEqual([at(10), at(11)]);
    // The ACK reaching RecoveryPoint also SACKs new data beyond it: that is kept.
    send(tcb, t + 3, sackAck(at(10), [[at(11), at(12)]]));
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: false, sackedRanges: 1 });
  });
});

describe('RFC 6675 §5.1: retransmission timeouts', () => {
  function inRecovery(): Flight {
    const f = sackFlight(10);
    send(f.tcb, f.t + 1, sackAck(f.at(0), [[f.at(6), f.at(7)], [f.at(4), f.at(5)], [f.at(2), f.at(3)]]));
    expect(seqs(sentAll(f.tcb, f.t + 1))).toEqual([f.at(0)]);
    expect(f.tcb.recoveryInfo().inRecovery).toBe(true);
    return f;
  }

  it('ends_recovery_sets_recovery_point_to_high_data_and_keeps_the_scoreboard_on_a_first_timeout', () => {
    const { tcb, at } = inRecovery();
    const t = fireNextTimer(tcb);
    expect(tcb.recoveryInfo()).toMatchObject({ inRecovery: false, recoveryPoint: at(10), highRxt: at(0), sackedRanges: 3 });
    expect(tcb.info().cwnd).toBe(MSS);
    expect(seqs(sentAll(tcb, t))).toEqual([at(0)]);
    // Slow start fills in what the receiver reports missing: segment 1, then 3 (not 2, SACKed).
    send(tcb, t + 10, sackAck(at(1), [[at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    expect(seqs(sentAll(tcb, t + 10))).toEqual([at(1)]);
    send(tcb, t + 20, sackAck(at(3), [[at(6), at(7)], [at(4), at(5)]]));
    expect(seqs(sentAll(tcb, t + 20))).toEqual([at(3), at(5)]);
    expect(tcb.info().bytesRetransmitted).toBe(5 * MSS); // 0 twice, 1, 3, 5
  });

  it('starts_no_new_recovery_before_the_ack_reaches_the_recovery_point_set_by_the_timeout', () => {
    const { tcb, at } = inRecovery();
    const t = fireNextTimer(tcb);
    sentAll(tcb, t);
    send(tcb, t + 10, sackAck(at(1), [[at(8), at(9)], [at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    sentAll(tcb, t + 10);
    for (let i = 0; i < 3; i++) send(tcb, t + 11 + i, sackAck(at(1), [[at(8), at(10)], [at(6), at(7)], [at(4), at(5)]]));
    expect(tcb.isLost(at(1))).toBe(true);
    expect(tcb.recoveryInfo().inRecovery).toBe(false);
  });

  it('discards_the_scoreboard_on_a_second_consecutive_timeout', () => {
    const { tcb } = inRecovery();
    fireNextTimer(tcb);
    expect(tcb.recoveryInfo().sackedRanges).toBe(3);
    const t = fireNextTimer(tcb);
    expect(tcb.recoveryInfo().sackedRanges).toBe(0);
    sentAll(tcb, t);
  });

  it('discards_the_scoreboard_when_a_cumulative_ack_shows_the_peer_reneged', () => {
    const { tcb, t, at } = inRecovery();
    // Segments 0 and 1 arrived, but the ACK stops at segment 2, which the peer had SACKed.
    send(tcb, t + 5, sackAck(at(2), []));
    expect(tcb.recoveryInfo().sackedRanges).toBe(0);
  });
});

describe('RFC 6675 with CUBIC', () => {
  it('sets_cwnd_to_ssthresh_on_entry_without_inflation', () => {
    const { tcb, t, at } = sackFlight(10, { opts: { congestionControl: (m) => new Cubic(m, 20 * m) } });
    send(tcb, t + 1, sackAck(at(0), [[at(6), at(7)], [at(4), at(5)], [at(2), at(3)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(tcb.info().ssthresh).toBeLessThan(20 * MSS);
    expect(tcb.info().cwnd).toBe(tcb.info().ssthresh);
    expect(seqs(sentAll(tcb, t + 1))[0]).toBe(at(0));
  });
});

describe('without SACK: NewReno as before', () => {
  it('inflates_cwnd_by_three_segments_and_ignores_sack_blocks', () => {
    const { tcb, t, at } = sackFlight(10, { opts: { sack: false } });
    for (let i = 1; i <= 2; i++) send(tcb, t + i, sackAck(at(0), [[at(1), at(1 + 2 * i)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(false);
    expect(tcb.recoveryInfo().pipe).toBeUndefined();
    send(tcb, t + 3, sackAck(at(0), [[at(1), at(7)]]));
    expect(tcb.recoveryInfo().inRecovery).toBe(true);
    expect(tcb.info().cwnd).toBe(5 * MSS + 3 * MSS);
    expect(seqs(sentAll(tcb, t + 3))).toEqual([at(0)]);
  });
});
