// tunstack as a library: the stack driver with its node:net-like sockets, the links it runs on,
// the capture tap, and the pieces a test peer or a fault injector builds from.

export { Stack, type StackOptions, type ConnectOptions } from './socket/stack.js';
export { TcpSocket } from './socket/tcp-socket.js';
export { TcpServer } from './socket/tcp-server.js';
export type { Link, BatchReceiver } from './link/link.js';
export { TunLink } from './link/tun-link.js';
export { SimLink } from './link/sim-link.js';
export { PcapTap, fileSink, memorySink, type CaptureSink } from './link/pcap-tap.js';
export { FaultLink, parseImpairment, type Impairment, type FaultLinkOptions } from './link/fault-link.js';
export { RunningStack, type RunningStackOptions } from './cli/running-stack.js';
export { createHttpApp, deterministicBytes, type HttpAppOptions } from './apps/http-handler.js';
export type { TcbOptions, TcbInfo, TcpEvent, TcpErrorCode, KeepAliveOptions } from './tcp/tcb.js';
export type { TcpState } from './tcp/state.js';
export type { CongestionControl } from './tcp/cc/congestion.js';
export { NewReno } from './tcp/cc/newreno.js';
export { Cubic } from './tcp/cc/cubic.js';
