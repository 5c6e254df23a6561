// The shape of the socket calls the net types make (src/sys/net.ts picks the implementation: BSD
// sockets in sys/unix/net.ts, Winsock in sys/windows/net.ts), and what those calls need of the
// objects above them (a DatagramBatch's memory, a PeerAddress's bytes), as interfaces those objects
// match (structurally: the compiler checks them where net/ passes them to the seam; no `implements`,
// which the published declarations, stripped of internal members, could not satisfy). This file
// imports nothing, so each implementation and the picker depend on it alone.

type Buf = ArrayBufferView | null;

/** What the socket seam needs of a peer address: the kernel's sockaddr bytes (net/datagram.ts's PeerAddress is one). */
export interface PeerBytes {
  readonly bytes: Buffer;
  /** Bytes of `bytes` in use (0: empty). */
  readonly len: number;
  /** Bytes `bytes` can hold. */
  readonly capacity: number;
  /** The kernel wrote `len` bytes of address into `bytes`. */
  filled(len: number): void;
}

/**
 * What the socket seam needs of a batch of datagrams (net/datagram.ts's DatagramBatch is one): its
 * pinned memory, the per-slot state the calls read and fill, and a slot for the seam's own native
 * layout over that memory.
 */
export interface BatchMemory {
  readonly capacity: number;
  readonly datagramSize: number;
  readonly buffer: Buffer;
  readonly lengths: Uint32Array;
  readonly flags: Uint8Array;
  readonly strides: Uint32Array;
  readonly addrs: Buffer;
  readonly addrSize: number;
  readonly peers: readonly PeerBytes[];
  readonly views: readonly Buffer[];
  native: unknown;
}

export interface SockApi {
  /**
   * Sockets are file descriptors in the process's fd table (Unix): one can be held spare against
   * EMFILE, duplicated, and handed to and from libuv's handles. Not so for Winsock SOCKETs.
   */
  readonly fds: boolean;
  /** Reading SO_ERROR clears it (Unix); Winsock keeps it until it is set back to 0. */
  readonly soErrorClearsOnRead: boolean;
  /** readv/writev work on sockets (Unix); elsewhere vectored I/O copies through one buffer. */
  readonly vectoredCalls: boolean;
  /**
   * SO_REUSEADDR lets a listener rebind a port whose old connections linger in TIME_WAIT (Unix);
   * on Windows it lets another socket steal a bound port, so listeners do not set it.
   */
  readonly reuseAddrForListeners: boolean;
  /** errno(3), or WSAGetLastError() */
  errno(): number;
  readonly EINTR: number;
  readonly EAGAIN: number;
  readonly EINPROGRESS: number;
  readonly EINVAL: number;
  /** Whether accept() failing with `e` means only that the peer gave up before it was accepted (ECONNABORTED, EPROTO): skip to the next. */
  acceptAborted(e: number): boolean;
  /** shutdown(2)'s `how` for 'read', 'write' and 'both' (SHUT_RD..., or Winsock's SD_RECEIVE...). */
  readonly SHUT_RD: number;
  readonly SHUT_WR: number;
  readonly SHUT_RDWR: number;
  /** Flags every send call passes (MSG_NOSIGNAL where the OS has it, else 0). */
  readonly sendFlags: number;
  /**
   * A non-blocking socket that child processes do not inherit, and that a write to a closed peer
   * does not kill with SIGPIPE (SO_NOSIGPIPE where the OS has no MSG_NOSIGNAL). accept() and
   * socketpair() give sockets made the same way.
   */
  socket(domain: number, type: number): number;
  /** socketpair(2) of `type` in AF_UNIX, both ends as socket() makes them (ERR_METAL_IO_UNSUPPORTED on Windows). */
  socketpair(type: number): [number, number];
  close(s: number): void;
  /** A second descriptor for the same socket, close-on-exec (ERR_METAL_IO_UNSUPPORTED on Windows). */
  duplicate(s: number): number;
  setNonblocking(s: number): void;
  accept(s: number, addr: Buffer, len: Uint32Array): number;
  bind(s: number, addr: Buffer, len: number): number;
  listen(s: number, backlog: number): number;
  connect(s: number, addr: Buffer, len: number): number;
  recv(s: number, b: ArrayBufferView, n: number, flags: number): number;
  send(s: number, b: ArrayBufferView, n: number, flags: number): number;
  recvfrom(s: number, b: ArrayBufferView, n: number, flags: number, addr: Buffer, len: Uint32Array): number;
  sendto(s: number, b: ArrayBufferView, n: number, flags: number, addr: Buffer, len: number): number;
  getsockopt(s: number, level: number, name: number, v: Buf, len: Uint32Array): number;
  setsockopt(s: number, level: number, name: number, v: Buf, len: number): number;
  getsockname(s: number, addr: Buffer, len: Uint32Array): number;
  getpeername(s: number, addr: Buffer, len: Uint32Array): number;
  shutdown(s: number, how: number): number;
  /** Receives up to `max` (at most batch.capacity) datagrams into `batch`: the count, or -1 with errno() set. */
  recvBatch(s: number, batch: BatchMemory, max: number): number;
  /** Sends slots start..start+count-1 of `batch`: how many went (maybe fewer), or -1 with errno() set when none did. */
  sendBatch(s: number, batch: BatchMemory, start: number, count: number, flags: number): number;
  /** One send of `count` bytes at `view` as `segment`-byte datagrams (UDP GSO), or null where the OS has none. */
  sendSegmented:
    | ((s: number, view: ArrayBufferView, count: number, segment: number, peer: PeerBytes | null, flags: number) => number)
    | null;
}
