// The sending side of a connection: the send buffer, and the output path that turns the state into
// segments — SYN/SYN-ACK, data with Nagle and SWS avoidance, fast retransmit, SACK recovery's
// NextSeg choices (RFC 6675, sack-recovery.ts), probes, ACKs, persist.

import { type TcpOptions, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpRepr } from '../wire/tcp.js';
import type { Conn } from './conn.js';
import { ByteRing } from './ring.js';
import {
  nextLostHole,
  nextUnsackedHole,
  pipeGoverned,
  rescueRange,
  sentRecoverySegment,
  setPipe,
  type SeqRange,
} from './sack-recovery.js';
import { add, gt, le, lt, sub } from './seq.js';

export const MAX_WINDOW = 0xffff; // no window scaling (yet): RFC 9293 §3.1, 16-bit window
export const DEFAULT_PEER_MSS = 536; // RFC 9293 §3.7.1 (MUST-15): without the option, assume 536

/**
 * The send buffer: bytes the application wrote that are not yet acknowledged. Offset 0 is the
 * oldest unacknowledged data octet (at sequence number `dataStart` in the TCB).
 */
export class SendBuffer extends ByteRing {}

/** The send sequence space at OPEN: SND.UNA = SND.NXT = ISS; data starts after the SYN. */

export function initSend(c: Conn, iss: number): void {
  c.iss = iss >>> 0;
  c.sndUna = c.iss;
  c.sndNxt = c.iss;
  c.sndMax = c.iss;
  c.recover = c.iss;
  c.highRxt = c.iss;
  c.rescueRxt = c.iss;
  c.dataStart = add(c.iss, 1);
  // RFC 7323 §5.4: the timestamp clock starts at a per-connection offset (the ISN is as good as any).
  c.tsOffset = c.iss;
}

/** CLOSE: the FIN takes the sequence number after the last octet written so far. */
export function queueFin(c: Conn): void {
  if (c.finQueued) return;
  c.finQueued = true;
  c.finSeq = add(c.dataStart, c.sendBuf.length);
}

/** Data or a FIN not yet sent (from SND.NXT on). */
export function hasUnsent(c: Conn): boolean {
  const dataEnd = add(c.dataStart, c.sendBuf.length);
  return lt(c.sndNxt, dataEnd) || (c.finQueued && le(c.sndNxt, c.finSeq));
}

/**
 * The persist timer: unsent data held back — by a zero window, or by sender SWS avoidance with a
 * small one — while nothing is in flight (so no retransmission timer will wake us up).
 */
export function armPersistIfNeeded(c: Conn, now: number): void {
  if (hasUnsent(c) && c.sndUna === c.sndMax && c.timers.persist === undefined) {
    c.timers.persist = now + c.rtt.rto;
  }
}

/** The next segment to send, or undefined. Call until undefined after every input. */
export function nextSegment(c: Conn, now: number): TcpRepr | undefined {
  if (c.rstPending) {
    const r = c.rstPending;
    c.rstPending = undefined;
    return r;
  }
  if (c.state === 'CLOSED' || c.state === 'LISTEN') return undefined;

  // SYN or SYN-ACK (first transmission, a retransmission, or the SYN-ACK of a simultaneous open).
  if ((c.state === 'SYN-SENT' || c.state === 'SYN-RECEIVED') && c.sndNxt === c.iss) {
    const synAck = c.state === 'SYN-RECEIVED';
    c.sndNxt = add(c.iss, 1);
    if (gt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
    c.armRto(now);
    // RFC 9293 §3.7.1: announce our MSS (MTU - 40) in the SYN; with it what this connection offers
    // (an active SYN) or accepts (a SYN-ACK answers what the peer's SYN offered).
    const seg = segment(c, c.iss, synAck ? TCP_SYN | TCP_ACK : TCP_SYN, undefined, synOptions(c, synAck, now));
    if (c.retries === 0 && c.rttSeq === undefined) {
      c.rttSeq = c.sndNxt;
      c.rttStart = now;
    }
    return sent(c, seg);
  }
  if (c.state === 'SYN-SENT') return undefined;

  if (c.fastRetransmitPending) {
    c.fastRetransmitPending = false;
    const seg = c.sackOk ? sackFastRetransmit(c, now) : retransmitFirst(c, now);
    if (seg) return sent(c, seg);
  }

  if (c.sackOk && c.inRecovery) {
    const seg = recoverySegment(c, now);
    if (seg) return sent(c, seg);
  } else {
    // RFC 6675 §5 step (3): while duplicate ACKs carry SACK information, new data may go out as
    // long as cwnd - pipe >= 1 SMSS (never less than cwnd - FlightSize would allow).
    let room: number | undefined;
    if (pipeGoverned(c)) {
      const r = c.cc.cwnd - setPipe(c);
      if (r >= c.segmentSize) room = r;
    }
    const data = nextDataSegment(c, now, room);
    if (data) return sent(c, data);
  }

  if (c.probePending) {
    c.probePending = undefined;
    // Deliberate deviation (RFC 9293 §3.8.6.1 suggests one octet of new data): like Linux, the
    // zero-window and keep-alive probes are empty segments with SEQ = SND.UNA - 1, outside the
    // peer's window, which the peer must answer with an ACK carrying its current window.
    return sent(c, segment(c, add(c.sndUna, -1), TCP_ACK, undefined));
  }

  // A pure ACK carries the highest sequence number sent (SND.NXT before any go-back after a timeout):
  // an older one would fall left of the peer's window and be dropped, ACK field and all.
  if (c.ackNow) return sent(c, segment(c, c.sndMax, TCP_ACK, undefined));
  return undefined;
}

/**
 * The data (and FIN) the window, Nagle and SWS avoidance allow next. `room`: what congestion
 * control allows beyond SND.NXT when it is cwnd - pipe (RFC 6675) rather than SND.UNA + cwnd - SND.NXT.
 */
function nextDataSegment(c: Conn, now: number, room?: number): TcpRepr | undefined {
  if (c.state === 'SYN-RECEIVED') return undefined; // no data or FIN before our SYN is acknowledged
  const dataEnd = add(c.dataStart, c.sendBuf.length);
  let avail = Math.max(0, sub(dataEnd, c.sndNxt));
  const finNext = c.finQueued && c.sndNxt === c.finSeq && avail === 0;
  if (avail === 0 && !finNext) return undefined;

  let retransmitting = lt(c.sndNxt, c.sndMax);
  if (retransmitting && c.scoreboard.size > 0) {
    // Going back after a timeout: skip what the peer SACKed (RFC 6675 §5.1 keeps the scoreboard
    // unless the receiver reneges — see onRetransmitTimeout).
    const hole = c.scoreboard.nextHole(c.sndNxt, 0x7fffffff);
    if (!hole) {
      // Everything from here up to the highest SACKed octet is held by the peer.
      const high = c.scoreboard.highest!;
      if (lt(c.sndNxt, high)) c.sndNxt = lt(high, c.sndMax) ? high : c.sndMax;
    } else if (lt(c.sndNxt, hole[0])) {
      c.sndNxt = hole[0];
    }
    retransmitting = lt(c.sndNxt, c.sndMax);
    avail = Math.max(0, sub(dataEnd, c.sndNxt));
  }
  const cwndRoom = sub(add(c.sndUna, c.cc.cwnd), c.sndNxt);
  const usable = Math.min(sub(add(c.sndUna, c.sndWnd), c.sndNxt), room ?? cwndRoom);
  // SACK blocks ride on data segments too (RFC 2018 §4), at the cost of payload room.
  const size = c.segmentSize - sackRoom(c);
  // TSO: new data may leave as one super-segment of whole segments, cut by the link (Linux's tso).
  const cap = c.opts.gsoMaxSize > size && !retransmitting ? Math.floor(c.opts.gsoMaxSize / size) * size : size;
  let len = Math.min(cap, avail, Math.max(0, usable));
  if (retransmitting && c.scoreboard.size > 0) {
    // Do not run into the next SACKed range.
    const hole = c.scoreboard.nextHole(c.sndNxt, len);
    if (hole) len = Math.min(len, sub(hole[1], hole[0]));
  }

  if (avail > 0 && len === 0) {
    // Nothing fits: the persist timer covers a zero window (armed when the window closed).
    armPersistIfNeeded(c, now);
    return undefined;
  }
  if (len > 0 && len < size && !retransmitting) {
    const inFlight = sub(c.sndMax, c.sndUna) > 0;
    const all = len === avail;
    // RFC 9293 §3.7.4 (Nagle, RFC 896): while data is unacknowledged, hold back a less-than-full
    // segment. RFC 9293 §3.8.6.2.1 (sender SWS avoidance): send a short segment only when it is
    // everything we have (and Nagle allows) or at least half the largest window the peer offered.
    const nagleOk = all && (c.noDelay || !inFlight);
    const swsOk = len >= Math.floor(c.maxSndWnd / 2) && c.maxSndWnd > 0;
    if (!nagleOk && !swsOk && !c.swsOverride) {
      if (!inFlight) armPersistIfNeeded(c, now);
      return undefined;
    }
  }
  let flags = TCP_ACK;
  const seq = c.sndNxt;
  const payload = len > 0 ? c.sendBuf.peek(sub(seq, c.dataStart), len) : undefined;
  if (len > 0 && len === avail) flags |= TCP_PSH;
  let consumed = len;
  if (c.finQueued && add(seq, len) === c.finSeq) {
    flags |= TCP_FIN;
    consumed += 1;
  } else if (len === 0) {
    return undefined;
  }
  if (!retransmitting && c.rttSeq === undefined && len > 0) {
    c.rttSeq = add(seq, len);
    c.rttStart = now;
  }
  if (retransmitting) {
    c.counters.retransmits++;
    c.counters.bytesRetransmitted += len;
  }
  if (len > 0) c.swsOverride = false;
  // RFC 5681 §3.2 / RFC 6675 §5 (4.2): what Limited Transmit sent beyond cwnd is not FlightSize.
  if (room !== undefined && !c.inRecovery && len > cwndRoom) c.limitedTransmitBytes += len - Math.max(0, cwndRoom);
  c.sndNxt = add(c.sndNxt, consumed);
  if (gt(c.sndNxt, c.sndMax)) c.sndMax = c.sndNxt;
  c.counters.bytesSent += retransmitting ? 0 : len;
  c.unackedSince ??= now;
  if (c.timers.rto === undefined) c.timers.rto = c.rtoDeadline(now);
  const out = segment(c, seq, flags, payload);
  if (len > size) out.gsoSize = size;
  return out;
}

/** Fast retransmit / partial ACK without SACK (RFC 6582): the first unacknowledged segment, SND.NXT untouched. */
function retransmitFirst(c: Conn, now: number): TcpRepr | undefined {
  if (gt(c.highRxt, c.sndUna)) return undefined; // NewReno resends the first unacknowledged segment once per (partial) ACK
  const r = retransmitRange(c, now, c.sndUna, c.sndMax);
  if (!r) return undefined;
  c.highRxt = r.end;
  return r.seg;
}

/**
 * RFC 6675 §5 (4.3): "Retransmit the first data segment presumed dropped -- the segment starting
 * with sequence number HighACK + 1. To prevent repeated retransmission of the same data or a
 * premature rescue retransmission, set both HighRxt and RescueRxt to the highest sequence number in
 * the retransmitted segment." Sent whatever cwnd - pipe says.
 */
function sackFastRetransmit(c: Conn, now: number): TcpRepr | undefined {
  const range = c.scoreboard.nextUnsacked(c.sndUna, c.segmentSize, c.sndMax);
  const r = range && retransmitRange(c, now, range[0], range[1]);
  if (!r) return undefined;
  c.highRxt = r.end;
  c.rescueRxt = r.end;
  return r.seg;
}

/**
 * RFC 6675 §5 (C), one segment per call: "If cwnd - pipe >= 1 SMSS, the sender SHOULD transmit one
 * or more segments ... (C.1) The scoreboard MUST be queried via NextSeg ()" — rule (1) a lost hole,
 * (2) new data the receiver's window allows, (3) another hole below the highest SACKed octet, (4)
 * the rescue retransmission. Pipe is recomputed for every segment, which also does (C.4) and (C.5).
 */
function recoverySegment(c: Conn, now: number): TcpRepr | undefined {
  const room = c.cc.cwnd - setPipe(c);
  if (room < c.segmentSize) return undefined;
  const lost = nextLostHole(c);
  if (lost) return recoveryRetransmit(c, now, lost, false);
  const fresh = nextDataSegment(c, now, room);
  if (fresh) return fresh;
  const hole = nextUnsackedHole(c);
  if (hole) return recoveryRetransmit(c, now, hole, false);
  const rescue = rescueRange(c);
  if (rescue) return recoveryRetransmit(c, now, rescue, true);
  return undefined;
}

function recoveryRetransmit(c: Conn, now: number, range: SeqRange, rescue: boolean): TcpRepr | undefined {
  const r = retransmitRange(c, now, range[0], range[1]);
  if (!r) return undefined;
  sentRecoverySegment(c, r.end, rescue, sub(r.end, range[0]));
  return r.seg;
}

/**
 * A retransmission of [start, end) — at most one segment from `start`, with the FIN if that reaches
 * it and it was sent — SND.NXT untouched. Returns the segment and one past what it covers.
 */
function retransmitRange(c: Conn, now: number, start: number, end: number): { seg: TcpRepr; end: number } | undefined {
  const dataEnd = add(c.dataStart, c.sendBuf.length);
  const size = c.segmentSize - sackRoom(c);
  const len = Math.min(size, Math.max(0, sub(end, start)), Math.max(0, sub(dataEnd, start)));
  let flags = TCP_ACK;
  let seqLen = len;
  if (c.finQueued && add(start, len) === c.finSeq && gt(c.sndMax, c.finSeq) && gt(end, c.finSeq)) {
    flags |= TCP_FIN;
    seqLen++;
  }
  if (seqLen === 0) return undefined;
  c.counters.retransmits++;
  c.counters.bytesRetransmitted += len;
  c.rttSeq = undefined; // Karn
  c.timers.rto = c.rtoDeadline(now);
  const payload = len > 0 ? c.sendBuf.peek(sub(start, c.dataStart), len) : undefined;
  return { seg: segment(c, start, flags, payload), end: add(start, seqLen) };
}

/** Bookkeeping for every segment that carries an ACK: the pending ACK is satisfied. */
function sent(c: Conn, seg: TcpRepr): TcpRepr {
  if (seg.flags & TCP_ACK) {
    c.lastAckSent = seg.ack; // RFC 7323 §4.3: Last.ACK.sent
    c.ackNow = false;
    c.timers.delAck = undefined;
    c.unackedSegments = 0;
  }
  return seg;
}

/** The options of our SYN (active) or SYN-ACK: MSS, and window scale / SACK-permitted / timestamps. */
function synOptions(c: Conn, synAck: boolean, now: number): TcpOptions {
  const o: TcpOptions = { mss: c.opts.mss };
  if (synAck) {
    // RFC 7323 §1.3/§2.2 and RFC 2018 §2: a SYN-ACK carries an option only if the SYN did.
    if (c.opts.windowScaling && c.peerOffered.wscale !== undefined) o.windowScale = c.ourWscale;
    if (c.sackOk) o.sackPermitted = true;
    if (c.tsOk) o.timestamps = { tsVal: c.tsNow(now), tsEcr: c.tsRecent };
  } else {
    if (c.opts.windowScaling) o.windowScale = c.ourWscale;
    if (c.opts.sack) o.sackPermitted = true;
    // RFC 7323 §3.2: TSecr is zero in a SYN (nothing to echo yet).
    if (c.opts.timestamps) o.timestamps = { tsVal: c.tsNow(now), tsEcr: 0 };
  }
  return o;
}

/**
 * A segment from us: ports, SEQ, the ACK field (RCV.NXT when ACK is set), the window to advertise
 * (scaled after the SYN, RFC 7323 §2.3), timestamps on every non-RST segment once in use (RFC 7323
 * §3.2), and SACK blocks on every ACK while out-of-order data is held (RFC 2018 §4).
 */
export function segment(
  c: Conn,
  seq: number,
  flags: number,
  payload: Uint8Array | undefined,
  synOpts?: TcpOptions,
): TcpRepr {
  const withAck = (flags & TCP_ACK) !== 0;
  let window = 0;
  let options = synOpts;
  if (!(flags & TCP_RST)) {
    const wnd = advertise(c);
    window = flags & TCP_SYN ? Math.min(MAX_WINDOW, wnd) : Math.min(MAX_WINDOW, Math.floor(wnd / 2 ** c.rcvWscale));
    if (!synOpts && c.tsOk) options = { timestamps: { tsVal: c.tsNow(c.now), tsEcr: c.tsRecent } };
    if (!synOpts && c.sackOk && withAck && c.recvBuf.hasOutOfOrder) {
      options = { ...options, sack: sackBlocks(c, options?.timestamps ? 3 : 4) };
    }
  }
  return {
    srcPort: c.localPort,
    dstPort: c.remotePort,
    seq,
    ack: withAck ? c.rcvNxt : 0,
    flags,
    window,
    ...(options ? { options } : {}),
    ...(payload ? { payload } : {}),
  };
}

/** Option bytes the SACK blocks of the next segment take (NOP NOP kind len + 8 per block). */
function sackRoom(c: Conn): number {
  if (!c.sackOk || !c.recvBuf.hasOutOfOrder) return 0;
  return 4 + 8 * Math.min(c.recvBuf.blockCount, c.tsOk ? 3 : 4);
}

/**
 * RFC 2018 §4: the SACK blocks for what is held out of order, the block with the most recently
 * received segment first, then the others (up to `max`: 4, or 3 beside timestamps).
 */
function sackBlocks(c: Conn, max: number): Array<[number, number]> {
  const blocks = c.recvBuf.blocks().map(([a, b]): [number, number] => [add(c.rcvNxt, a), add(c.rcvNxt, b)]);
  const recent = blocks.findIndex(([a, b]) => !lt(c.lastHeldSeq, a) && lt(c.lastHeldSeq, b));
  if (recent > 0) blocks.unshift(...blocks.splice(recent, 1));
  return blocks.slice(0, max);
}

/** The receive window to put in a segment: SWS avoidance on the receiver side, never shrinking. */
function advertise(c: Conn): number {
  const candidate = add(c.rcvNxt, windowToAdvertise(c));
  // RFC 9293 §3.8.6.2.2: move the right edge only by at least min(buffer/2, MSS) — from a closed
  // window too: that is the very case receiver SWS avoidance is for (bug fix: any opening of a
  // zero window was advertised, e.g. 1 octet in the reply to a zero-window probe). The first
  // advertisement opens the whole buffer, which is always at least that step.
  const step = windowUpdateStep(c);
  if (gt(candidate, c.rcvAdv) && sub(candidate, c.rcvAdv) >= step) {
    c.rcvAdv = candidate;
  }
  return Math.max(0, sub(c.rcvAdv, c.rcvNxt));
}

/**
 * RFC 9293 §3.8.6.2.2: the right edge moves by at least min(Fr*RCV.BUFF, Eff.snd.MSS), Fr = 1/2;
 * the MSS the peer may send us is (at most) the one we announced.
 */
export function windowUpdateStep(c: Conn): number {
  return Math.min(Math.floor(c.opts.recvBufferSize / 2), c.opts.mss);
}

/** The window the receive buffer could take now (before receiver SWS avoidance). */
export function windowToAdvertise(c: Conn): number {
  // RFC 7323 §2.3: a scaled window can say at most 65535 << Rcv.Wind.Shift.
  return Math.min(MAX_WINDOW * 2 ** c.rcvWscale, c.recvBuf.free);
}
