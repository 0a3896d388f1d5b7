// Before and after the whole suite: remove tunstack-<pid> namespaces whose process is gone,
// so a crashed test run never leaves a namespace (or a TUN device inside one) behind; and keep
// `tunstack serve`'s local CA (its state directory) in a temporary directory, not in ~/.tunstack.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let stateDir: string | undefined;

async function reap(when: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { reapStaleNetns } = await import('../../src/link/netns.js');
  const gone = await reapStaleNetns();
  if (gone.length > 0) console.error(`[${when}] removed stale namespaces: ${gone.join(' ')}`);
}

export async function setup(): Promise<void> {
  await reap('setup');
  stateDir = mkdtempSync(join(tmpdir(), 'tunstack-state-'));
  process.env.TUNSTACK_STATE = stateDir; // inherited by the test workers and the CLIs they start
}

export async function teardown(): Promise<void> {
  await reap('teardown');
  if (stateDir !== undefined) rmSync(stateDir, { recursive: true, force: true });
}
