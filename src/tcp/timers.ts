// The TCB's deadline table (DESIGN.md rule 2: timers are data): one optional absolute time, in
// milliseconds of the caller's clock, per timer. The driver sleeps until `earliest()`; then
// `onTimeout` does what each expired deadline calls for.

import type { Conn } from './conn.js';
import { fail, onRetransmitTimeout } from './recovery.js';
import { hasUnsent } from './send.js';

export class Deadlines {
  /** Retransmission timeout (RFC 6298), also for SYN and SYN-ACK. */
  rto: number | undefined;
  /** Delayed ACK (RFC 1122 §4.2.3.2). */
  delAck: number | undefined;
  /** Persist: zero-window probe, or the sender SWS override (RFC 1122 §4.2.2.17, §4.2.3.4). */
  persist: number | undefined;
  /** Keep-alive (RFC 1122 §4.2.3.6). */
  keepAlive: number | undefined;
  /** TIME-WAIT's 2*MSL (RFC 9293 §3.10.8). */
  timeWait: number | undefined;
  /** An orphan's FIN-WAIT-2 bound (Linux tcp_fin_timeout; RFC 9293 has none). */
  finWait2: number | undefined;

  /** The earliest deadline, or undefined. */
  earliest(): number | undefined {
    let t: number | undefined;
    for (const d of [this.rto, this.delAck, this.persist, this.keepAlive, this.timeWait, this.finWait2]) {
      if (d !== undefined && (t === undefined || d < t)) t = d;
    }
    return t;
  }

  /** Stops every timer (the connection is CLOSED). */
  clear(): void {
    this.rto = this.delAck = this.persist = this.keepAlive = this.timeWait = this.finWait2 = undefined;
  }
}

/** The expired deadlines at `now`, in order: TIME-WAIT, FIN-WAIT-2, RTO, delayed ACK, persist, keep-alive. */
export function onTimeout(c: Conn, now: number): void {
  if (c.timers.timeWait !== undefined && now >= c.timers.timeWait) {
    // RFC 9293 §3.10.8: "If the time-wait timeout expires on a connection, delete the TCB, enter CLOSED."
    c.timers.timeWait = undefined;
    c.terminate(undefined);
    return;
  }
  if (c.timers.finWait2 !== undefined && now >= c.timers.finWait2) {
    // The orphan's peer never sent its FIN: forget the connection quietly (Linux tcp_fin_timeout).
    c.timers.finWait2 = undefined;
    if (c.state === 'FIN-WAIT-2') {
      c.terminate(undefined);
      return;
    }
  }
  if (c.timers.rto !== undefined && now >= c.timers.rto) onRetransmitTimeout(c, now);
  if (c.state === 'CLOSED') return;
  if (c.timers.delAck !== undefined && now >= c.timers.delAck) {
    c.timers.delAck = undefined;
    c.ackNow = true;
  }
  if (c.timers.persist !== undefined && now >= c.timers.persist) {
    c.timers.persist = undefined;
    if (c.sndWnd === 0 && hasUnsent(c)) {
      // RFC 9293 §3.8.6.1 / RFC 1122 §4.2.2.17: probe the zero window, backing off exponentially.
      // A peer that answers none of maxRetransmits probes is gone (as Linux's tcp_probe_timer).
      if (c.probesUnanswered >= c.opts.maxRetransmits) {
        fail(c, 'ETIMEDOUT', 'connection timed out (zero-window probes unanswered)');
        return;
      }
      c.probesUnanswered++;
      c.probePending = 'persist';
      c.persistBackoff++;
      c.timers.persist = now + Math.min(c.opts.maxRtoMs, c.rtt.rto * 2 ** c.persistBackoff);
    } else if (hasUnsent(c) && c.sndUna === c.sndMax) {
      // A small window, nothing in flight, and sender SWS avoidance holding the data back: RFC 1122
      // §4.2.3.4 (d), "the override timeout occurs" — send what the window allows (Linux's
      // tcp_write_wakeup does the same). Bug fix: without it a receiver that keeps offering less
      // than half its largest window and less than an MSS was never sent anything again.
      c.swsOverride = true;
    }
  }
  if (c.timers.keepAlive !== undefined && now >= c.timers.keepAlive) {
    if (c.keepAliveProbes >= c.keepAlive.probes) {
      fail(c, 'ETIMEDOUT', 'connection timed out (keep-alive probes unanswered)');
      return;
    }
    // RFC 1122 §4.2.3.6: a keep-alive probe <SEQ=SND.UNA-1> with no data draws an ACK.
    if (c.sndUna === c.sndMax) {
      c.probePending = 'keepalive';
      c.keepAliveProbes++;
    }
    c.timers.keepAlive = now + c.keepAlive.intervalMs;
  }
}
