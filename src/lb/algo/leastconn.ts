// Least connections: the backend with the fewest active flows per unit of weight; ties go to the one
// after the last choice (so an idle pool still rotates instead of piling onto the first backend).

import type { Balancer, BackendView, FlowKey } from './types.js';

export class LeastConn implements Balancer {
  readonly name = 'leastconn' as const;
  private backends: readonly BackendView[] = [];
  private last = -1;

  update(backends: readonly BackendView[]): void {
    this.backends = backends;
    if (this.last >= backends.length) this.last = -1;
  }

  pick(_flow: FlowKey): number | undefined {
    const n = this.backends.length;
    if (n === 0) return undefined;
    let best = -1;
    let bestLoad = Infinity;
    for (let k = 1; k <= n; k++) {
      const i = (this.last + k) % n;
      const b = this.backends[i]!;
      const load = b.active / b.weight;
      if (load < bestLoad) {
        best = i;
        bestLoad = load;
      }
    }
    this.last = best;
    return best;
  }
}
