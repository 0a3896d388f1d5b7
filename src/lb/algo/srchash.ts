// Source-IP hash: the same client address always lands on the same backend while the set is
// unchanged. Rendezvous (highest-random-weight) hashing with weights, so a backend leaving moves
// only its own clients: score = weight / -ln(u), u = hash(client, backend) in (0, 1).

import { hash2, hashString } from './hash.js';
import type { Balancer, BackendView, FlowKey } from './types.js';

export class SourceHash implements Balancer {
  readonly name = 'srchash' as const;
  private ids: number[] = [];
  private weights: number[] = [];

  update(backends: readonly BackendView[]): void {
    this.ids = backends.map((b) => hashString(b.key));
    this.weights = backends.map((b) => b.weight);
  }

  pick(flow: FlowKey): number | undefined {
    let best: number | undefined;
    let bestScore = -Infinity;
    for (let i = 0; i < this.ids.length; i++) {
      const u = (hash2(flow.srcAddr, this.ids[i]!) + 0.5) / 0x100000000;
      const score = this.weights[i]! / -Math.log(u);
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    return best;
  }
}
