// A service's pool: rise/fall thresholds, passive marking, drain by weight 0 or by command, and a
// reload that keeps backend state and counters.

import { describe, expect, it } from 'vitest';
import { configFromFlags } from '../../src/lb/config.js';
import { Pool } from '../../src/lb/pool.js';

const KEYS = ['198.18.1.11:8080', '198.18.1.12:8080', '198.18.1.13:8080'];

function pool(extra: { health?: string; backend?: string[]; algo?: string } = {}) {
  const log: string[] = [];
  const cfg = configFromFlags({ vip: '198.18.0.2:80', backend: extra.backend ?? KEYS, algo: extra.algo ?? 'roundrobin', health: extra.health ?? 'tcp', rise: '2', fall: '3' });
  return { p: new Pool(cfg.services[0]!, (l) => log.push(l)), log };
}

const flow = { srcAddr: 1, srcPort: 2 };

describe('health thresholds', () => {
  it('goes_down_after_fall_consecutive_failures_and_up_after_rise_successes', () => {
    const { p, log } = pool();
    const b = p.backends[1]!;
    p.checkResult(b, false, 'refused');
    p.checkResult(b, false, 'refused');
    p.checkResult(b, true, 'ok'); // the streak restarts
    p.checkResult(b, false, 'refused');
    p.checkResult(b, false, 'refused');
    expect(b.state).toBe('up');
    p.checkResult(b, false, 'tcp check: connection refused');
    expect(b.state).toBe('down');
    expect(log.at(-1)).toBe('backend 198.18.1.12:8080 DOWN (198.18.0.2:80): tcp check: connection refused; 3 failures (fall 3)');
    // A down backend gets no new flows.
    const picks = Array.from({ length: 6 }, () => p.choose(flow)!.key);
    expect(picks).not.toContain(b.key);
    p.checkResult(b, true, 'ok');
    expect(b.state).toBe('down');
    p.checkResult(b, true, 'ok');
    expect(b.state).toBe('up');
    expect(log.at(-1)).toMatch(/198\.18\.1\.12:8080 UP .*rise 2/);
  });

  it('counts_passive_connect_failures_toward_fall', () => {
    const { p } = pool();
    const b = p.backends[0]!;
    for (let i = 0; i < 3; i++) p.connectResult(b, false, 'connection refused');
    expect(b.state).toBe('down');
    expect(b.failures).toBe(3);
  });

  it('does_not_mark_down_passively_without_active_checks_to_bring_it_back', () => {
    const log: string[] = [];
    const cfg = configFromFlags({ vip: '198.18.0.2:80', backend: KEYS });
    const p = new Pool(cfg.services[0]!, (l) => log.push(l));
    for (let i = 0; i < 10; i++) p.connectResult(p.backends[0]!, false, 'refused');
    expect(p.backends[0]!.state).toBe('up');
    expect(p.backends[0]!.failures).toBe(10);
  });

  it('has_no_backend_for_a_flow_when_all_are_down', () => {
    const { p } = pool();
    for (const b of p.backends) for (let i = 0; i < 3; i++) p.checkResult(b, false, 'x');
    expect(p.choose(flow)).toBeUndefined();
    expect(p.noBackend).toBe(1);
  });
});

describe('drain', () => {
  it('takes_a_drained_backend_out_of_new_flows_while_its_active_count_stays', () => {
    const { p, log } = pool();
    const first = p.choose(flow)!;
    expect(first.key).toBe(KEYS[0]);
    expect(p.drain(KEYS[0]!, true)).toBe(true);
    expect(log.at(-1)).toMatch(/198\.18\.1\.11:8080 DRAIN .*1 flows in progress/);
    for (let i = 0; i < 6; i++) expect(p.choose(flow)!.key).not.toBe(KEYS[0]);
    expect(first.active).toBe(1);
    expect(first.stats().state).toBe('drain');
    p.release(first);
    expect(p.drain(KEYS[0]!, false)).toBe(true);
    expect(p.drain('198.18.9.9:1', true)).toBe(false);
  });

  it('drains_by_weight_0_in_the_config', () => {
    const { p } = pool({ backend: ['198.18.1.11:8080,0', '198.18.1.12:8080'] });
    for (let i = 0; i < 4; i++) expect(p.choose(flow)!.key).toBe('198.18.1.12:8080');
  });
});

describe('reload', () => {
  it('keeps_state_and_counters_of_backends_that_stay_and_adds_new_ones_up', () => {
    const { p } = pool();
    const b2 = p.backends[1]!;
    for (let i = 0; i < 3; i++) p.checkResult(b2, false, 'x');
    p.choose(flow);
    const cfg = configFromFlags({ vip: '198.18.0.2:80', backend: [KEYS[1]!, KEYS[2]!, '198.18.1.14:8080,5'], algo: 'wrr', health: 'tcp' });
    p.reconfigure(cfg.services[0]!);
    expect(p.backends.map((b) => b.key)).toEqual([KEYS[1], KEYS[2], '198.18.1.14:8080']);
    expect(p.backends[0]).toBe(b2);
    expect(b2.state).toBe('down');
    expect(p.backends[2]!.weight).toBe(5);
    expect(p.algo).toBe('wrr');
    const picks = Array.from({ length: 6 }, () => p.choose(flow)!.key);
    expect(picks.filter((k) => k === '198.18.1.14:8080')).toHaveLength(5);
  });
});
