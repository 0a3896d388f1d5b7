// The pluggable balancing-algorithm surface: a pure object that is told the current backend set
// and picks one for a new flow. No I/O, no clock, no Math.random (p2c takes a seeded PRNG).

export type AlgoName = 'roundrobin' | 'wrr' | 'leastconn' | 'srchash' | 'maglev' | 'p2c';

export const ALGO_NAMES: readonly AlgoName[] = ['roundrobin', 'wrr', 'leastconn', 'srchash', 'maglev', 'p2c'];

/** What an algorithm may know about a backend. `active` is read live at pick time (leastconn, p2c). */
export interface BackendView {
  /** Stable name, e.g. "198.18.1.11:8080": the hashing algorithms hash it. */
  readonly key: string;
  /** Relative weight, a positive integer (drained and down backends are not passed in). */
  readonly weight: number;
  /** Flows currently assigned. */
  readonly active: number;
}

/** The flow a decision is made for (only what an L4 balancer reads: addresses and ports). */
export interface FlowKey {
  /** Client address, uint32. */
  srcAddr: number;
  srcPort: number;
}

export interface Balancer {
  readonly name: AlgoName;
  /**
   * The eligible backends (up, not drained, weight > 0), in a stable order. Called whenever that set
   * or a weight changes; picks return indexes into the latest array.
   */
  update(backends: readonly BackendView[]): void;
  /** The chosen index into the last update()'s array, or undefined when it was empty. */
  pick(flow: FlowKey): number | undefined;
}
