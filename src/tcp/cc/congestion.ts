// The congestion-control interface (DESIGN.md rule 8): algorithms receive `now` and events, and
// own cwnd and ssthresh. The TCB does loss detection; the algorithm decides the window.

export interface CongestionControl {
  readonly name: string;
  /** Congestion window, bytes. */
  readonly cwnd: number;
  readonly ssthresh: number;
  /** `acked` new bytes were cumulatively acknowledged outside recovery; `rttMs` if measured. */
  onAck(now: number, acked: number, rttMs: number | undefined, inFlight: number): void;
  /**
   * Loss detected (three duplicate ACKs, or RFC 6675 IsLost): entering fast recovery with `inFlight`
   * bytes outstanding (FlightSize). `sack`: the recovery is RFC 6675's, which sends by pipe — cwnd
   * is set to ssthresh (§5 (4.2)), without RFC 5681's inflation by the three segments that left.
   */
  onFastRetransmit(now: number, inFlight: number, sack?: boolean): void;
  /** Each further duplicate ACK during fast recovery (RFC 5681 inflation; not called in RFC 6675 recovery). */
  onDupAckInRecovery(now: number): void;
  /** A partial ACK during recovery acknowledging `acked` bytes (RFC 6582 §3.2 step 5; not called in RFC 6675 recovery). */
  onPartialAck(now: number, acked: number): void;
  /** A full ACK ended recovery; `inFlight` is what is still outstanding. */
  onRecoveryEnd(now: number, inFlight: number): void;
  /** The retransmission timer expired with `inFlight` outstanding. */
  onRto(now: number, inFlight: number): void;
}
