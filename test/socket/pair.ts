// Two Stacks joined by an in-memory wire (two SimLinks cross-connected, delivering on setImmediate),
// for testing the socket layer on the real event loop without a TUN device.

import { SimLink } from '../../src/link/sim-link.js';
import { Stack } from '../../src/socket/stack.js';

export interface Pair {
  a: Stack; // 198.18.0.1
  b: Stack; // 198.18.0.2
  close(): Promise<void>;
}

export function stackPair(opts: { mslMs?: number } = {}): Pair {
  const la = new SimLink({ name: 'a' });
  const lb = new SimLink({ name: 'b' });
  const wire = (from: SimLink, to: SimLink) => {
    let queue: Uint8Array[] = [];
    from.onTransmit = (p) => {
      if (queue.length === 0) {
        setImmediate(() => {
          const batch = queue;
          queue = [];
          try {
            to.inject(batch);
          } catch {
            // the other side closed
          }
        });
      }
      queue.push(p);
    };
  };
  wire(la, lb);
  wire(lb, la);
  const tcp = { mslMs: opts.mslMs ?? 50 };
  const a = new Stack(la, { address: '198.18.0.1', tcp });
  const b = new Stack(lb, { address: '198.18.0.2', tcp });
  return {
    a,
    b,
    close: async () => {
      await a.close();
      await b.close();
    },
  };
}
