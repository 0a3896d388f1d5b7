// Before and after the whole suite: remove tunstack-<pid> namespaces whose process is gone,
// so a crashed test run never leaves a namespace (or a TUN device inside one) behind.

async function reap(when: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { reapStaleNetns } = await import('../../src/link/netns.js');
  const gone = await reapStaleNetns();
  if (gone.length > 0) console.error(`[${when}] removed stale namespaces: ${gone.join(' ')}`);
}

export async function setup(): Promise<void> {
  await reap('setup');
}

export async function teardown(): Promise<void> {
  await reap('teardown');
}
