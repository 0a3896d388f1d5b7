// Creates a balancer by name: the one place that knows every algorithm.

import { LeastConn } from './leastconn.js';
import { Maglev, MAGLEV_DEFAULT_TABLE_SIZE } from './maglev.js';
import { PowerOfTwo } from './p2c.js';
import { RoundRobin } from './roundrobin.js';
import { SourceHash } from './srchash.js';
import type { AlgoName, Balancer } from './types.js';
import { WeightedRoundRobin } from './wrr.js';

export type { AlgoName, Balancer, BackendView, FlowKey } from './types.js';
export { ALGO_NAMES } from './types.js';

export interface AlgoOptions {
  /** Maglev lookup table size (prime). */
  tableSize?: number;
  /** p2c's PRNG seed. */
  seed?: number;
}

export function createBalancer(name: AlgoName, opts: AlgoOptions = {}): Balancer {
  switch (name) {
    case 'roundrobin':
      return new RoundRobin();
    case 'wrr':
      return new WeightedRoundRobin();
    case 'leastconn':
      return new LeastConn();
    case 'srchash':
      return new SourceHash();
    case 'maglev':
      return new Maglev(opts.tableSize ?? MAGLEV_DEFAULT_TABLE_SIZE);
    case 'p2c':
      return new PowerOfTwo(opts.seed ?? 1);
  }
}
