// The Link interface: how the stack sends and receives raw IPv4 packets, in batches.
// Implementations: TunLink (a real TUN device), SimLink (in memory, for tests); PcapTap wraps any Link.

/**
 * Receives one batch of inbound packets. Each packet is a view that is only guaranteed
 * valid during the call: a receiver that keeps bytes past the call must copy them.
 * `gso[i] > 0` (when given) says packet i is a GRO-coalesced TCP super-segment of segments of that
 * many data octets (TunLink with offloads passes the kernel's gso_size).
 * `partial[i]` (when given) says packet i is IPv4/TCP with a partial checksum (the kernel's
 * CHECKSUM_PARTIAL: made by the local host and never checksummed, so there is nothing to verify);
 * a receiver that shows or forwards the bytes fills the checksum first (fillTcpChecksum).
 */
export type BatchReceiver = (packets: readonly Uint8Array[], gso?: readonly number[], partial?: readonly boolean[]) => void;

export interface Link {
  /** Device or link name, for messages and capture metadata. */
  readonly name: string;
  /**
   * Largest IPv4 packet (header included) the link sends. Received packets may be larger: with TUN
   * offloads the kernel hands over GRO-coalesced TCP segments of up to 64 KB (see virtio-net.ts).
   */
  readonly mtu: number;
  /** Sets the one receiver of inbound batches (replacing any earlier one). */
  setReceiver(receiver: BatchReceiver): void;
  /**
   * Transmits a batch. The link is done with the buffers when send returns (it wrote or copied
   * them), so the caller may reuse them. Packets the link cannot deliver are counted, not thrown.
   * `gso[i] > 0` marks packet i as a TCP super-segment to be cut into segments of that many data
   * octets (only sent to links with `tsoMaxSize`); its TCP checksum field is not filled in (the link
   * hands it to the kernel as CHECKSUM_PARTIAL; a link that shows it to anyone fills it first).
   */
  send(packets: readonly Uint8Array[], gso?: readonly number[]): void;
  /** Largest TCP super-segment (IPv4 packet bytes) the link can have segmented for it (TSO); absent: none. */
  readonly tsoMaxSize?: number;
  /** Releases the link (and whatever it created). Idempotent. */
  close(): Promise<void>;
}
