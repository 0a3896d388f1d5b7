// Conservative SACK-based loss recovery (RFC 6675) for connections where SACK is in use: IsLost,
// SetPipe and NextSeg over the scoreboard (sack.ts), and what an ACK does (§5). send.ts transmits
// what NextSeg chooses; peers without SACK keep NewReno (RFC 6582) in recovery.ts.
//
// Sequence variables here are one past the octet the RFC names (as SND.NXT is): `c.sndMax` is
// HighData + 1, `c.highRxt` is HighRxt + 1, `c.rescueRxt` is RescueRxt + 1, and `c.recover` is
// RecoveryPoint + 1, so "a cumulative ACK for RecoveryPoint" is SEG.ACK >= c.recover.

import type { Conn } from './conn.js';
import { add, ge, gt, lt, sub } from './seq.js';

/** RFC 6675 §2: "DupThresh: The number of duplicate acknowledgments required to trigger a fast retransmission", 3 ([RFC5681]). */
export const DUP_THRESH = 3;

/**
 * RFC 6675 §4 IsLost(SeqNum): "returns true when either DupThresh discontiguous SACKed sequences
 * have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with sequence numbers
 * greater than 'SeqNum' have been SACKed". SACKed sequences are counted per range, one per SMSS
 * (Scoreboard.sackedAbove): a deviation only for runs of short segments that arrived contiguous.
 */
export function isLost(c: Conn, seq: number): boolean {
  const smss = c.segmentSize;
  const { bytes, segments } = c.scoreboard.sackedAbove(seq, smss);
  return segments >= DUP_THRESH || bytes > (DUP_THRESH - 1) * smss;
}

/** IsLost for every unSACKed octet at once: those below the returned sequence number are lost. */
function lostEdge(c: Conn): number | undefined {
  return c.scoreboard.lostEdge(c.segmentSize, DUP_THRESH);
}

/**
 * RFC 6675 §4 SetPipe(): "for each octet 'S1' in the sequence space between HighACK and HighData
 * that has not been SACKed: (a) If IsLost (S1) returns false: Pipe is incremented by 1 octet. ...
 * (b) If S1 <= HighRxt: Pipe is incremented by 1 octet." Computed over ranges, not octets; plus a
 * rescue retransmission sent since the last ACK (§5 (C.4), which SetPipe does not see: rule (4)
 * leaves HighRxt alone).
 */
export function setPipe(c: Conn): number {
  const una = c.sndUna;
  const high = c.sndMax;
  const sb = c.scoreboard;
  const unsacked = (from: number, to: number): number => (lt(from, to) ? sub(to, from) - sb.sackedIn(from, to) : 0);
  // (a): the unSACKed octets not lost are those at or above the lost edge.
  const edge = lostEdge(c);
  const notLostFrom = edge === undefined || lt(edge, una) ? una : gt(edge, high) ? high : edge;
  let pipe = unsacked(notLostFrom, high);
  // (b): HighRxt is reset to HighACK outside recovery (§5 step (3.1)).
  const rxt = c.inRecovery ? c.highRxt : una;
  pipe += unsacked(una, gt(rxt, high) ? high : rxt);
  return pipe + c.rescueInPipe;
}

/**
 * Whether sending is governed by cwnd - pipe rather than cwnd - FlightSize: in loss recovery (RFC
 * 6675 §5 (C)) and, before it, while duplicate ACKs carry SACK information (§5 step (3), Limited
 * Transmit by pipe). Not while going back after a timeout, nor before the cumulative ACK has passed
 * the RecoveryPoint that timeout set (§5.1: "NextSeg() is inappropriate during slow start after an RTO").
 */
export function pipeGoverned(c: Conn): boolean {
  if (!c.sackOk) return false;
  if (c.inRecovery) return true;
  return c.scoreboard.size > 0 && c.sndNxt === c.sndMax && ge(c.sndUna, c.recover);
}

/** A range of sequence space NextSeg chose to retransmit, [start, end). */
export type SeqRange = [number, number];

/**
 * RFC 6675 §4 NextSeg() rule (1): "the smallest unSACKed sequence number 'S2'" with "(1.a) S2 is
 * greater than HighRxt. (1.b) S2 is less than the highest octet covered by any received SACK.
 * (1.c) IsLost (S2) returns true" — "one segment of up to SMSS octets starting with S2".
 */
export function nextLostHole(c: Conn): SeqRange | undefined {
  const edge = lostEdge(c);
  if (edge === undefined) return undefined;
  const hole = c.scoreboard.nextHole(lt(c.highRxt, c.sndUna) ? c.sndUna : c.highRxt, c.segmentSize);
  return hole && lt(hole[0], edge) ? hole : undefined;
}

/**
 * NextSeg() rule (3): no lost segment and no new data (rule 2, send.ts), "but there exists an
 * unSACKed sequence number 'S3' that meets the criteria for detecting loss given in steps (1.a) and
 * (1.b) above (specifically excluding step (1.c)), then one segment of up to SMSS octets starting
 * with S3 SHOULD be returned."
 */
export function nextUnsackedHole(c: Conn): SeqRange | undefined {
  return c.scoreboard.nextHole(lt(c.highRxt, c.sndUna) ? c.sndUna : c.highRxt, c.segmentSize);
}

/**
 * NextSeg() rule (4), the rescue retransmission: "If HighACK is greater than RescueRxt (or
 * RescueRxt is undefined), then one segment of up to SMSS octets that MUST include the highest
 * outstanding unSACKed sequence number SHOULD be returned, and RescueRxt set to RecoveryPoint.
 * HighRxt MUST NOT be updated." (The caller records RescueRxt once the segment is sent.)
 */
export function rescueRange(c: Conn): SeqRange | undefined {
  // HighACK > RescueRxt, with HighACK = SND.UNA - 1: SND.UNA > c.rescueRxt.
  if (!gt(c.sndUna, c.rescueRxt)) return undefined;
  const hole = c.scoreboard.highestUnsacked(c.sndUna, c.sndMax);
  if (!hole) return undefined;
  const [holeStart, top] = hole;
  // Up to SMSS data octets; a FIN at the top takes sequence space but no payload room.
  const span = c.segmentSize + (c.finQueued && top === add(c.finSeq, 1) ? 1 : 0);
  const from = sub(top, holeStart) > span ? add(top, -span) : holeStart;
  return [from, top];
}

/**
 * RFC 6675 §5 step (4), on the duplicate ACK that shows loss: "(4.1) RecoveryPoint = HighData ...
 * (4.2) ssthresh = cwnd = (FlightSize / 2) ... [RFC5681] requires that any segments sent as part of
 * the Limited Transmit mechanism not be counted in FlightSize ... (4.3) Retransmit the first data
 * segment presumed dropped" (send.ts, on fastRetransmitPending, which sets HighRxt and RescueRxt).
 */
function enterRecovery(c: Conn, now: number): void {
  c.inRecovery = true;
  c.recover = c.sndMax;
  const flightSize = Math.max(0, sub(c.sndMax, c.sndUna) - c.limitedTransmitBytes);
  c.limitedTransmitBytes = 0;
  c.highRxt = c.sndUna;
  c.rescueRxt = c.sndUna;
  c.fastRetransmitPending = true;
  // The algorithm sets ssthresh (NewReno: FlightSize/2; CUBIC: cwnd * β) and cwnd = ssthresh, not
  // inflated: pipe already leaves out what the peer SACKed.
  c.cc.onFastRetransmit(now, flightSize, true);
}

/**
 * RFC 6675 §5: a duplicate acknowledgment per §2 (new SACK information, or RFC 5681's duplicate
 * ACK) "regardless of its status as a cumulative acknowledgment". In recovery it only brings new
 * scoreboard information (§5 (B); the transmission of (C) happens in send.ts, by pipe).
 */
export function sackDupAck(c: Conn, now: number): void {
  if (c.inRecovery) return;
  c.dupAcks++;
  // "(1) If DupAcks >= DupThresh, go to step (4)." "(2) If DupAcks < DupThresh but IsLost (HighACK
  // + 1) returns true ... go to step (4)." HighACK + 1 is SND.UNA. §5.1: after a timeout, "a new
  // recovery phase ... MUST NOT be initiated until HighACK is greater than or equal to the new value
  // of RecoveryPoint".
  if ((c.dupAcks >= DUP_THRESH || isLost(c, c.sndUna)) && ge(c.sndUna, c.recover)) {
    enterRecovery(c, now);
    return;
  }
  // "(3) The TCP MAY transmit previously unsent data segments as per Limited Transmit ... (3.1) Set
  // HighRxt to HighACK" — send.ts sends while cwnd - pipe >= 1 SMSS (pipeGoverned).
  c.highRxt = c.sndUna;
}

/**
 * A cumulative ACK (SND.UNA advanced by `acked` data octets) on a SACK connection; `sacked`: it
 * also reported new SACKed octets (so it is a DupAck too, RFC 6675 §2).
 */
export function sackNewAck(c: Conn, now: number, ack: number, acked: number, sacked: boolean): void {
  const inFlight = sub(c.sndMax, c.sndUna);
  if (c.inRecovery) {
    if (ge(ack, c.recover)) {
      // §5 (A): "An incoming cumulative ACK for a sequence number greater than RecoveryPoint signals
      // the end of loss recovery ... Any information contained in the scoreboard for sequence
      // numbers greater than the new value of HighACK SHOULD NOT be cleared" (it is kept).
      c.inRecovery = false;
      c.dupAcks = 0;
      c.highRxt = c.sndUna;
      c.cc.onRecoveryEnd(now, inFlight);
    }
    // §5 (B): a partial ACK — the scoreboard was updated, pipe is recomputed as segments go out.
    // Deliberately no NewReno deflation (cc.onPartialAck): cwnd stays at ssthresh (§5 (4.2)).
    return;
  }
  // "If the incoming ACK is a cumulative acknowledgment, the TCP MUST reset DupAcks to zero."
  c.dupAcks = 0;
  c.limitedTransmitBytes = 0;
  c.cc.onAck(now, acked, undefined, inFlight);
  if (sacked) sackDupAck(c, now);
}

/** Bookkeeping for a segment NextSeg chose and send.ts sent: §5 (C.2) and rule (4). */
export function sentRecoverySegment(c: Conn, end: number, rescue: boolean, seqLen: number): void {
  if (rescue) {
    // Rule (4): "RescueRxt set to RecoveryPoint. HighRxt MUST NOT be updated." (C.4): pipe grows by
    // what was sent, until the next ACK recomputes it.
    c.rescueRxt = c.recover;
    c.rescueInPipe += seqLen;
  } else if (gt(end, c.highRxt)) {
    // "(C.2) If any of the data octets sent in (C.1) are below HighData, HighRxt MUST be set to the
    // highest sequence number of the retransmitted segment".
    c.highRxt = end;
  }
}
