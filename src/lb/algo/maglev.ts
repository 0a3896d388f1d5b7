// Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load
// Balancer", NSDI 2016, §3.4): each backend gets a permutation of the M slots of a lookup table
// (M prime, 65537 by default); backends take turns claiming their next preferred free slot until
// the table is full. A flow's hash indexes the table. Near-perfect balance, and a change in the
// backend set moves few entries besides those of the backend that changed.

import { hash2, hashString } from './hash.js';
import type { Balancer, BackendView, FlowKey } from './types.js';

export const MAGLEV_DEFAULT_TABLE_SIZE = 65537;

/** Whether n is prime (trial division; table sizes are small). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/**
 * Builds the lookup table: entry[slot] = backend index. Pseudocode of the paper's Figure 4
 * (Populate): offset = h1(name) mod M, skip = h2(name) mod (M − 1) + 1, permutation[j] =
 * (offset + j × skip) mod M; round-robin over backends, each taking its next unclaimed preference.
 * Weights (a §3.4 extension): in each round a backend claims `weight` slots.
 */
export function buildMaglevTable(keys: readonly string[], weights: readonly number[], size = MAGLEV_DEFAULT_TABLE_SIZE): Int32Array {
  if (!isPrime(size)) throw new RangeError(`maglev table size must be prime, not ${size}`);
  const n = keys.length;
  const entry = new Int32Array(size).fill(-1);
  if (n === 0) return entry;
  const offset = new Uint32Array(n);
  const skip = new Uint32Array(n);
  const next = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    offset[i] = hashString(keys[i]!, 0x5bd1e995) % size;
    skip[i] = (hashString(keys[i]!, 0x1b873593) % (size - 1)) + 1;
  }
  let filled = 0;
  for (;;) {
    for (let i = 0; i < n; i++) {
      for (let w = 0; w < weights[i]!; w++) {
        // Next preferred slot not yet claimed. skip and size are < 2^17, so j*skip stays exact.
        let c = (offset[i]! + next[i]! * skip[i]!) % size;
        while (entry[c] >= 0) {
          next[i]!++;
          c = (offset[i]! + next[i]! * skip[i]!) % size;
        }
        entry[c] = i;
        next[i]!++;
        if (++filled === size) return entry;
      }
    }
  }
}

export class Maglev implements Balancer {
  readonly name = 'maglev' as const;
  private table: Int32Array;
  private keys: string[] = [];
  private weights: number[] = [];

  constructor(readonly tableSize = MAGLEV_DEFAULT_TABLE_SIZE) {
    if (!isPrime(tableSize)) throw new RangeError(`maglev table size must be prime, not ${tableSize}`);
    this.table = new Int32Array(tableSize).fill(-1);
  }

  update(backends: readonly BackendView[]): void {
    const keys = backends.map((b) => b.key);
    const weights = backends.map((b) => b.weight);
    // Rebuilding costs O(M); skip it when nothing changed.
    if (keys.join() === this.keys.join() && weights.join() === this.weights.join()) return;
    this.keys = keys;
    this.weights = weights;
    this.table = buildMaglevTable(keys, weights, this.tableSize);
  }

  pick(flow: FlowKey): number | undefined {
    if (this.keys.length === 0) return undefined;
    // §3.3: the packet's 5-tuple hash selects the entry (conntrack keeps later packets of the flow).
    return this.table[hash2(flow.srcAddr, flow.srcPort) % this.tableSize]!;
  }

  /** The current lookup table (for tests and stats). */
  lookupTable(): Int32Array {
    return this.table;
  }
}
