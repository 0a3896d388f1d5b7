// The receiving side of a connection: SEGMENT ARRIVES (RFC 9293 §3.10.7.3–4: acceptability, RST
// and SYN checks per RFC 5961, ACK processing, text and FIN, ACK generation) and the receive buffer.

import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type TcpSegment } from '../wire/tcp.js';
import type { Conn } from './conn.js';
import { ackedUpTo, onDupAck, onNewAck } from './recovery.js';
import { ByteRing } from './ring.js';
import { armPersistIfNeeded, DEFAULT_PEER_MSS, segment, windowToAdvertise } from './send.js';
import { add, gt, inWindow, le, lt, sub } from './seq.js';
import { canReceive } from './state.js';

/** A held out-of-order block: `offset` octets beyond RCV.NXT. */
interface Block {
  offset: number;
  data: Uint8Array;
}

/**
 * The receive side's buffers: in-order data waiting for the application (a ring), and
 * out-of-order segments held for reassembly (RFC 9293 §3.10.7.4, seventh: "segments with
 * higher beginning sequence numbers ... may be held for later processing").
 */
export class ReceiveBuffer {
  private readonly ring: ByteRing;
  /** Out-of-order blocks, sorted by offset, non-overlapping. */
  private ooo: Block[] = [];
  private oooBytes = 0;

  constructor(readonly capacity: number) {
    this.ring = new ByteRing(capacity);
  }

  /** In-order bytes waiting to be read. */
  get length(): number {
    return this.ring.length;
  }

  /** Bytes held out of order. */
  get outOfOrderBytes(): number {
    return this.oooBytes;
  }

  /** How many separate out-of-order blocks are held. */
  get blockCount(): number {
    return this.ooo.length;
  }

  get hasOutOfOrder(): boolean {
    return this.ooo.length > 0;
  }

  /** Free space for in-order data: what the receive window may offer. */
  get free(): number {
    return this.ring.free;
  }

  /**
   * Takes segment text that starts `offset` octets after RCV.NXT (offset >= 0; the caller trimmed
   * it to the window). Returns how far RCV.NXT advances (0 when the text is held out of order).
   */
  insert(offset: number, data: Uint8Array): number {
    if (data.length === 0) return 0;
    if (offset > 0) {
      this.hold(offset, data);
      return 0;
    }
    let advanced = this.push(data);
    if (advanced < data.length) this.holdFront(data.subarray(advanced), advanced);
    // Pull in held blocks that are now contiguous.
    while (this.ooo.length > 0) {
      const first = this.ooo[0]!;
      const rel = first.offset - advanced; // relative to the new RCV.NXT
      if (rel > 0) break;
      this.ooo.shift();
      this.oooBytes -= first.data.length;
      const rest = first.data.subarray(Math.min(first.data.length, -rel));
      const n = this.push(rest);
      advanced += n;
      if (n < rest.length) {
        this.holdFront(rest.subarray(n), advanced);
        break;
      }
    }
    for (const b of this.ooo) b.offset -= advanced;
    return advanced;
  }

  /** Reads up to `max` in-order bytes (a copy), or undefined when empty. */
  read(max = Infinity): Uint8Array | undefined {
    if (this.ring.length === 0) return undefined;
    return this.ring.take(max);
  }

  /** Gives the storage back when nothing is buffered (at TIME-WAIT: the connection is done receiving). */
  shrink(): void {
    if (this.ooo.length === 0) this.ring.shrink();
  }

  /**
   * The held data as [startOffset, endOffset) pairs relative to RCV.NXT (for SACK later). Adjacent
   * blocks are reported as one: RFC 2018 §3 describes "each contiguous block of data".
   */
  blocks(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (const b of this.ooo) {
      const last = out.at(-1);
      if (last && last[1] === b.offset) last[1] = b.offset + b.data.length;
      else out.push([b.offset, b.offset + b.data.length]);
    }
    return out;
  }

  private push(data: Uint8Array): number {
    return this.ring.append(data);
  }

  /** Cannot happen while the window never exceeds free space; kept so no accepted octet is ever lost. */
  private holdFront(rest: Uint8Array, absOffset: number): void {
    this.ooo.unshift({ offset: absOffset, data: rest.slice() });
    this.oooBytes += rest.length;
  }

  private hold(offset: number, data: Uint8Array): void {
    // Merge into the sorted, non-overlapping list: keep what is already held, add only new octets.
    let start = offset;
    let bytes = data;
    const out: Block[] = [];
    let i = 0;
    while (i < this.ooo.length && this.ooo[i]!.offset + this.ooo[i]!.data.length <= start) out.push(this.ooo[i++]!);
    while (bytes.length > 0 && i < this.ooo.length && this.ooo[i]!.offset < start + bytes.length) {
      const b = this.ooo[i]!;
      if (b.offset > start) {
        const piece = bytes.subarray(0, b.offset - start);
        out.push({ offset: start, data: piece.slice() });
        this.oooBytes += piece.length;
      }
      const bEnd = b.offset + b.data.length;
      const cut = Math.max(0, bEnd - start);
      bytes = bytes.subarray(Math.min(bytes.length, cut));
      start = Math.max(start, bEnd);
      out.push(b);
      i++;
    }
    if (bytes.length > 0) {
      out.push({ offset: start, data: bytes.slice() });
      this.oooBytes += bytes.length;
    }
    while (i < this.ooo.length) out.push(this.ooo[i++]!);
    this.ooo = out;
  }
}

// =============================================================================== segment arrives

/** RFC 7323 §5.5: TS.Recent older than 24 days is no longer trusted for PAWS. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/**
 * The receive sequence space from the peer's SYN (RFC 9293 §3.10.7.2 and §3.10.7.3, fourth), and
 * what its options settle: MSS, window scaling, timestamps, SACK-permitted. An option is in effect
 * only when both SYNs carry it (RFC 7323 §1.3, §2.2, §3.2; RFC 2018 §2): we offer in an active SYN
 * what is enabled, and a SYN-ACK answers in kind.
 */
export function initReceive(c: Conn, now: number, syn: TcpSegment): void {
  const o = syn.options;
  c.irs = syn.seq;
  c.rcvNxt = add(syn.seq, 1);
  if (c.opts.windowScaling && o.windowScale !== undefined) {
    // RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value larger than 14,
    // the TCP SHOULD log the error but MUST use 14 instead of the specified value."
    c.sndWscale = Math.min(14, o.windowScale);
    c.rcvWscale = c.ourWscale;
  }
  if (c.opts.timestamps && o.timestamps !== undefined) {
    c.tsOk = true;
    c.tsRecent = o.timestamps.tsVal;
    c.tsRecentAt = now;
  }
  c.sackOk = c.opts.sack && o.sackPermitted === true;
  c.peerOffered = { wscale: o.windowScale, ts: o.timestamps, sack: o.sackPermitted === true };
  c.rcvAdv = add(c.rcvNxt, windowToAdvertise(c));
  // RFC 9293 §3.7.1: the send MSS is the peer's announced MSS (536 without one), never above our own.
  c.sndMss = Math.max(64, Math.min(o.mss ?? DEFAULT_PEER_MSS, c.opts.mss));
  // RFC 7323 §2.2: "The window field in a segment where the SYN bit is set ... MUST NOT be scaled."
  c.sndWnd = syn.window;
  c.maxSndWnd = syn.window;
  c.sndWl1 = syn.seq;
  // The congestion window is counted in the segment size just agreed.
  c.cc = c.ccFactory(c.segmentSize);
}

/** SEG.WND as octets: shifted by the peer's scale except in a SYN (RFC 7323 §2.3). */
export function peerWindow(c: Conn, seg: TcpSegment): number {
  return seg.flags & TCP_SYN ? seg.window : seg.window * 2 ** c.sndWscale;
}

/** RFC 9293 §3.10.7.3: SYN-SENT STATE. */
export function synSentArrives(c: Conn, now: number, seg: TcpSegment): void {
  const f = seg.flags;
  let ackAcceptable = false;
  if (f & TCP_ACK) {
    // first, check the ACK bit: "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the
    // RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
    if (le(seg.ack, c.iss) || gt(seg.ack, c.sndMax)) {
      if (!(f & TCP_RST)) c.rstPending = segment(c, seg.ack, TCP_RST, undefined);
      return;
    }
    ackAcceptable = le(c.sndUna, seg.ack) && le(seg.ack, c.sndMax);
  }
  if (f & TCP_RST) {
    // second, check the RST bit: with an acceptable ACK, "the user should be warned with the
    // message 'error: connection reset'" (ECONNREFUSED to a connect), enter CLOSED; else drop.
    // RFC 5961 §3.2 (RST in SYN-SENT): acceptable only if it acknowledges the SYN, as checked.
    if (ackAcceptable) c.terminate({ code: 'ECONNREFUSED', message: 'connection refused (RST)' });
    return;
  }
  if (!(f & TCP_SYN)) return; // fifth: "If neither of the SYN or RST bits is set, then drop the segment"
  // fourth, check the SYN bit.
  initReceive(c, now, seg);
  if (ackAcceptable) {
    c.sndWl2 = seg.ack;
    ackedUpTo(c, now, seg.ack);
  }
  if (gt(c.sndUna, c.iss)) {
    // "If SND.UNA > ISS (our SYN has been ACKed), change the connection state to ESTABLISHED,
    // form an ACK segment <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
    c.setState('ESTABLISHED');
    c.ackNow = true;
    c.emit({ type: 'connected' });
    afterEstablished(c, now);
  } else {
    // Simultaneous open: "enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>".
    c.setState('SYN-RECEIVED');
    c.sndNxt = c.iss; // the SYN goes out again, now with the ACK
    c.armRto(now);
  }
  // "If there are other controls or text in the segment, then continue processing at the sixth step."
  if (seg.payload.length > 0 || seg.flags & TCP_FIN) processText(c, now, seg, add(seg.seq, 1));
}

/** RFC 9293 §3.10.7.4: the synchronized states (and SYN-RECEIVED). */
export function otherwiseArrives(c: Conn, now: number, seg: TcpSegment): void {
  if (
    c.state === 'SYN-RECEIVED' &&
    !c.passive &&
    (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === (TCP_SYN | TCP_ACK) &&
    seg.seq === c.irs &&
    seg.ack === c.sndMax
  ) {
    // Simultaneous open, RFC 9293 Figure 8 line 6: the peer's own SYN-ACK <SEQ=IRS><ACK=ISS+1>
    // completes our side. By the letter of the first step its SYN lies left of the window and the
    // segment would only draw an ACK, leaving us in SYN-RECEIVED until a retransmission (bug fix).
    // Like Linux (tcp_validate_incoming), take it as the ACK it carries: the SYN was seen already.
    seg = { ...seg, seq: add(seg.seq, 1), flags: seg.flags & ~TCP_SYN };
  }
  const f = seg.flags;
  if (c.tsOk && !(f & TCP_RST)) {
    const ts = seg.options.timestamps;
    // RFC 7323 §3.2: "If a non-<RST> segment is received without a TSopt, a TCP SHOULD silently
    // drop the segment."
    if (!ts) return;
    // RFC 7323 §5.3 R1 (PAWS): SEG.TSval < TS.Recent means an old duplicate — unless TS.Recent is
    // more than 24 days old (§5.5). "Send an acknowledgment in reply ... and drop the segment."
    if (((ts.tsVal - c.tsRecent) | 0) < 0 && now - c.tsRecentAt < PAWS_IDLE_MS) {
      c.pawsRejected++;
      c.ackNow = true;
      return;
    }
  }
  const segLen = seg.payload.length + (f & TCP_SYN ? 1 : 0) + (f & TCP_FIN ? 1 : 0);
  const rcvWnd = Math.max(0, sub(c.rcvAdv, c.rcvNxt));

  // first, check sequence number: the four cases of the acceptability test.
  let acceptable: boolean;
  if (segLen === 0) {
    acceptable = rcvWnd === 0 ? seg.seq === c.rcvNxt : inWindow(seg.seq, c.rcvNxt, rcvWnd);
  } else {
    acceptable =
      rcvWnd > 0 &&
      (inWindow(seg.seq, c.rcvNxt, rcvWnd) || inWindow(add(seg.seq, segLen - 1), c.rcvNxt, rcvWnd));
  }
  // RFC 9293 §3.10.7.4: with a zero window, an ACK/RST-only segment at RCV.NXT is still processed
  // ("valid ACKs, URGs, and RSTs" must be), and so is the control part of a segment carrying text.
  if (!acceptable && rcvWnd === 0 && seg.seq === c.rcvNxt) acceptable = true;
  // RFC 7323 §4.3 (R3): "If SEG.TSval >= TS.Recent and SEG.SEQ =< Last.ACK.sent, then SEG.TSval is
  // copied to TS.Recent"; only for acceptable segments.
  const ts = seg.options.timestamps;
  if (acceptable && c.tsOk && ts && ((ts.tsVal - c.tsRecent) | 0) >= 0 && le(seg.seq, c.lastAckSent)) {
    c.tsRecent = ts.tsVal;
    c.tsRecentAt = now;
  }
  if (!acceptable) {
    // "If an incoming segment is not acceptable, an acknowledgment should be sent in reply
    // (unless the RST bit is set, if so drop the segment and return)".
    if (!(f & TCP_RST)) c.ackNow = true;
    if (c.state === 'TIME-WAIT' && !(f & TCP_RST)) c.timers.timeWait = now + 2 * c.opts.mslMs;
    return;
  }

  // second, check the RST bit — RFC 5961 §3.2: reset only on an exact match with RCV.NXT;
  // any other in-window RST draws a challenge ACK.
  if (f & TCP_RST) {
    if (seg.seq !== c.rcvNxt) {
      c.challengeAck(now);
      return;
    }
    switch (c.state) {
      case 'SYN-RECEIVED':
        // "If this connection was initiated with a passive OPEN, then return this connection to the
        // LISTEN state" — for us, the embryonic connection just goes; an active one was refused.
        c.terminate(c.passive ? undefined : { code: 'ECONNREFUSED', message: 'connection refused (RST)' });
        return;
      case 'ESTABLISHED':
      case 'FIN-WAIT-1':
      case 'FIN-WAIT-2':
      case 'CLOSE-WAIT':
        c.terminate({ code: 'ECONNRESET', message: 'connection reset by peer' });
        return;
      default:
        // CLOSING, LAST-ACK, TIME-WAIT: "enter the CLOSED state, delete the TCB, and return".
        c.terminate(undefined);
        return;
    }
  }

  // fourth, check the SYN bit — RFC 5961 §4.2 (RFC 9293 §3.10.7.4): in a synchronized state any SYN
  // draws a challenge ACK. In SYN-RECEIVED of a passive open: "return this connection to LISTEN".
  if (f & TCP_SYN) {
    if (c.state === 'SYN-RECEIVED' && c.passive) {
      c.terminate(undefined);
      return;
    }
    c.challengeAck(now);
    return;
  }

  // fifth, check the ACK field: "if the ACK bit is off, drop the segment and return".
  if (!(f & TCP_ACK)) return;
  if (c.state === 'SYN-RECEIVED') {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state ... If the segment
    // acknowledgment is not acceptable, form a reset segment <SEQ=SEG.ACK><CTL=RST>".
    if (lt(c.sndUna, seg.ack) && le(seg.ack, c.sndMax)) {
      c.sndWnd = peerWindow(c, seg);
      c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
      c.sndWl1 = seg.seq;
      c.sndWl2 = seg.ack;
      if (c.finQueued) {
        // close() in SYN-RECEIVED: the queued FIN can go now (RFC 9293 §3.10.4).
        c.setState('FIN-WAIT-1');
      } else {
        c.setState('ESTABLISHED');
        c.emit({ type: 'connected' });
      }
      afterEstablished(c, now);
    } else {
      c.rstPending = segment(c, seg.ack, TCP_RST, undefined);
      return;
    }
  }
  // RFC 5961 §5.2: the ACK is acceptable when (SND.UNA - MAX.SND.WND) =< SEG.ACK =< SND.NXT;
  // otherwise drop it, and send an ACK when it acknowledges something not yet sent.
  if (gt(seg.ack, c.sndMax)) {
    c.challengeAck(now);
    return;
  }
  if (lt(seg.ack, add(c.sndUna, -Math.max(c.maxSndWnd, 1)))) {
    c.challengeAck(now);
    return;
  }
  processAck(c, now, seg);
  if (c.state === 'CLOSED') return;

  // sixth, the URG bit: urgent data is treated as ordinary data (RFC 6093 §4: applications SHOULD
  // NOT use it; deliberate simplification: no out-of-band signalling).

  // seventh and eighth: segment text and FIN.
  processText(c, now, seg, seg.seq);
}

/** The ACK processing of the fifth step for ESTABLISHED and the closing states. */
function processAck(c: Conn, now: number, seg: TcpSegment): void {
  const ack = seg.ack;
  const outstanding = sub(c.sndMax, c.sndUna);
  if (c.sackOk) {
    // RFC 2018 §8: a receiver may renege on what it SACKed; a cumulative ACK that stops inside a
    // range it reported holding shows it did — that range, and what the scoreboard says, is void.
    if (lt(c.sndUna, ack) && c.scoreboard.reneged(ack)) c.scoreboard.clear();
    // RFC 6675 §5 (C.4): a rescue retransmission counts in pipe only until the next ACK.
    c.rescueInPipe = 0;
  }
  // RFC 2018 §5 / RFC 6675 Update(): record what the peer SACKed (only when SACK is in use on this connection).
  const sacked = c.sackOk && seg.options.sack ? c.scoreboard.update(seg.options.sack, le(c.sndUna, ack) ? ack : c.sndUna, c.sndMax) : false;
  if (lt(c.sndUna, ack)) {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK."
    // RFC 5681 §3.1: cwnd grows with the *data* acknowledged (bug fix: the ACK of our SYN counted
    // as one octet, so a passive open started with IW + 1).
    // RFC 7323 §4.1 (RTTM): with timestamps, the echoed TSecr times the ACK, retransmission or not.
    const tsEcr = c.tsOk ? seg.options.timestamps?.tsEcr : undefined;
    const acked = ackedUpTo(c, now, ack, tsEcr);
    c.scoreboard.advance(c.sndUna);
    onNewAck(c, now, ack, acked, sacked);
  } else if (
    ack === c.sndUna &&
    outstanding > 0 &&
    (sacked ||
      (seg.payload.length === 0 &&
        !(seg.flags & (TCP_SYN | TCP_FIN)) &&
        peerWindow(c, seg) === c.sndWnd &&
        !(c.sackOk && seg.options.sack !== undefined && seg.options.sack.length > 0)))
  ) {
    // RFC 5681 §2 (DUPLICATE ACKNOWLEDGMENT): no data, no SYN/FIN, same ACK and window, data
    // outstanding; RFC 6675 §2 (DupAck): or any segment whose SACK blocks report new octets. With
    // SACK in use, an ACK whose blocks report nothing new is not one (RFC 6675 §2: a duplicated
    // ACK packet must not count); an RFC 5681 duplicate without any SACK blocks still counts, so
    // a peer that agreed to SACK but sends no blocks still gets fast retransmit (a deviation).
    onDupAck(c, now);
  }
  // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 < SEG.SEQ
  // or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, SND.WL1 <- SEG.SEQ,
  // and SND.WL2 <- SEG.ACK."
  if (le(c.sndUna, ack) && (lt(c.sndWl1, seg.seq) || (c.sndWl1 === seg.seq && le(c.sndWl2, ack)))) {
    c.sndWnd = peerWindow(c, seg);
    c.sndWl1 = seg.seq;
    c.sndWl2 = ack;
    c.maxSndWnd = Math.max(c.maxSndWnd, c.sndWnd);
    if (c.sndWnd > 0) {
      c.timers.persist = undefined;
      c.persistBackoff = 0;
    }
  }
  c.probesUnanswered = 0;
  if (c.sndWnd === 0) {
    // RFC 1122 §4.2.2.17: "As long as the receiving TCP continues to send acknowledgments in
    // response to the probe segments, the sending TCP MUST allow the connection to stay open" —
    // so an answer with a closed window restarts the retransmission count too.
    c.retries = 0;
    armPersistIfNeeded(c, now);
  }

  const finAcked = c.finQueued && gt(c.sndUna, c.finSeq);
  switch (c.state) {
    case 'FIN-WAIT-1':
      // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
      // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
      if (finAcked) {
        c.setState('FIN-WAIT-2');
        if (c.orphaned) c.timers.finWait2 = now + c.opts.finWait2TimeoutMs;
      }
      break;
    case 'CLOSING':
      // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state, otherwise ignore the segment."
      if (finAcked) enterTimeWait(c, now);
      break;
    case 'LAST-ACK':
      // "The only thing that can arrive in this state is an acknowledgment of our FIN. If our FIN is
      // now acknowledged, delete the TCB, enter the CLOSED state, and return."
      if (finAcked) c.terminate(undefined);
      break;
    case 'TIME-WAIT':
      // "The only thing that can arrive in this state is a retransmission of the remote FIN" (eighth step).
      break;
    default:
      break;
  }
}

/** Seventh (segment text) and eighth (FIN) steps. `seq` is the sequence number of the first text octet. */
function processText(c: Conn, now: number, seg: TcpSegment, seq: number): void {
  let payload = seg.payload;
  let start = seq;
  if (payload.length > 0) {
    if (!canReceive(c.state)) {
      // CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: "This should not occur since a FIN has been
      // received from the remote side. Ignore the segment text."
      payload = payload.subarray(payload.length);
    } else {
      // Trim what is before RCV.NXT (already received) and beyond the window.
      const before = sub(c.rcvNxt, start);
      if (before > 0) {
        payload = payload.subarray(Math.min(before, payload.length));
        start = c.rcvNxt;
      }
      const room = Math.max(0, sub(c.rcvAdv, start));
      if (payload.length > room) payload = payload.subarray(0, room);
    }
  }
  if (payload.length > 0) {
    const offset = sub(start, c.rcvNxt);
    const hadHoles = c.recvBuf.hasOutOfOrder;
    const advanced = c.recvBuf.insert(offset, payload);
    if (advanced > 0) {
      c.rcvNxt = add(c.rcvNxt, advanced);
      c.counters.bytesReceived += advanced;
      c.emit({ type: 'readable' });
      // RFC 5681 §4.2: ACK at least every second full-sized segment; immediately when the segment
      // fills (part of) a hole. Otherwise delay (RFC 1122 §4.2.3.2), bounded by the timer.
      c.unackedSegments++;
      if (hadHoles || c.unackedSegments >= 2 || sub(c.rcvAdv, c.rcvNxt) < c.opts.mss) {
        c.ackNow = true;
      } else if (c.timers.delAck === undefined) {
        c.timers.delAck = now + c.opts.delayedAckMs;
      }
    } else {
      c.lastHeldSeq = start; // RFC 2018 §4: the block of the latest arrival is reported first
      // RFC 5681 §4.2: "A TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
      // segment arrives" (that is what drives the peer's fast retransmit).
      c.ackNow = true;
    }
  } else if (seg.payload.length > 0) {
    // Entirely old data (a retransmission): acknowledge at once so the peer stops resending.
    c.ackNow = true;
  }

  // eighth, check the FIN bit.
  if (seg.flags & TCP_FIN) {
    const finSeq = add(seq, seg.payload.length);
    if (c.state === 'TIME-WAIT') {
      // "TIME-WAIT STATE: Remain in the TIME-WAIT state. Restart the 2 MSL time-wait timeout."
      c.ackNow = true;
      c.timers.timeWait = now + 2 * c.opts.mslMs;
      return;
    }
    if (canReceive(c.state) || c.state === 'SYN-RECEIVED') {
      if (le(finSeq, add(c.rcvAdv, 0)) || finSeq === c.rcvNxt) c.peerFinSeq = finSeq;
      // A FIN beyond RCV.NXT is an out-of-order segment: "A TCP receiver SHOULD send an immediate
      // duplicate ACK" (RFC 5681 §4.2; bug fix: a bare out-of-order FIN was held silently).
      if (finSeq !== c.rcvNxt) c.ackNow = true;
    } else {
      c.ackNow = true; // a retransmitted FIN in CLOSE-WAIT/CLOSING/LAST-ACK: acknowledge it again
    }
  }
  maybeConsumeFin(c, now);
}

/** The peer's FIN counts once everything before it arrived (RFC 9293 §3.10.7.4 eighth). */
function maybeConsumeFin(c: Conn, now: number): void {
  if (c.peerFinSeq === undefined || c.peerFinSeq !== c.rcvNxt) return;
  if (!(canReceive(c.state) || c.state === 'SYN-RECEIVED')) return;
  // "advance RCV.NXT over the FIN, and send an acknowledgment for the FIN."
  c.rcvNxt = add(c.rcvNxt, 1);
  c.rcvAdv = add(c.rcvAdv, 1);
  c.ackNow = true;
  c.peerFinSeq = undefined;
  switch (c.state) {
    case 'SYN-RECEIVED':
    case 'ESTABLISHED':
      c.setState('CLOSE-WAIT');
      break;
    case 'FIN-WAIT-1':
      // "If our FIN has been ACKed (perhaps in this segment), then enter TIME-WAIT ...;
      // otherwise, enter the CLOSING state."
      if (c.finQueued && gt(c.sndUna, c.finSeq)) enterTimeWait(c, now);
      else c.setState('CLOSING');
      break;
    case 'FIN-WAIT-2':
      enterTimeWait(c, now);
      break;
    default:
      break;
  }
  c.peerClosed = true;
  maybeDeliverEof(c);
}

export function maybeDeliverEof(c: Conn): void {
  if (c.peerClosed && !c.eofDelivered && c.recvBuf.length === 0) {
    c.eofDelivered = true;
    c.emit({ type: 'eof' });
  }
}

function afterEstablished(c: Conn, now: number): void {
  if (c.keepAlive.enabled) c.timers.keepAlive = now + c.keepAlive.idleMs;
  // RFC 5681 §3.1: "if the SYN or SYN/ACK is lost, the initial window used by a sender after a
  // correctly transmitted SYN MUST be one segment".
  if (c.synLost) c.cc = c.ccFactory(c.sndMss, c.sndMss);
  // RFC 6298 §5.7 (bug fix: data started with the 1 s RTO after a SYN or SYN-ACK timed out).
  c.rtt.reinitializeAfterSynTimeout();
}

function enterTimeWait(c: Conn, now: number): void {
  c.timers.finWait2 = undefined;
  c.setState('TIME-WAIT');
  // RFC 9293 §3.10.7.4: "Start the time-wait timer, turn off the other timers."
  c.timers.timeWait = now + 2 * c.opts.mslMs;
  c.timers.rto = undefined;
  c.timers.persist = undefined;
  c.timers.keepAlive = undefined;
  c.timers.delAck = undefined;
  // A TIME-WAIT entry keeps no buffers (the peer's data may still wait to be read, and stays).
  c.sendBuf.shrink();
  c.recvBuf.shrink();
}
