// The package entry point exports the library API the README describes.

import { describe, expect, it } from 'vitest';
import * as tunstack from '../../src/index.js';

describe('the library entry point', () => {
  it('exports_the_stack_sockets_links_and_algorithms', () => {
    for (const name of ['Stack', 'TcpSocket', 'TcpServer', 'TunLink', 'SimLink', 'PcapTap', 'FaultLink', 'RunningStack', 'createHttpApp', 'NewReno', 'Cubic']) {
      expect(typeof (tunstack as Record<string, unknown>)[name], name).toBe('function');
    }
  });

  it('runs_a_stack_on_a_sim_link', () => {
    const link = new tunstack.SimLink();
    const stack = new tunstack.Stack(link, { address: '198.18.0.2' });
    const server = stack.createServer();
    server.listen(80);
    expect(stack.tcp.listenerCount()).toBe(1);
    void stack.close();
  });
});
