// Round robin: each new flow goes to the next eligible backend in order, ignoring weights.

import type { Balancer, BackendView, FlowKey } from './types.js';

export class RoundRobin implements Balancer {
  readonly name = 'roundrobin' as const;
  private n = 0;
  private next = 0;

  update(backends: readonly BackendView[]): void {
    this.n = backends.length;
    if (this.next >= this.n) this.next = 0;
  }

  pick(_flow: FlowKey): number | undefined {
    if (this.n === 0) return undefined;
    const i = this.next;
    this.next = (i + 1) % this.n;
    return i;
  }
}
