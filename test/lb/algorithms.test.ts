// The balancing algorithms as pure modules: round robin, smooth weighted round robin, least
// connections, source hash, Maglev (balance and disruption figures) and power of two choices.

import { describe, expect, it } from 'vitest';
import { createBalancer, type BackendView } from '../../src/lb/algo/index.js';
import { buildMaglevTable, isPrime, Maglev } from '../../src/lb/algo/maglev.js';
import { PowerOfTwo } from '../../src/lb/algo/p2c.js';

function views(n: number, weights?: number[]): Array<{ key: string; weight: number; active: number }> {
  return Array.from({ length: n }, (_, i) => ({ key: `198.18.1.${11 + i}:8080`, weight: weights?.[i] ?? 1, active: 0 }));
}

const flow = (i: number) => ({ srcAddr: (0xc6120001 + (i % 7)) >>> 0, srcPort: 30000 + i });

function tally(b: ReturnType<typeof createBalancer>, n: number, picks: number): number[] {
  const counts = new Array<number>(n).fill(0);
  for (let i = 0; i < picks; i++) counts[b.pick(flow(i))!]!++;
  return counts;
}

describe('round robin', () => {
  it('splits_400_flows_exactly_evenly_over_4_backends', () => {
    const b = createBalancer('roundrobin');
    b.update(views(4));
    expect(tally(b, 4, 400)).toEqual([100, 100, 100, 100]);
  });

  it('returns_undefined_with_no_eligible_backend', () => {
    const b = createBalancer('roundrobin');
    b.update([]);
    expect(b.pick(flow(0))).toBeUndefined();
  });
});

describe('weighted round robin', () => {
  it('splits_400_flows_by_weight_1_2_3_4', () => {
    const b = createBalancer('wrr');
    b.update(views(4, [1, 2, 3, 4]));
    expect(tally(b, 4, 400)).toEqual([40, 80, 120, 160]);
  });

  it('interleaves_rather_than_bursting', () => {
    const b = createBalancer('wrr');
    b.update(views(3, [5, 1, 1]));
    const seq = Array.from({ length: 7 }, (_, i) => b.pick(flow(i)));
    // nginx's smooth WRR example: a a b a c a a
    expect(seq).toEqual([0, 0, 1, 0, 2, 0, 0]);
  });
});

describe('least connections', () => {
  it('sends_new_flows_to_the_idle_backend', () => {
    const vs = views(4);
    const b = createBalancer('leastconn');
    b.update(vs);
    vs[0]!.active = 5;
    vs[1]!.active = 3;
    vs[3]!.active = 1;
    expect(b.pick(flow(0))).toBe(2);
  });

  it('rotates_among_equally_loaded_backends', () => {
    const b = createBalancer('leastconn');
    b.update(views(3));
    expect([0, 1, 2, 3].map((i) => b.pick(flow(i)))).toEqual([0, 1, 2, 0]);
  });

  it('weighs_load_by_weight', () => {
    const vs = views(2, [1, 4]);
    const b = createBalancer('leastconn');
    b.update(vs);
    vs[0]!.active = 1;
    vs[1]!.active = 3; // 3/4 < 1/1
    expect(b.pick(flow(0))).toBe(1);
  });
});

describe('source hash', () => {
  it('keeps_each_client_address_on_one_backend', () => {
    const b = createBalancer('srchash');
    b.update(views(4));
    for (let c = 0; c < 50; c++) {
      const addr = (0xc6120015 + c) >>> 0;
      const first = b.pick({ srcAddr: addr, srcPort: 1000 });
      for (let p = 0; p < 20; p++) expect(b.pick({ srcAddr: addr, srcPort: 40000 + p })).toBe(first);
    }
  });

  it('moves_only_the_clients_of_a_removed_backend', () => {
    const all = views(4);
    const b = createBalancer('srchash');
    b.update(all);
    const before = Array.from({ length: 1000 }, (_, c) => all[b.pick({ srcAddr: c, srcPort: 0 })!]!.key);
    const rest = all.filter((_, i) => i !== 2);
    b.update(rest);
    const after = Array.from({ length: 1000 }, (_, c) => rest[b.pick({ srcAddr: c, srcPort: 0 })!]!.key);
    for (let c = 0; c < 1000; c++) if (before[c] !== all[2]!.key) expect(after[c]).toBe(before[c]);
  });
});

describe('maglev', () => {
  it('knows_its_primes', () => {
    expect(isPrime(65537)).toBe(true);
    expect(isPrime(65536)).toBe(false);
    expect(() => new Maglev(65536)).toThrow(/prime/);
  });

  it('balances_100_backends_within_1_percent_and_remaps_little_when_one_leaves', () => {
    const M = 65537;
    const keys = Array.from({ length: 100 }, (_, i) => `198.18.${2 + (i >> 8)}.${i & 255}:8080`);
    const ones = keys.map(() => 1);
    const t1 = buildMaglevTable(keys, ones, M);
    const counts = new Array<number>(100).fill(0);
    for (const e of t1) counts[e]!++;
    const mean = M / 100;
    const imbalance = Math.max(...counts) / mean - 1;
    expect(imbalance).toBeLessThanOrEqual(0.01);

    const removed = 37;
    const keys2 = keys.filter((_, i) => i !== removed);
    const t2 = buildMaglevTable(keys2, keys2.map(() => 1), M);
    let ofRemoved = 0;
    let othersMoved = 0;
    for (let s = 0; s < M; s++) {
      const was = keys[t1[s]!]!;
      const now = keys2[t2[s]!]!;
      if (t1[s] === removed) ofRemoved++;
      else if (was !== now) othersMoved++;
    }
    const otherShare = othersMoved / (M - ofRemoved);
    console.log(
      `maglev M=${M}, 100 backends: max load ${Math.max(...counts)} / mean ${mean.toFixed(1)} → imbalance ${(imbalance * 100).toFixed(3)}%; ` +
        `removing one: its ${ofRemoved} entries move, plus ${othersMoved} others (${(otherShare * 100).toFixed(2)}% of the rest)`,
    );
    expect(otherShare).toBeLessThanOrEqual(0.025);
  });

  it('builds_the_same_table_for_the_same_backend_list', () => {
    const keys = views(10).map((v) => v.key);
    const a = buildMaglevTable(keys, keys.map(() => 1), 1009);
    const b = buildMaglevTable(keys, keys.map(() => 1), 1009);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    expect(a.every((e) => e >= 0 && e < 10)).toBe(true);
  });

  it('gives_weighted_backends_proportional_shares', () => {
    const keys = views(2).map((v) => v.key);
    const t = buildMaglevTable(keys, [1, 3], 65537);
    const c1 = t.filter((e) => e === 1).length;
    expect(c1 / 65537).toBeCloseTo(0.75, 2);
  });

  it('keeps_a_flow_on_one_backend_while_the_set_is_unchanged', () => {
    const b = createBalancer('maglev');
    b.update(views(4));
    const f = { srcAddr: 0xc6120001, srcPort: 40312 };
    const first = b.pick(f);
    for (let i = 0; i < 10; i++) expect(b.pick(f)).toBe(first);
  });
});

describe('power of two choices', () => {
  it('is_deterministic_for_a_seed', () => {
    const a = new PowerOfTwo(42);
    const b = new PowerOfTwo(42);
    a.update(views(8));
    b.update(views(8));
    const sa = Array.from({ length: 50 }, (_, i) => a.pick(flow(i)));
    const sb = Array.from({ length: 50 }, (_, i) => b.pick(flow(i)));
    expect(sa).toEqual(sb);
  });

  it('prefers_the_less_loaded_of_its_two_draws_and_keeps_load_even', () => {
    const vs = views(8);
    const b = new PowerOfTwo(7);
    b.update(vs);
    for (let i = 0; i < 800; i++) vs[b.pick(flow(i))!]!.active++;
    const loads = vs.map((v) => v.active);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(4);
  });

  it('never_picks_a_backend_twice_as_loaded_when_only_two_exist', () => {
    const vs: BackendView[] & Array<{ active: number }> = views(2);
    vs[0]!.active = 10;
    const b = new PowerOfTwo(3);
    b.update(vs);
    for (let i = 0; i < 20; i++) expect(b.pick(flow(i))).toBe(1);
  });
});
