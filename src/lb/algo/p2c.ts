// Power of two random choices (Mitzenmacher): draw two distinct backends at random (weighted) and
// take the one with fewer active flows per unit of weight. The randomness is a seeded PRNG.

import { mulberry32, type Random } from './hash.js';
import type { Balancer, BackendView, FlowKey } from './types.js';

export class PowerOfTwo implements Balancer {
  readonly name = 'p2c' as const;
  private backends: readonly BackendView[] = [];
  private cumulative: number[] = [];
  private readonly random: Random;

  constructor(seed = 1) {
    this.random = mulberry32(seed);
  }

  update(backends: readonly BackendView[]): void {
    this.backends = backends;
    let sum = 0;
    this.cumulative = backends.map((b) => (sum += b.weight));
  }

  pick(_flow: FlowKey): number | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    if (n === 1) return 0;
    const a = this.draw();
    let b = this.draw();
    for (let tries = 0; b === a && tries < 8; tries++) b = this.draw();
    if (b === a) b = (a + 1) % n;
    const la = this.backends[a]!.active / this.backends[a]!.weight;
    const lb = this.backends[b]!.active / this.backends[b]!.weight;
    return lb < la ? b : a;
  }

  /** One index drawn with probability proportional to weight. */
  private draw(): number {
    const total = this.cumulative[this.cumulative.length - 1]!;
    const x = this.random.next() * total;
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
