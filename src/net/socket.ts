// What every socket type shares: creation (non-blocking and close-on-exec from the start), the
// Source implementation (IoSource), would-block as null, socket options, addresses, take_error.

import type { Socket as NodeSocket } from 'node:net';
import { inspect } from 'node:util';
import { type SystemError, systemError } from '../errors.js';
import { FAULTS, IoFault } from '../faults.js';
import { ioOf, isOwnedFd, OwnedFd, STREAM_READ, STREAM_WRITE, type TransferFn } from '../io-source.js';
import { getUint, putUint, zeroBytes } from '../sys/ffi.js';
import { sock } from '../sys/net.js';
import { constant, fn, layout } from '../sys/os.js';
import { argTypeError, bytesOf, copyView, describe, guardThis, invalidArg, validFd, validInteger, viewList } from '../validators.js';
import { formatAddr } from './addr.js';
import { IOV_MAX, iovecs, limitIovecs } from './iovec.js';
import { checkHandover, nodeSocketOf } from './node.js';

// Scratch memory for one call at a time (JS is single-threaded per module instance): passed to koffi
// as buffers, used at once, never kept by the kernel.
const SCRATCH_ADDR = 256;
export const scratch = {
  addr: Buffer.alloc(SCRATCH_ADDR),
  len: new Uint32Array(1),
  int: new Int32Array(1),
  byte: new Uint8Array(1),
};

/**
 * sendto(2) and recvfrom(2) as transfer calls (OwnedFd.transfer) over scratch.addr: set
 * `sendToScratch.len` to the encoded address's length first; recvfrom leaves the sender there.
 */
export const sendToScratch = {
  len: 0,
  call: ((fd, view, n, flags) => sock().sendto(fd, view, n, flags, scratch.addr, sendToScratch.len)) as TransferFn,
};
export const recvFromScratch: TransferFn = (fd, view, n, flags) => {
  scratch.len[0] = SCRATCH_ADDR;
  return sock().recvfrom(fd, view, n, flags, scratch.addr, scratch.len);
};

/** A socket that is non-blocking and close-on-exec from creation (SOCK_NONBLOCK | SOCK_CLOEXEC, or fcntl where the OS lacks them). */
export function newSocket(domain: number, type: number): number {
  return sock().socket(domain, type);
}

/**
 * accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, or accept(2) + fcntl; null on would-block. Fills
 * scratch.addr. A connection the peer aborted before it was accepted (ECONNABORTED, EPROTO) is
 * skipped, as libuv does. Other errors throw, EMFILE and friends included (ListenerBase handles those).
 */
export function acceptFd(fd: number): number | null {
  const s = scratch;
  const api = sock();
  for (;;) {
    s.len[0] = SCRATCH_ADDR;
    const nfd = api.accept(fd, s.addr, s.len);
    if (nfd >= 0) return nfd;
    const e = api.errno();
    if (e === api.EINTR || api.acceptAborted(e)) continue;
    if (e === api.EAGAIN) return null;
    throw systemError('accept', e);
  }
}

export function setIntOpt(fd: number, level: number, name: number, value: number, syscall = 'setsockopt'): void {
  scratch.int[0] = value;
  if (sock().setsockopt(fd, level, name, scratch.int, 4) !== 0) throw systemError(syscall, sock().errno());
}

export function getIntOpt(fd: number, level: number, name: number, syscall = 'getsockopt'): number {
  scratch.int[0] = 0;
  scratch.len[0] = 4;
  if (sock().getsockopt(fd, level, name, scratch.int, scratch.len) !== 0) throw systemError(syscall, sock().errno());
  // Some options are a single byte on some systems (IP_MULTICAST_LOOP on the BSDs).
  return scratch.len[0] === 1 ? new Uint8Array(scratch.int.buffer)[0]! : scratch.int[0]!;
}

/** Sets an option that is an int on Linux and a u_char on the BSDs: int first, byte on EINVAL. */
export function setByteOrIntOpt(fd: number, level: number, name: number, value: number): void {
  const api = sock();
  scratch.int[0] = value;
  if (api.setsockopt(fd, level, name, scratch.int, 4) === 0) return;
  const e = api.errno();
  if (e !== api.EINVAL) throw systemError('setsockopt', e);
  scratch.byte[0] = value;
  if (api.setsockopt(fd, level, name, scratch.byte, 1) !== 0) throw systemError('setsockopt', api.errno());
}

export type Shutdown = 'read' | 'write' | 'both';
export function shutdownHow(how: unknown): number {
  switch (how) {
    case 'read':
      return sock().SHUT_RD;
    case 'write':
      return sock().SHUT_WR;
    case 'both':
      return sock().SHUT_RDWR;
    default:
      throw invalidArg(`how must be 'read', 'write' or 'both', got ${describe(how)}`);
  }
}

const WOULD_BLOCK = IoFault.WOULD_BLOCK;

/** Base of every socket type: an owned fd, its registration, and the calls they all share. */
export class SocketBase extends OwnedFd {
  /**
   * Hands a connected stream socket to node:net: a `net.Socket` on the same fd, which Node now
   * owns. This object is left closed (deregistered first). Unix only (ERR_METAL_IO_UNSUPPORTED on
   * Windows, before anything is given up). For TcpStream and UnixStream.
   */
  protected handToNode(): NodeSocket {
    checkHandover('intoNodeSocket');
    return nodeSocketOf(this.intoRawFd());
  }

  constructor(fd: number, what: string) {
    super(fd, what, (s) => sock().close(s));
  }

  /**
   * A second object of the same type on a duplicate of the fd (std's `try_clone`): both refer to
   * the same socket; each is registered with its own Poll and closed on its own. One listener
   * cloned into several threads, each accepting in its own Poll, spreads connections over them.
   * ERR_METAL_IO_UNSUPPORTED on Windows.
   */
  tryClone(): this {
    const fd = sock().duplicate(ioOf(this).checkOpen('tryClone'));
    try {
      return (this.constructor as unknown as { fromFd(fd: number): SocketBase }).fromFd(fd) as this;
    } catch (e) {
      sock().close(fd);
      throw e;
    }
  }

  /** `TcpStream { fd: 12, local: 127.0.0.1:4000, peer: 127.0.0.1:51234 }`, or `{ closed }`. */
  [inspect.custom](): string {
    const name = this.constructor.name;
    if (ioOf(this).closed) return `${name} { closed }`;
    const self = this as unknown as { localAddr?: () => unknown; peerAddr?: () => unknown };
    const show = (f: (() => unknown) | undefined): string | null => {
      if (!f) return null;
      try {
        const a = f.call(this) as { address?: string; port?: number; family?: string } | { toString(): string };
        return 'port' in a && a.port !== undefined ? formatAddr(a as never) : String(a);
      } catch {
        return null;
      }
    };
    const local = show(self.localAddr);
    const peer = show(self.peerAddr);
    return `${name} { fd: ${ioOf(this).fd}${local ? `, local: ${local}` : ''}${peer ? `, peer: ${peer}` : ''}${this.inspectState()} }`;
  }
  protected override errs() {
    return sock();
  }
  /** What util.inspect adds after the addresses (a paused listener says so). */
  protected inspectState(): string {
    return '';
  }

  /** The pending socket error (SO_ERROR), cleared by reading it; null when there is none. */
  takeError(): SystemError | null {
    const fd = ioOf(this).checkOpen('getsockopt');
    const e = getIntOpt(fd, constant('SOL_SOCKET'), constant('SO_ERROR'));
    if (e === 0) return null;
    // Reading SO_ERROR clears it on Unix; Winsock keeps it, so clear it to keep "take" semantics.
    if (!sock().soErrorClearsOnRead) setIntOpt(fd, constant('SOL_SOCKET'), constant('SO_ERROR'), 0);
    return this.errorFor(e);
  }

  /** How takeError() describes a pending error; streams name the connect target. */
  protected errorFor(e: number): SystemError {
    return systemError('getsockopt', e);
  }

  /** readv(2) / writev(2) over several buffers in order. */
  protected vectored(which: 'readv' | 'writev', bufs: unknown): number | null {
    if (!sock().vectoredCalls) return this.vectoredByCopy(which, bufs);
    const { iov, words, lengths, count, total } = iovecs(bufs, 'bufs');
    const fd = ioOf(this).checkOpen(which);
    const f = fn(which);
    let entries = count;
    if (FAULTS.on && total > 0) {
      const r = this.injected(which, total, which === 'readv' ? STREAM_READ : STREAM_WRITE);
      if (r === WOULD_BLOCK) return null;
      if (r >= 0) entries = limitIovecs(words, lengths, r);
    }
    for (;;) {
      const n = Number(f(fd, iov, entries));
      if (n >= 0) return this.done(n, total);
      if (!this.retry(which)) return null;
    }
  }

  /**
   * Winsock has no readv/writev on a plain socket call: one recv/send through a joined buffer. The
   * copies use only the intrinsics captured at load (copyView) and the lengths measured once, so no
   * caller code runs between measuring the buffers and the call, and none decides a byte count.
   */
  private vectoredByCopy(which: 'readv' | 'writev', bufs: unknown): number | null {
    const { views, lengths, total } = viewList(bufs, 'bufs', IOV_MAX);
    const count = lengths.length;
    const parts: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) parts[i] = bytesOf(views[i]!, `bufs[${i}]`);
    const fd = ioOf(this).checkOpen(which);
    const api = sock();
    let limit = total;
    if (FAULTS.on && total > 0) {
      const r = this.injected(which, total, which === 'readv' ? STREAM_READ : STREAM_WRITE);
      if (r === WOULD_BLOCK) return null;
      if (r >= 0) limit = r;
    }
    if (which === 'writev') {
      const all = new Uint8Array(total);
      for (let i = 0, off = 0; i < count; off += lengths[i]!, i++) copyView(all, off, parts[i]!, 0, lengths[i]!, `bufs[${i}]`);
      for (;;) {
        const n = api.send(fd, all, limit, 0);
        if (n >= 0) return this.done(n, total);
        if (!this.retry('writev')) return null;
      }
    }
    const tmp = new Uint8Array(total);
    for (;;) {
      const n = api.recv(fd, tmp, limit, 0);
      if (n >= 0) {
        for (let i = 0, off = 0; i < count && off < n; i++) {
          const k = lengths[i]! < n - off ? lengths[i]! : n - off;
          copyView(parts[i]!, 0, tmp, off, k, `bufs[${i}]`);
          off += k;
        }
        return this.done(n, total);
      }
      if (!this.retry('readv')) return null;
    }
  }

  /** Runs `f`; when it reports would-block (returns null or throws EAGAIN), re-arms (mio's try_io). */
  tryIo<T>(f: () => T): T {
    if (typeof f !== 'function') throw argTypeError('f', 'of type function', f);
    ioOf(this).checkOpen('tryIo');
    try {
      const r = f();
      if (r === null) ioOf(this).wouldBlock();
      return r;
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') ioOf(this).wouldBlock();
      throw e;
    }
  }

  protected shutdownSocket(how: Shutdown): void {
    const h = shutdownHow(how);
    if (sock().shutdown(ioOf(this).checkOpen('shutdown'), h) !== 0) throw systemError('shutdown', sock().errno());
  }

  /** getsockname(2) / getpeername(2) into scratch.addr; returns the length. */
  protected name(which: 'getsockname' | 'getpeername'): number {
    const fd = ioOf(this).checkOpen(which);
    scratch.len[0] = SCRATCH_ADDR;
    zeroBytes(scratch.addr, 0, SCRATCH_ADDR);
    if (sock()[which](fd, scratch.addr, scratch.len) !== 0) throw systemError(which, sock().errno());
    return scratch.len[0]!;
  }

  /** SO_RCVBUF: the kernel's receive buffer, in bytes (Linux doubles what is set, for its bookkeeping). */
  setRecvBufferSize(bytes: number): void {
    this.setOpt(constant('SOL_SOCKET'), constant('SO_RCVBUF'), validInteger(bytes, 'bytes', 1, 0x7fffffff));
  }
  /** SO_RCVBUF, in bytes. */
  recvBufferSize(): number {
    return this.intOpt(constant('SOL_SOCKET'), constant('SO_RCVBUF'));
  }
  /** SO_SNDBUF: the kernel's send buffer, in bytes (Linux doubles what is set). */
  setSendBufferSize(bytes: number): void {
    this.setOpt(constant('SOL_SOCKET'), constant('SO_SNDBUF'), validInteger(bytes, 'bytes', 1, 0x7fffffff));
  }
  /** SO_SNDBUF, in bytes. */
  sendBufferSize(): number {
    return this.intOpt(constant('SOL_SOCKET'), constant('SO_SNDBUF'));
  }

  /**
   * SO_LINGER: with a time (milliseconds, kept in whole seconds, rounded up), close() waits up to
   * that long for unsent data; with 0 it resets the connection at once; null turns it off.
   */
  setLinger(ms: number | null): void {
    const l = layout('linger');
    const on = ms !== null;
    const secs = on ? Math.ceil(validInteger(ms, 'ms', 0, 0xffff * 1000) / 1000) : 0;
    const b = Buffer.alloc(l.size);
    const put = (f: string, v: number) => {
      const x = l.fields[f]!;
      putUint(b, x.offset, v, x.size, false);
    };
    put('l_onoff', on ? 1 : 0);
    put('l_linger', secs);
    if (sock().setsockopt(ioOf(this).checkOpen('setsockopt'), constant('SOL_SOCKET'), constant('SO_LINGER'), b, l.size) !== 0)
      throw systemError('setsockopt', sock().errno());
  }
  /** SO_LINGER: the linger time in milliseconds, or null when off. */
  linger(): number | null {
    const l = layout('linger');
    const b = Buffer.alloc(l.size);
    scratch.len[0] = l.size;
    if (sock().getsockopt(ioOf(this).checkOpen('getsockopt'), constant('SOL_SOCKET'), constant('SO_LINGER'), b, scratch.len) !== 0)
      throw systemError('getsockopt', sock().errno());
    const get = (f: string) => {
      const x = l.fields[f]!;
      return getUint(b, x.offset, x.size, false);
    };
    return get('l_onoff') ? get('l_linger') * 1000 : null;
  }

  protected intOpt(level: number, name: number): number {
    return getIntOpt(ioOf(this).checkOpen('getsockopt'), level, name);
  }
  protected setOpt(level: number, name: number, v: number): void {
    setIntOpt(ioOf(this).checkOpen('setsockopt'), level, name, v);
  }
}

/** For `fromFd`: validates an fd and makes it non-blocking (and close-on-exec). */
export function adoptFd(fd: unknown): number {
  const v = validFd(fd);
  sock().setNonblocking(v);
  return v;
}

export const SEND_FLAGS = (): number => sock().sendFlags;

guardThis(SocketBase, isOwnedFd, 'TcpStream, TcpListener, UdpSocket, UnixStream, UnixListener or UnixDatagram');
