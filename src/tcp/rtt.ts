// The retransmission timeout, RFC 6298: SRTT/RTTVAR smoothing, Karn's rule (the caller only
// feeds samples from segments that were not retransmitted), exponential backoff, bounds.

export interface RttOptions {
  /** RFC 6298 §2.1: "the sender SHOULD set RTO <- 1 second" before a first measurement. */
  initialRtoMs?: number;
  /**
   * RFC 6298 §2.4 says the RTO SHOULD be rounded up to 1 s. Deliberate deviation: default 200 ms,
   * like Linux (TCP_RTO_MIN), because a 1 s floor cripples recovery on fast local links. Configurable.
   */
  minRtoMs?: number;
  /** RFC 6298 §2.5: "A maximum value MAY be placed on RTO provided it is at least 60 seconds." */
  maxRtoMs?: number;
}

const ALPHA = 1 / 8; // RFC 6298 §2.3
const BETA = 1 / 4;
const K = 4;
const G = 1; // clock granularity, ms

export class RttEstimator {
  srtt: number | undefined;
  rttvar = 0;
  private baseRto: number;
  private backoffs = 0;
  readonly minRto: number;
  readonly maxRto: number;

  constructor(opts: RttOptions = {}) {
    this.baseRto = opts.initialRtoMs ?? 1000;
    this.minRto = opts.minRtoMs ?? 200;
    this.maxRto = opts.maxRtoMs ?? 120_000;
  }

  /** The current RTO, backoff included. */
  get rto(): number {
    return Math.min(this.maxRto, this.baseRto * 2 ** this.backoffs);
  }

  get backoffCount(): number {
    return this.backoffs;
  }

  /** One RTT measurement R (ms) from a segment that was not retransmitted (Karn). */
  sample(r: number): void {
    if (this.srtt === undefined) {
      // RFC 6298 §2.2: SRTT <- R, RTTVAR <- R/2
      this.srtt = r;
      this.rttvar = r / 2;
    } else {
      // RFC 6298 §2.3: RTTVAR first (it uses the old SRTT), then SRTT.
      this.rttvar = (1 - BETA) * this.rttvar + BETA * Math.abs(this.srtt - r);
      this.srtt = (1 - ALPHA) * this.srtt + ALPHA * r;
    }
    // RFC 6298 §2.2/2.3: RTO <- SRTT + max(G, K*RTTVAR), then the bounds of §2.4/2.5.
    this.baseRto = Math.min(this.maxRto, Math.max(this.minRto, this.srtt + Math.max(G, K * this.rttvar)));
    // RFC 6298 §5: a new sample after backoff collapses the backoff.
    this.backoffs = 0;
  }

  /** RFC 6298 §5.5: on expiry, RTO <- RTO * 2 (up to the maximum). */
  backoff(): void {
    if (this.rto < this.maxRto) this.backoffs++;
  }

  /**
   * RFC 6298 §5.7: "If the timer expires awaiting the ACK of a SYN segment and the TCP
   * implementation is using an RTO less than 3 seconds, the RTO MUST be re-initialized to 3 seconds
   * when data transmission begins". Called when the handshake completes; does nothing once a
   * measurement exists (an ACK of a SYN sent only once always gives one).
   */
  reinitializeAfterSynTimeout(ms = 3000): void {
    if (this.srtt !== undefined) return;
    this.backoffs = 0;
    this.baseRto = Math.min(this.maxRto, Math.max(this.baseRto, ms));
  }
}
