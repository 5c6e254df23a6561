// The socket calls the net types make, one shape for both families: BSD sockets through libc
// (sys/unix/net.ts), Winsock through ws2_32 (sys/windows/net.ts). The target's `net` (syscalls.yaml,
// `oses:`) picks one; what differs between them beyond the calls is said by the capabilities below,
// so the net types above have no platform code.
import { mod } from './os.js';
import { bsd } from './unix/net.js';
import { winsock } from './windows/net.js';
import type { DatagramBatch, PeerAddress } from '../net/datagram.js';

type Buf = ArrayBufferView | null;
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
  readonly EINTR: number; readonly EAGAIN: number; readonly EINPROGRESS: number;
  /** A non-blocking socket that child processes do not inherit. */
  socket(domain: number, type: number): number;
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
  recvBatch(s: number, batch: DatagramBatch, max: number): number;
  /** Sends slots start..start+count-1 of `batch`: how many went (maybe fewer), or -1 with errno() set when none did. */
  sendBatch(s: number, batch: DatagramBatch, start: number, count: number, flags: number): number;
  /** One send of `count` bytes at `view` as `segment`-byte datagrams (UDP GSO), or null where the OS has none. */
  sendSegmented: ((s: number, view: ArrayBufferView, count: number, segment: number, peer: PeerAddress | null, flags: number) => number) | null;
}

let api: SockApi | null = null;
/** The running target's socket API, made on first use (Winsock starts then). */
export function sock(): SockApi { return api ??= mod.target.net === 'winsock' ? winsock() : bsd(); }
