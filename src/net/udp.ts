// UdpSocket (mio's net::UdpSocket).

import type { Socket as DgramSocket } from 'node:dgram';
import { addressError, errnoName, type SystemError, systemError } from '../errors.js';
import { FAULTS, IoFault } from '../faults.js';
import { BATCH_READ, BATCH_WRITE, DATAGRAM, ioOf, type TransferFn } from '../io-source.js';
import { copyBytes, putUint } from '../sys/ffi.js';
import { constant, layout, mod } from '../sys/os.js';
import { describe, guardThis, invalidArg, span, validBoolean, validInteger } from '../validators.js';
import { type AddressInfo, decodeAddr, encodeAddr, parseAddr, parseIPv4, parseIPv6, type SocketAddr } from './addr.js';
import { type DatagramBatch, type PeerAddress, validBatch, validPeer } from './datagram.js';
import { checkHandover, nodeDgramOf, takeFromNodeDgram } from './node.js';
import { adoptFd, recvFromScratch, SEND_FLAGS, SocketBase, scratch, sendToScratch, setByteOrIntOpt, setIntOpt } from './socket.js';

/** The largest UDP payload over IPv4 (65535 - 20 - 8). */
const MAX_UDP_PAYLOAD = 65507;
/** What a kernel without UDP GSO/GRO (or a device that cannot) answers. */
const GSO_REFUSED = new Set(['ENOPROTOOPT', 'EIO', 'EOPNOTSUPP', 'EINVAL']);

// recvfrom/sendto against a PeerAddress, as transfer calls (one call at a time per thread).
const peerLen = new Uint32Array(1);
const peerCall: { peer: PeerAddress | null; recv: TransferFn; send: TransferFn } = {
  peer: null,
  recv: (fd, view, n, flags) => {
    const p = peerCall.peer!;
    peerLen[0] = p.capacity;
    const r = sock().recvfrom(fd, view, n, flags, p.bytes, peerLen);
    if (r >= 0) p.filled(peerLen[0]!);
    return r;
  },
  send: (fd, view, n, flags) => {
    const p = peerCall.peer!;
    return sock().sendto(fd, view, n, flags, p.bytes, p.len);
  },
};

import { sock } from '../sys/net.js';
import { applyBindOptions, type BindOptions, bindOptions, boundSocket, calls, validTtl } from './tcp.js';

function v4(addr: unknown, what: string): Uint8Array {
  const b = typeof addr === 'string' ? parseIPv4(addr) : null;
  if (!b) throw invalidArg(`${what} must be an IPv4 address string, got ${typeof addr === 'string' ? `'${addr}'` : describe(addr)}`);
  return b;
}
function v6(addr: unknown, what: string): Uint8Array {
  const b = typeof addr === 'string' ? parseIPv6(addr) : null;
  if (!b) throw invalidArg(`${what} must be an IPv6 address string, got ${typeof addr === 'string' ? `'${addr}'` : describe(addr)}`);
  return b;
}

/** A non-blocking UDP socket. */
export class UdpSocket extends SocketBase {
  private constructor(fd: number) {
    super(fd, 'UdpSocket');
  }

  /** Binds to `addr` ("127.0.0.1:0" for any port). */
  static override bind(addr: SocketAddr, options?: BindOptions): UdpSocket {
    const a = parseAddr(addr);
    const o = bindOptions(options);
    return new UdpSocket(boundSocket(a, constant('SOCK_DGRAM'), (s) => applyBindOptions(s, a, o)));
  }

  /** Adopts a UDP socket fd (made non-blocking); the socket then owns it. */
  static fromFd(fd: number): UdpSocket {
    return new UdpSocket(adoptFd(fd));
  }

  /**
   * Takes over a bound node:dgram Socket: refuses while Node has sends queued (ERR_INVALID_STATE),
   * duplicates its fd and closes it (only Node's copy). Datagrams Node has not read yet stay queued
   * for this socket. Unix only (ERR_METAL_IO_UNSUPPORTED on Windows).
   */
  static fromNodeDgram(socket: DgramSocket): UdpSocket {
    return UdpSocket.fromFd(takeFromNodeDgram(socket));
  }

  /**
   * Hands the socket to node:dgram: a dgram.Socket bound to the same fd, which Node now owns. This
   * object is left closed (deregistered first). Unix only (ERR_METAL_IO_UNSUPPORTED on Windows,
   * before anything is given up).
   */
  intoNodeDgram(): DgramSocket {
    checkHandover('intoNodeDgram');
    const type = this.localAddr().family === 'IPv6' ? 'udp6' : 'udp4';
    return nodeDgramOf(this.intoRawFd(), type);
  }

  /** Sends one datagram (`buf`, or its `offset`/`length` part) to `addr`: bytes sent, or null when it would block. */
  sendTo(buf: ArrayBufferView, addr: SocketAddr, offset?: number, length?: number): number | null {
    const a = parseAddr(addr);
    sendToScratch.len = encodeAddr(a, scratch.addr);
    return this.transfer('sendto', sendToScratch.call, buf, offset, length, SEND_FLAGS(), DATAGRAM);
  }

  /** Receives one datagram into `buf` (or its `offset`/`length` part): [bytes, sender], or null when none is queued. */
  recvFrom(buf: ArrayBufferView, offset?: number, length?: number): [number, AddressInfo] | null {
    return this.from(buf, offset, length, 0);
  }
  /** Like recvFrom, leaving the datagram queued (MSG_PEEK). */
  peekFrom(buf: ArrayBufferView, offset?: number, length?: number): [number, AddressInfo] | null {
    return this.from(buf, offset, length, constant('MSG_PEEK'));
  }

  private from(buf: unknown, offset: unknown, length: unknown, flags: number): [number, AddressInfo] | null {
    const n = this.transfer('recvfrom', recvFromScratch, buf, offset, length, flags, DATAGRAM);
    return n === null ? null : [n, decodeAddr(scratch.addr)];
  }

  // ---- allocation-free and batched datagrams -----------------------------------------------

  /**
   * Receives one datagram into `buf` (or its `offset`/`length` part) and its sender into `peer`,
   * a reusable PeerAddress: bytes received, or null when none is queued. Allocates nothing.
   */
  recvFromPeer(buf: ArrayBufferView, peer: PeerAddress, offset?: number, length?: number): number | null {
    peerCall.peer = validPeer(peer);
    return this.transfer('recvfrom', peerCall.recv, buf, offset, length, 0, DATAGRAM);
  }

  /** Sends one datagram (`buf`, or its `offset`/`length` part) to `peer` without parsing an address: bytes sent, or null on would-block. */
  sendToPeer(buf: ArrayBufferView, peer: PeerAddress, offset?: number, length?: number): number | null {
    peerCall.peer = validPeer(peer);
    return this.transfer('sendto', peerCall.send, buf, offset, length, SEND_FLAGS(), DATAGRAM);
  }

  /**
   * Receives up to `batch.capacity` datagrams in one call where the OS can (recvmmsg(2) on Linux
   * and Android; a loop elsewhere): the count, also in `batch.length`, or null when none is queued.
   * Each slot has its length, sender, truncation flag and (with GRO) segment size. A count below
   * the capacity means the queue is empty for now (the next event comes with new datagrams).
   */
  recvMany(batch: DatagramBatch): number | null {
    const b = validBatch(batch);
    const fd = ioOf(this).checkOpen('recvmmsg');
    const api = sock();
    let max = b.capacity;
    if (FAULTS.on) {
      const r = this.injected('recvmmsg', max, BATCH_READ);
      if (r === IoFault.WOULD_BLOCK) {
        b.length = 0;
        return null;
      }
      if (r >= 0) max = r;
    }
    for (;;) {
      const n = api.recvBatch(fd, b, max);
      if (n >= 0) {
        b.length = n;
        if (n < b.capacity) ioOf(this).wouldBlock();
        return n;
      }
      if (!this.retry('recvmmsg')) {
        b.length = 0;
        return null;
      }
    }
  }

  /**
   * Sends `count` slots of `batch` from slot `start` (default: slots 0..batch.length-1), each
   * `lengthOf(i)` bytes to `peer(i)` (an empty peer: the connected one), in one call where the OS
   * can (sendmmsg(2)). Returns how many datagrams went: fewer than `count` when the send buffer
   * filled (send the rest, from `start` plus that many, on the next WRITABLE event), or null when
   * none could.
   */
  sendMany(batch: DatagramBatch, count?: number, start?: number): number | null {
    const b = validBatch(batch);
    const from = start === undefined ? 0 : validInteger(start, 'start', 0, b.capacity);
    // batch.length is a field callers may write: checked here, at use, like an argument.
    const c =
      count === undefined
        ? validInteger(b.length, 'batch.length', from, b.capacity) - from
        : validInteger(count, 'count', 0, b.capacity - from);
    const fd = ioOf(this).checkOpen('sendmmsg');
    if (c === 0) return 0;
    const api = sock();
    let max = c;
    if (FAULTS.on) {
      const r = this.injected('sendmmsg', c, BATCH_WRITE);
      if (r === IoFault.WOULD_BLOCK) return null;
      if (r >= 0) max = r;
    }
    for (;;) {
      const n = api.sendBatch(fd, b, from, max, SEND_FLAGS());
      if (n >= 0) {
        if (n < c) ioOf(this).wouldBlock();
        return n;
      }
      if (!this.retry('sendmmsg')) return null;
    }
  }

  /**
   * Sends `buf` (or its `offset`/`length` part) as datagrams of `segmentSize` bytes (the last one
   * maybe shorter) to `peer` (omitted or null: the connected peer). On Linux one sendmsg(2) with
   * UDP_SEGMENT carries up to 64 of them (generic segmentation offload); where the kernel or the OS
   * has none, a loop of sends does the same. Returns the bytes sent (whole datagrams), or null when
   * none could be.
   */
  sendSegments(buf: ArrayBufferView, segmentSize: number, peer?: PeerAddress | null, offset?: number, length?: number): number | null {
    const seg = validInteger(segmentSize, 'segmentSize', 1, MAX_UDP_PAYLOAD);
    const p = peer === undefined || peer === null ? null : validPeer(peer);
    let total = span(buf, offset, length).count;
    const first = offset === undefined ? 0 : offset;
    const fd = ioOf(this).checkOpen('sendmsg');
    if (FAULTS.on && total > 0) {
      // Fewer whole datagrams than there are, or none (would-block).
      const r = this.injected('sendmsg', Math.ceil(total / seg), BATCH_WRITE);
      if (r === IoFault.WOULD_BLOCK) return null;
      if (r >= 0) total = r * seg;
    }
    const api = sock();
    const flags = SEND_FLAGS();
    let sent = 0;
    while (sent < total) {
      const n = Math.min(total - sent, seg);
      // GSO: up to 64 segments (UDP_MAX_SEGMENTS) and one IP datagram's worth per call.
      const perCall = Math.min(64, Math.floor(MAX_UDP_PAYLOAD / seg)) * seg;
      const chunk = Math.min(total - sent, perCall);
      let r: number;
      if (api.sendSegmented && this.#gso && chunk > seg) {
        r = api.sendSegmented(fd, span(buf, first + sent, chunk).view, chunk, seg, p, flags);
        if (r < 0 && GSO_REFUSED.has(errnoName(api.errno()))) {
          this.#gso = false;
          continue;
        } // this path cannot: loop instead
      } else {
        const v = span(buf, first + sent, n).view;
        r = p ? api.sendto(fd, v, n, flags, p.bytes, p.len) : api.send(fd, v, n, flags);
      }
      if (r >= 0) {
        sent += r;
        continue;
      }
      if (!this.retry('sendmsg')) return sent === 0 ? null : sent;
    }
    return sent;
  }
  #gso = true;
  static {
    guardThis(this, (o) => #gso in o);
  }

  /**
   * Asks the kernel to coalesce received datagrams (UDP_GRO, Linux >= 5.0): recvMany then may put
   * several same-sized datagrams in one slot (see DatagramBatch.segmentSize; use 65535-byte slots).
   * Returns whether it is on: false where the OS or kernel has no GRO (nothing changes then).
   */
  setGro(on: boolean): boolean {
    const v = validBoolean(on, 'on');
    const fd = ioOf(this).checkOpen('setsockopt');
    const C = mod.constants;
    if (C.SOL_UDP === undefined || C.UDP_GRO === undefined) return false;
    try {
      setIntOpt(fd, C.SOL_UDP, C.UDP_GRO, v ? 1 : 0);
    } catch (e) {
      if (GSO_REFUSED.has((e as SystemError).code)) return false;
      throw e;
    }
    return v;
  }

  /** Sets the default peer: send/recv then talk to it only. */
  connect(addr: SocketAddr): void {
    const a = parseAddr(addr);
    const fd = ioOf(this).checkOpen('connect');
    const len = encodeAddr(a, scratch.addr);
    if (sock().connect(fd, scratch.addr, len) !== 0) throw addressError('connect', sock().errno(), a);
  }

  /** Sends one datagram to the connected peer. */
  send(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const k = calls();
    return this.transfer('send', k.send, buf, offset, length, k.sendFlags, DATAGRAM);
  }

  /** Receives one datagram from the connected peer. */
  recv(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('recv', calls().recv, buf, offset, length, 0, DATAGRAM);
  }
  /** Like recv, leaving the datagram queued (MSG_PEEK). */
  peek(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('recv', calls().recv, buf, offset, length, constant('MSG_PEEK'), DATAGRAM);
  }

  /** The bound address (getsockname(2)). */
  localAddr(): AddressInfo {
    this.name('getsockname');
    return decodeAddr(scratch.addr);
  }
  /** The connected peer; ENOTCONN when not connected. */
  peerAddr(): AddressInfo {
    this.name('getpeername');
    return decodeAddr(scratch.addr);
  }

  /** SO_BROADCAST: allow sending to broadcast addresses. */
  setBroadcast(on: boolean): void {
    this.setOpt(constant('SOL_SOCKET'), constant('SO_BROADCAST'), on ? 1 : 0);
  }
  /** SO_BROADCAST. */
  broadcast(): boolean {
    return this.intOpt(constant('SOL_SOCKET'), constant('SO_BROADCAST')) !== 0;
  }
  /** IP_TTL for datagrams it sends (1 to 255). */
  setTtl(ttl: number): void {
    this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl));
  }
  /** IP_TTL. */
  ttl(): number {
    return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL'));
  }
  /** Whether this IPv6 socket is IPv6-only (IPV6_V6ONLY). */
  onlyV6(): boolean {
    return this.intOpt(constant('IPPROTO_IPV6'), constant('IPV6_V6ONLY')) !== 0;
  }

  /** IP_MULTICAST_LOOP: whether its own IPv4 multicast comes back to it. */
  setMulticastLoopV4(on: boolean): void {
    setByteOrIntOpt(ioOf(this).checkOpen('setsockopt'), constant('IPPROTO_IP'), constant('IP_MULTICAST_LOOP'), on ? 1 : 0);
  }
  /** IP_MULTICAST_LOOP. */
  multicastLoopV4(): boolean {
    return this.intOpt(constant('IPPROTO_IP'), constant('IP_MULTICAST_LOOP')) !== 0;
  }
  /** IP_MULTICAST_TTL for IPv4 multicast (0 to 255). */
  setMulticastTtlV4(ttl: number): void {
    validInteger(ttl, 'ttl', 0, 255);
    setByteOrIntOpt(ioOf(this).checkOpen('setsockopt'), constant('IPPROTO_IP'), constant('IP_MULTICAST_TTL'), ttl);
  }
  /** IP_MULTICAST_TTL. */
  multicastTtlV4(): number {
    return this.intOpt(constant('IPPROTO_IP'), constant('IP_MULTICAST_TTL'));
  }
  /** IPV6_MULTICAST_LOOP: whether its own IPv6 multicast comes back to it. */
  setMulticastLoopV6(on: boolean): void {
    this.setOpt(constant('IPPROTO_IPV6'), constant('IPV6_MULTICAST_LOOP'), on ? 1 : 0);
  }
  /** IPV6_MULTICAST_LOOP. */
  multicastLoopV6(): boolean {
    return this.intOpt(constant('IPPROTO_IPV6'), constant('IPV6_MULTICAST_LOOP')) !== 0;
  }

  /** Joins an IPv4 group on the interface with address `iface` ('0.0.0.0': the default). */
  joinMulticastV4(group: string, iface: string): void {
    this.mreq4(constant('IP_ADD_MEMBERSHIP'), group, iface);
  }
  /** Leaves an IPv4 group joined with joinMulticastV4. */
  leaveMulticastV4(group: string, iface: string): void {
    this.mreq4(constant('IP_DROP_MEMBERSHIP'), group, iface);
  }
  /** Joins an IPv6 group on interface index `iface` (0: the default). */
  joinMulticastV6(group: string, iface: number): void {
    this.mreq6(constant('IPV6_JOIN_GROUP'), group, iface);
  }
  /** Leaves an IPv6 group joined with joinMulticastV6. */
  leaveMulticastV6(group: string, iface: number): void {
    this.mreq6(constant('IPV6_LEAVE_GROUP'), group, iface);
  }

  private mreq4(opt: number, group: string, iface: string): void {
    const l = layout('ip_mreq');
    const m = Buffer.alloc(l.size);
    copyBytes(m, l.fields.imr_multiaddr!.offset, v4(group, 'group'), 4);
    copyBytes(m, l.fields.imr_interface!.offset, v4(iface, 'iface'), 4);
    if (sock().setsockopt(ioOf(this).checkOpen('setsockopt'), constant('IPPROTO_IP'), opt, m, l.size) !== 0)
      throw systemError('setsockopt', sock().errno());
  }

  private mreq6(opt: number, group: string, iface: number): void {
    validInteger(iface, 'iface', 0, 0xffffffff);
    const l = layout('ipv6_mreq');
    const m = Buffer.alloc(l.size);
    copyBytes(m, l.fields.ipv6mr_multiaddr!.offset, v6(group, 'group'), 16);
    putUint(m, l.fields.ipv6mr_interface!.offset, iface, 4, false);
    if (sock().setsockopt(ioOf(this).checkOpen('setsockopt'), constant('IPPROTO_IPV6'), opt, m, l.size) !== 0)
      throw systemError('setsockopt', sock().errno());
  }
}
