// A service's backend pool, sans-IO: each backend's state (up/down from health checks, drained by
// weight 0 or by command), its counters, the rise/fall thresholds, and the choice of a backend for
// a new flow through the service's balancing algorithm. State changes are reported as log lines.

import { formatIpv4Addr } from '../wire/addr.js';
import { createBalancer, type Balancer, type FlowKey } from './algo/index.js';
import type { BackendConfig, HealthConfig, ServiceConfig } from './config.js';

export type BackendState = 'up' | 'down';

export class Backend {
  readonly key: string;
  readonly addr: number;
  readonly port: number;
  /** Configured weight (0: drained by config). */
  weight: number;
  state: BackendState = 'up';
  /** Drained by a control command (config weight 0 drains too). */
  drainedByCommand = false;
  /** Flows currently assigned (the leastconn/p2c load). */
  active = 0;
  flows = 0;
  /** Bytes client → backend, and backend → client. */
  bytesIn = 0;
  bytesOut = 0;
  /** Failed connects (passive) and failed checks (active). */
  failures = 0;
  checksOk = 0;
  checksFailed = 0;
  /** Consecutive results for rise/fall. */
  okStreak = 0;
  failStreak = 0;
  lastChange: string | undefined;

  constructor(cfg: BackendConfig) {
    this.key = cfg.key;
    this.addr = cfg.addr;
    this.port = cfg.port;
    this.weight = cfg.weight;
  }

  get drained(): boolean {
    return this.weight === 0 || this.drainedByCommand;
  }

  get eligible(): boolean {
    return this.state === 'up' && !this.drained;
  }

  stats(): Record<string, string | number | boolean> {
    return {
      backend: this.key,
      state: this.drained ? (this.state === 'up' ? 'drain' : 'down,drain') : this.state,
      weight: this.weight,
      active: this.active,
      flows: this.flows,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      failures: this.failures,
      checksOk: this.checksOk,
      checksFailed: this.checksFailed,
    };
  }
}

export class Pool {
  backends: Backend[] = [];
  health: HealthConfig | undefined;
  private balancer!: Balancer;
  private eligibleList: Backend[] = [];
  private service!: ServiceConfig;
  /** New flows that found no eligible backend. */
  noBackend = 0;

  constructor(
    service: ServiceConfig,
    private readonly log: (line: string) => void = () => {},
  ) {
    this.reconfigure(service);
  }

  get name(): string {
    return this.service.name;
  }

  get algo(): string {
    return this.service.algo;
  }

  get config(): ServiceConfig {
    return this.service;
  }

  /**
   * Applies a (re)loaded config: backends that stay keep their state, counters and flows; new ones
   * start up; removed ones take no new flows (their existing flows hold a reference and finish).
   */
  reconfigure(service: ServiceConfig): void {
    const old = new Map(this.backends.map((b) => [b.key, b] as const));
    const algoChanged = !this.service || this.service.algo !== service.algo || this.service.tableSize !== service.tableSize;
    this.service = service;
    this.health = service.health;
    this.backends = service.backends.map((c) => {
      const b = old.get(c.key);
      if (!b) return new Backend(c);
      if (b.weight !== c.weight) this.log(`backend ${b.key} weight ${b.weight} → ${c.weight}${c.weight === 0 ? ' (drain)' : ''}`);
      b.weight = c.weight;
      return b;
    });
    if (algoChanged) this.balancer = createBalancer(service.algo, { tableSize: service.tableSize });
    this.refresh();
  }

  find(key: string): Backend | undefined {
    return this.backends.find((b) => b.key === key);
  }

  /** A backend for a new flow (counted as one more active flow), or undefined when none is eligible. */
  choose(flow: FlowKey): Backend | undefined {
    const i = this.balancer.pick(flow);
    const b = i === undefined ? undefined : this.eligibleList[i];
    if (!b) {
      this.noBackend++;
      return undefined;
    }
    b.active++;
    b.flows++;
    return b;
  }

  /** A flow of `b` ended. */
  release(b: Backend): void {
    if (b.active > 0) b.active--;
  }

  /** One active check's result: rise/fall thresholds move the backend up or down. */
  checkResult(b: Backend, ok: boolean, detail: string): void {
    if (ok) b.checksOk++;
    else {
      b.checksFailed++;
      b.failures++;
    }
    this.streak(b, ok, detail);
  }

  /** Passive marking: a connection to `b` failed (refused, timed out) or succeeded. */
  connectResult(b: Backend, ok: boolean, detail: string): void {
    if (!ok) b.failures++;
    // Without active checks nothing would ever bring a backend back up: passive marking needs them.
    if (!this.health) return;
    if (ok && b.state === 'up') b.failStreak = 0;
    if (!ok) this.streak(b, false, `${detail} (passive)`);
  }

  private streak(b: Backend, ok: boolean, detail: string): void {
    const h = this.health;
    const rise = h?.rise ?? 1;
    const fall = h?.fall ?? 1;
    if (ok) {
      b.failStreak = 0;
      b.okStreak++;
      if (b.state === 'down' && b.okStreak >= rise) this.setState(b, 'up', `${b.okStreak} checks passed (rise ${rise})`);
    } else {
      b.okStreak = 0;
      b.failStreak++;
      if (b.state === 'up' && b.failStreak >= fall) this.setState(b, 'down', `${detail}; ${b.failStreak} failures (fall ${fall})`);
    }
  }

  private setState(b: Backend, state: BackendState, why: string): void {
    b.state = state;
    b.lastChange = `${state}: ${why}`;
    this.log(`backend ${b.key} ${state.toUpperCase()} (${this.service.name}): ${why}`);
    this.refresh();
  }

  /** Drain (or undrain) a backend by command. Returns false when no such backend. */
  drain(key: string, on: boolean): boolean {
    const b = this.find(key);
    if (!b) return false;
    if (b.drainedByCommand !== on) {
      b.drainedByCommand = on;
      this.log(`backend ${b.key} ${on ? 'DRAIN' : 'UNDRAIN'} (${this.service.name}): by command, ${b.active} flows in progress`);
      this.refresh();
    }
    return true;
  }

  /** Recomputes the eligible set and tells the algorithm. */
  refresh(): void {
    this.eligibleList = this.backends.filter((b) => b.eligible);
    this.balancer.update(this.eligibleList);
  }

  stats(): Record<string, unknown> {
    return {
      service: this.service.name,
      vip: this.service.vip,
      mode: this.service.mode,
      algo: this.service.algo,
      noBackend: this.noBackend,
      backends: this.backends.map((b) => b.stats()),
    };
  }
}

export function endpointString(addr: number, port: number): string {
  return `${formatIpv4Addr(addr)}:${port}`;
}
