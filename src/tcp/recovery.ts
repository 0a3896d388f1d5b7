// Loss recovery for one connection: what an advancing or duplicate ACK does (RFC 5681, NewReno's
// recover point of RFC 6582, Karn's rule), the retransmission timeout (RFC 6298), and giving up.
// With SACK in use, the ACK side of recovery is RFC 6675's (sack-recovery.ts).

import { TCP_ACK, TCP_RST } from '../wire/tcp.js';
import type { Conn } from './conn.js';
import { sackDupAck, sackNewAck } from './sack-recovery.js';
import { segment } from './send.js';
import { add, ge, lt, sub } from './seq.js';
import type { TcpErrorCode } from './tcb-types.js';

/** SND.UNA advances to `ack`: drop acknowledged data, account for SYN and FIN. Returns the data octets acknowledged. */
export function ackedUpTo(c: Conn, now: number, ack: number, tsEcr?: number): number {
  const dataEnd = add(c.dataStart, c.sendBuf.length);
  // Data octets acknowledged: those between dataStart and min(ack, dataEnd).
  const upTo = lt(ack, dataEnd) ? ack : dataEnd;
  const n = sub(upTo, c.dataStart);
  if (n > 0) {
    c.sendBuf.consume(n);
    c.dataStart = upTo;
    c.emit({ type: 'writable' });
  }
  c.sndUna = ack;
  if (lt(c.sndNxt, c.sndUna)) c.sndNxt = c.sndUna;
  if (tsEcr !== undefined && tsEcr !== 0) {
    // RFC 7323 §4.1/§4.2: RTT = now - TSecr, for every ACK of new data (Karn's problem does not
    // arise: the echo names the transmission that was acknowledged).
    const r = (c.tsNow(now) - tsEcr) | 0;
    if (r >= 0) c.rtt.sample(r);
    c.rttSeq = undefined;
  } else if (c.rttSeq !== undefined && ge(ack, c.rttSeq)) {
    // Karn (RFC 6298 §3): only an ACK covering a segment timed on its first transmission is a sample.
    c.rtt.sample(Math.max(0, now - c.rttStart));
    c.rttSeq = undefined;
  }
  c.retries = 0;
  // Progress: the user timeout counts again from now for what is still outstanding.
  c.unackedSince = c.sndUna === c.sndMax ? undefined : now;
  // RFC 6298 §5.2/5.3: all data acknowledged → stop the timer; else restart it. The backoff stays
  // until a new RTT sample (RFC 6298 §5 and Karn's algorithm: "the backed-off RTO" is kept for the
  // next segment; bug fix: it was reset here whenever everything was acknowledged).
  c.timers.rto = c.sndUna === c.sndMax ? undefined : c.rtoDeadline(now);
  return n > 0 ? n : 0;
}

/**
 * Congestion control for an ACK that advanced SND.UNA by `acked` data octets (in or out of
 * recovery); `sacked`: it also SACKed new octets.
 */
export function onNewAck(c: Conn, now: number, ack: number, acked: number, sacked: boolean): void {
  if (c.sackOk) return sackNewAck(c, now, ack, acked, sacked);
  // Without SACK: NewReno (RFC 6582).
  const inFlight = sub(c.sndMax, c.sndUna);
  if (c.inRecovery) {
    if (ge(ack, c.recover)) {
      // RFC 6582 §3.2 step 3 (full acknowledgment): leave fast recovery.
      c.inRecovery = false;
      c.dupAcks = 0;
      c.cc.onRecoveryEnd(now, inFlight);
    } else {
      // RFC 6582 §3.2 step 5 (partial acknowledgment): retransmit the first unacknowledged
      // segment, deflate the window; the timer was restarted in ackedUpTo.
      c.highRxt = c.sndUna; // the new first segment is due
      c.fastRetransmitPending = true;
      c.cc.onPartialAck(now, acked);
    }
    return;
  }
  c.dupAcks = 0;
  c.cc.onAck(now, acked, undefined, inFlight);
}

/** RFC 5681 §2 (or, with SACK, RFC 6675 §2): a duplicate ACK arrived. */
export function onDupAck(c: Conn, now: number): void {
  if (c.sackOk) return sackDupAck(c, now);
  if (c.inRecovery) {
    c.cc.onDupAckInRecovery(now);
    return;
  }
  c.dupAcks++;
  // RFC 5681 §3.2 / RFC 6582 §3.2 step 2: on the third duplicate ACK, if the cumulative ACK covers
  // more than `recover` (so this is not a loss from before an earlier recovery), fast retransmit.
  // `recover` holds SND.MAX, one past RFC 6582's "highest sequence number transmitted", so "covers
  // more than recover" is SND.UNA >= recover (bug fix: `>` refused a fast retransmit for a loss
  // right after a recovery that ended with an ACK of exactly `recover`).
  if (c.dupAcks === 3 && ge(c.sndUna, c.recover)) {
    c.inRecovery = true;
    c.recover = c.sndMax;
    c.highRxt = c.sndUna;
    c.fastRetransmitPending = true;
    c.cc.onFastRetransmit(now, sub(c.sndMax, c.sndUna));
  }
}

/** The retransmission timer expired (RFC 6298 §5.4–5.7; also for SYN and SYN-ACK). */
export function onRetransmitTimeout(c: Conn, now: number): void {
  c.timers.rto = undefined;
  if (c.sndUna === c.sndMax && !(c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED')) return;
  c.retries++;
  const handshaking = c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED';
  if (handshaking) c.synLost = true;
  const limit = c.state === 'SYN-SENT' ? c.opts.synRetries : c.state === 'SYN-RECEIVED' ? c.opts.synAckRetries : c.opts.maxRetransmits;
  // RFC 9293 §3.8.5 / RFC 5482: measured from when the outstanding data was sent (or last made
  // progress) — bug fix: it was measured from the first retransmission, one RTO late or more.
  const userTimedOut =
    c.opts.userTimeoutMs !== undefined &&
    c.unackedSince !== undefined &&
    now - c.unackedSince >= c.opts.userTimeoutMs;
  if (c.retries > limit || userTimedOut) {
    if (c.state === 'SYN-RECEIVED' && c.passive) {
      c.terminate(undefined); // an embryonic connection that never completed: just forget it
    } else {
      fail(c, 'ETIMEDOUT', 'connection timed out');
    }
    return;
  }
  // RFC 6298 §5.4–5.6: retransmit the earliest unacknowledged segment, back off, restart the timer.
  c.rtt.backoff();
  c.rttSeq = undefined; // Karn: no sample from anything sent before the timeout
  if (!handshaking) {
    // RFC 5681 §3.1 and RFC 6582 §4 (after a timeout: recover = highest sent; leave recovery).
    // RFC 6675 §5.1 the same with SACK: "If an RTO occurs during loss recovery ..., RecoveryPoint
    // MUST be set to HighData. Further, the new value of RecoveryPoint MUST be preserved and the
    // loss recovery algorithm outlined in this document MUST be terminated" (c.recover is both).
    c.cc.onRto(now, sub(c.sndMax, c.sndUna));
    c.recover = c.sndMax;
    c.inRecovery = false;
    c.dupAcks = 0;
    c.limitedTransmitBytes = 0;
    c.rescueInPipe = 0;
    // The scoreboard across a timeout. RFC 6675 §5.1: "[RFC2018] suggests that a TCP sender SHOULD
    // expunge the SACK information gathered from a receiver upon a retransmission timeout (RTO)
    // 'since the timeout might indicate that the data receiver has reneged.'" and notes that with
    // robust tests for reneging an implementation can keep and use it (its Errata 1610 reference).
    // Deliberate choice (as Linux): keep it on the first timeout, so the go-back "fill[s] in" only
    // what the receiver reports missing (§5.1), with two guards against a reneging receiver: a
    // cumulative ACK that stops at or inside a SACKed range clears it (processAck, Scoreboard.
    // reneged), and so does a second consecutive timeout (the peer evidently does not hold what it
    // reported, or cannot tell us). Update() goes on recording SACK blocks after the timeout (§5.1).
    if (c.retries > 1) c.scoreboard.clear();
    // HighRxt back to HighACK; RescueRxt too (a new recovery may rescue again).
    c.highRxt = c.sndUna;
    c.rescueRxt = c.sndUna;
  }
  // Go back: everything from SND.UNA is sent again as the window allows.
  c.sndNxt = c.sndUna;
  c.timers.rto = c.rtoDeadline(now);
  // A window that closed with data in flight (the peer "shrank" it, or dropped what was beyond
  // it): nothing may be resent, so the expiry sends a zero-window probe instead, which the peer
  // must answer (RFC 9293 §3.8.6.1). Bug fix: nothing at all was sent, no answer could come, and
  // the connection timed out after maxRetransmits although the peer was alive.
  if (c.sndWnd === 0 && !handshaking) c.probePending = 'persist';
}

/** Give up on the connection: RST to the peer (once it knows us), the error to the user, CLOSED. */
export function fail(c: Conn, code: TcpErrorCode, message: string): void {
  if (c.state !== 'SYN-SENT') c.rstPending = segment(c, c.sndMax, TCP_RST | TCP_ACK, undefined);
  c.terminate({ code, message });
}
