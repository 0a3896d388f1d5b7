// NewReno congestion control: slow start and congestion avoidance (RFC 5681 §3.1), fast
// retransmit / fast recovery (RFC 5681 §3.2) with NewReno's partial-ACK handling (RFC 6582).

import type { CongestionControl } from './congestion.js';

export class NewReno implements CongestionControl {
  readonly name = 'newreno';
  cwnd: number;
  ssthresh = 0x7fffffff;
  /** Bytes acked since the last cwnd increase in congestion avoidance (RFC 5681 §3.1, byte counting). */
  private avoidanceAcked = 0;

  constructor(
    private readonly mss: number,
    initialWindow?: number,
  ) {
    // RFC 5681 §3.1 (RFC 3390): IW = min(4*SMSS, max(2*SMSS, 4380)); one segment when the SYN or
    // SYN-ACK was lost ("the initial window ... MUST be one segment").
    this.cwnd = initialWindow ?? Math.min(4 * mss, Math.max(2 * mss, 4380));
  }

  onAck(_now: number, acked: number): void {
    if (this.cwnd < this.ssthresh) {
      // RFC 5681 §3.1 (3.2): slow start, cwnd += min(N, SMSS).
      this.cwnd += Math.min(acked, this.mss);
    } else {
      // RFC 5681 §3.1 (3.3): congestion avoidance, about one SMSS per RTT.
      this.avoidanceAcked += acked;
      if (this.avoidanceAcked >= this.cwnd) {
        this.avoidanceAcked -= this.cwnd;
        this.cwnd += this.mss;
      }
    }
  }

  onFastRetransmit(_now: number, inFlight: number, sack = false): void {
    // RFC 5681 §3.2 (4.2/4.3): ssthresh = max(FlightSize/2, 2*SMSS); cwnd = ssthresh + 3*SMSS.
    // RFC 6675 §5 (4.2): "ssthresh = cwnd = (FlightSize / 2)" (pipe, not inflation, counts what left).
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * this.mss);
    this.cwnd = sack ? this.ssthresh : this.ssthresh + 3 * this.mss;
  }

  onDupAckInRecovery(): void {
    // RFC 5681 §3.2 (4.4): inflate by SMSS for each additional duplicate ACK.
    this.cwnd += this.mss;
  }

  onPartialAck(_now: number, acked: number): void {
    // RFC 6582 §3.2 step 5: deflate by the amount acked, add back one SMSS if acked >= SMSS.
    this.cwnd = Math.max(this.mss, this.cwnd - acked + (acked >= this.mss ? this.mss : 0));
  }

  onRecoveryEnd(_now: number, inFlight: number): void {
    // RFC 6582 §3.2 step 6, option (1): cwnd = min(ssthresh, max(FlightSize, SMSS) + SMSS).
    this.cwnd = Math.min(this.ssthresh, Math.max(inFlight, this.mss) + this.mss);
    this.avoidanceAcked = 0;
  }

  onRto(_now: number, inFlight: number): void {
    // RFC 5681 §3.1 (4): ssthresh = max(FlightSize/2, 2*SMSS); cwnd = 1 SMSS (loss window).
    this.ssthresh = Math.max(Math.floor(inFlight / 2), 2 * this.mss);
    this.cwnd = this.mss;
    this.avoidanceAcked = 0;
  }
}
