// SimLink: an in-memory Link for tests. The test plays the peer: it injects batches as if they
// came off the wire and collects (copies of) what the stack transmits. No timers, no clock.

import type { BatchReceiver, Link } from './link.js';

export class SimLink implements Link {
  readonly name: string;
  readonly mtu: number;
  /** Copies of every packet the stack sent, in order, until taken. */
  private sent: Uint8Array[] = [];
  private receiver: BatchReceiver | undefined;
  private closed = false;
  /** Called with each transmitted packet (after it is recorded). */
  onTransmit: ((packet: Uint8Array) => void) | undefined;

  constructor(opts: { name?: string; mtu?: number } = {}) {
    this.name = opts.name ?? 'sim0';
    this.mtu = opts.mtu ?? 1500;
  }

  setReceiver(receiver: BatchReceiver): void {
    this.receiver = receiver;
  }

  send(packets: readonly Uint8Array[]): void {
    if (this.closed) return;
    for (const p of packets) {
      const copy = p.slice();
      this.sent.push(copy);
      this.onTransmit?.(copy);
    }
  }

  /** Delivers a batch to the stack, as the wire would. */
  inject(packets: readonly Uint8Array[]): void {
    if (this.closed) throw new Error('SimLink is closed');
    this.receiver?.(packets);
  }

  /** Returns and forgets everything transmitted so far. */
  takeTransmitted(): Uint8Array[] {
    const out = this.sent;
    this.sent = [];
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
