// A token bucket driven by the caller's clock, for ICMP error generation.
// RFC 1812 §4.3.2.8 and RFC 1122 §3.2.2: a host should limit the rate at which it sends ICMP errors.

export class TokenBucket {
  private tokens: number;
  private last: number | undefined;

  /** `ratePerSecond` tokens are added per second up to `burst`. */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
  }

  /** Takes one token if there is one. `now` is in milliseconds. */
  take(now: number): boolean {
    if (this.last !== undefined && now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.ratePerSecond) / 1000);
    }
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }
}
