// TimerHeap: one deadline per item, rescheduling and clearing with lazy deletion.

import { describe, expect, it } from 'vitest';
import { TimerHeap } from '../../src/tcp/timer-heap.js';
import { mulberry32 } from '../helpers/prng.js';

function popAll(h: TimerHeap<string>, now: number): string[] {
  const out: string[] = [];
  for (let x = h.popDue(now); x !== undefined; x = h.popDue(now)) out.push(x);
  return out;
}

describe('TimerHeap', () => {
  it('pops_due_items_earliest_first', () => {
    const h = new TimerHeap<string>();
    h.schedule('c', 30);
    h.schedule('a', 10);
    h.schedule('b', 20);
    expect(h.peekTime()).toBe(10);
    expect(popAll(h, 25)).toEqual(['a', 'b']);
    expect(h.peekTime()).toBe(30);
    expect(h.size).toBe(1);
  });

  it('keeps_only_the_latest_deadline_of_an_item', () => {
    const h = new TimerHeap<string>();
    h.schedule('a', 10);
    h.schedule('a', 50);
    h.schedule('b', 20);
    expect(h.peekTime()).toBe(20);
    expect(popAll(h, 30)).toEqual(['b']);
    expect(popAll(h, 100)).toEqual(['a']);
    expect(h.peekTime()).toBeUndefined();
  });

  it('moves_a_deadline_earlier', () => {
    const h = new TimerHeap<string>();
    h.schedule('a', 50);
    h.schedule('a', 5);
    expect(popAll(h, 10)).toEqual(['a']);
    expect(popAll(h, 100)).toEqual([]);
  });

  it('clears_with_undefined', () => {
    const h = new TimerHeap<string>();
    h.schedule('a', 10);
    h.schedule('a', undefined);
    expect(h.size).toBe(0);
    expect(h.peekTime()).toBeUndefined();
    expect(h.popDue(100)).toBeUndefined();
  });

  it('does_not_duplicate_an_unchanged_deadline', () => {
    const h = new TimerHeap<string>();
    h.schedule('a', 10);
    h.schedule('a', 10);
    expect(popAll(h, 10)).toEqual(['a']);
  });

  it('agrees_with_a_sorted_list_under_random_rescheduling', () => {
    const rng = mulberry32(7);
    const h = new TimerHeap<string>();
    const truth = new Map<string, number>();
    for (let i = 0; i < 2000; i++) {
      const k = `k${rng.int(100)}`;
      if (rng.int(5) === 0) {
        h.schedule(k, undefined);
        truth.delete(k);
      } else {
        const at = rng.int(10_000);
        h.schedule(k, at);
        truth.set(k, at);
      }
    }
    const expected = [...truth.entries()].sort((a, b) => a[1] - b[1]).map(([, at]) => at);
    const got: number[] = [];
    for (let t = h.peekTime(); t !== undefined; t = h.peekTime()) {
      const k = h.popDue(t)!;
      got.push(truth.get(k)!);
      truth.delete(k);
    }
    expect(got).toEqual(expected);
  });
});
