// tunstack as a library: the stack driver with its node:net-like sockets, the links it runs on,
// the capture tap, and the pieces a test peer or a fault injector builds from.

export { Stack, type StackOptions, type ConnectOptions } from './socket/stack.js';
export { TcpSocket } from './socket/tcp-socket.js';
export { TcpServer } from './socket/tcp-server.js';
export { TlsSocket, tlsError, type TlsError, type TlsErrorCode, type TlsSocketOptions, type TlsTransport } from './socket/tls-socket.js';
export { TlsServer, createTlsServer, certifiedKeyFromPem, type TlsServerOptions, type TransportServer, type TransportSource } from './socket/tls-server.js';
export { tlsConnect, tlsClientSocket, clientConfig, systemCaRoots, type TlsClientOptions, type ConnectSource } from './socket/tls-connect.js';
export { KeyLogFile, keyLogFromEnv, keyLogLine } from './socket/keylog.js';
export type { ServerConfig, ClientConfig, CertifiedKey, HandshakeSummary, HandshakeTrace, ResumptionTicket, TlsConnection, TlsEvent, VerifyOutcome } from './tls/engine-api.js';
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
