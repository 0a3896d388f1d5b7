// Weighted round robin, the "smooth" variant (as in nginx): every pick adds each backend's weight to
// its credit, takes the backend with the most credit and charges it the total. Over any window of
// sum(weights) picks each backend is chosen exactly `weight` times, interleaved rather than in bursts.

import type { Balancer, BackendView, FlowKey } from './types.js';

export class WeightedRoundRobin implements Balancer {
  readonly name = 'wrr' as const;
  private weights: number[] = [];
  private credit: number[] = [];
  private keys: string[] = [];
  private total = 0;

  update(backends: readonly BackendView[]): void {
    // Keep the credit of backends that stay (a health change should not restart everyone's cycle).
    const old = new Map(this.keys.map((k, i) => [k, this.credit[i]!] as const));
    this.keys = backends.map((b) => b.key);
    this.weights = backends.map((b) => b.weight);
    this.credit = backends.map((b) => old.get(b.key) ?? 0);
    this.total = this.weights.reduce((a, w) => a + w, 0);
  }

  pick(_flow: FlowKey): number | undefined {
    if (this.weights.length === 0) return undefined;
    let best = 0;
    for (let i = 0; i < this.weights.length; i++) {
      this.credit[i]! += this.weights[i]!;
      if (this.credit[i]! > this.credit[best]!) best = i;
    }
    this.credit[best]! -= this.total;
    return best;
  }
}
