// What every socket type shares: creation (non-blocking and close-on-exec from the start), the
// Source implementation (IoSource), would-block as null, socket options, addresses, take_error.
import { OwnedFd } from '../io-source.js';
import { constant, fn, mod } from '../sys/os.js';
import { addressOf } from '../sys/ffi.js';
import { sock } from './sockapi.js';
import { systemError, type SystemError } from '../errors.js';
import { describe } from '../interest.js';

const C = mod.constants;

// Scratch memory for one call at a time (JS is single-threaded per module instance): passed to koffi
// as buffers, used at once, never kept by the kernel.
export const scratch = {
  addr: Buffer.alloc(256),
  len: new Uint32Array(1),
  int: new Int32Array(1),
  byte: new Uint8Array(1),
};

/** Throws TypeError unless `buf` is a Uint8Array (Buffer included). */
export function validBuffer(buf: unknown, what = 'buf'): Uint8Array {
  if (!(buf instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array or Buffer, got ${describe(buf)}`);
  return buf;
}

/**
 * The part of `buf` that read/write use: `offset` and `length` (Node's fs.read/fs.write
 * convention). The whole buffer and a prefix of it cost no allocation; another offset takes a
 * subarray view.
 */
export function span(buf: unknown, offset: unknown, length: unknown): Uint8Array {
  const b = validBuffer(buf);
  if (offset === undefined && length === undefined) return b;
  const off = offset ?? 0;
  if (typeof off !== 'number' || !Number.isInteger(off) || off < 0 || off > b.length) throw new RangeError(`offset must be an integer from 0 to ${b.length}, got ${String(offset)}`);
  const len = length ?? b.length - off;
  if (typeof len !== 'number' || !Number.isInteger(len) || len < 0 || off + len > b.length) throw new RangeError(`length must be an integer from 0 to ${b.length - off}, got ${String(length)}`);
  if (off === 0 && len === b.length) return b;
  return b.subarray(off, off + len);
}

/** A socket that is non-blocking and close-on-exec from creation (SOCK_NONBLOCK | SOCK_CLOEXEC, or fcntl where the OS lacks them). */
export function newSocket(domain: number, type: number): number {
  const api = sock();
  const fd = api.socket(domain, type);
  try { noSigpipe(fd); } catch (e) { api.close(fd); throw e; }
  return fd;
}

/** Where MSG_NOSIGNAL is missing (macOS), SO_NOSIGPIPE keeps a write to a closed peer from raising SIGPIPE. */
export function noSigpipe(fd: number): void {
  if (C.MSG_NOSIGNAL === undefined && C.SO_NOSIGPIPE !== undefined) setIntOpt(fd, constant('SOL_SOCKET'), C.SO_NOSIGPIPE, 1);
}

/** accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC, or accept(2) + fcntl; null on would-block. Fills scratch.addr. */
export function acceptFd(fd: number): number | null {
  const s = scratch; const api = sock();
  for (;;) {
    s.len[0] = s.addr.length;
    const nfd = api.accept(fd, s.addr, s.len);
    if (nfd >= 0) {
      try { noSigpipe(nfd); } catch (e) { api.close(nfd); throw e; }
      return nfd;
    }
    const e = api.errno();
    if (e === api.EINTR) continue;
    if (e === api.EAGAIN) return null;
    throw systemError('accept', e);
  }
}

export function setIntOpt(fd: number, level: number, name: number, value: number, syscall = 'setsockopt'): void {
  scratch.int[0] = value;
  if (sock().setsockopt(fd, level, name, scratch.int, 4) !== 0) throw systemError(syscall, sock().errno());
}

export function getIntOpt(fd: number, level: number, name: number, syscall = 'getsockopt'): number {
  scratch.int[0] = 0; scratch.len[0] = 4;
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
  if (e !== (C.EINVAL ?? C.WSAEINVAL)) throw systemError('setsockopt', e);
  scratch.byte[0] = value;
  if (api.setsockopt(fd, level, name, scratch.byte, 1) !== 0) throw systemError('setsockopt', api.errno());
}

export type Shutdown = 'read' | 'write' | 'both';
export function shutdownHow(how: unknown): number {
  switch (how) {
    case 'read': return C.SHUT_RD ?? constant('SD_RECEIVE');
    case 'write': return C.SHUT_WR ?? constant('SD_SEND');
    case 'both': return C.SHUT_RDWR ?? constant('SD_BOTH');
    default: throw new TypeError(`how must be 'read', 'write' or 'both', got ${describe(how)}`);
  }
}

/** Builds an iovec array over `bufs` for readv/writev. Returns the array and the byte total. */
export function iovecs(bufs: unknown, what: string): { iov: Buffer; count: number; total: number } {
  if (!Array.isArray(bufs)) throw new TypeError(`${what} must be an array of Uint8Array, got ${describe(bufs)}`);
  if (bufs.length > 1024) throw new RangeError(`${what}: at most 1024 buffers (IOV_MAX), got ${bufs.length}`);
  const iov = mod.structs.iovec!;
  const out = Buffer.alloc(Math.max(1, bufs.length) * iov.size);
  const base = iov.fields.iov_base!; const len = iov.fields.iov_len!;
  // Reading .buffer moves a small on-heap array's bytes off the V8 heap for good, so the addresses
  // taken below cannot be moved by a GC that one of the later address() calls might trigger.
  for (const b of bufs) validBuffer(b, `${what}[]`).buffer;
  bufs.forEach((b: Uint8Array, i) => {
    const at = i * iov.size;
    const p = addressOf(b);
    if (base.size === 8) out.writeBigUInt64LE(BigInt(p), at + base.offset); else out.writeUInt32LE(p, at + base.offset);
    if (len.size === 8) out.writeBigUInt64LE(BigInt(b.length), at + len.offset); else out.writeUInt32LE(b.length, at + len.offset);
  });
  return { iov: out, count: bufs.length, total: (bufs as Uint8Array[]).reduce((n, b) => n + b.length, 0) };
}

/** Base of every socket type: an owned fd, its registration, and the calls they all share. */
export class SocketBase extends OwnedFd {
  constructor(fd: number, what: string) { super(fd, what, (s) => sock().close(s)); }
  protected override errs() { return sock(); }

  /** The pending socket error (SO_ERROR), cleared by reading it; null when there is none. */
  takeError(): SystemError | null {
    const fd = this.io.checkOpen('getsockopt');
    const e = getIntOpt(fd, constant('SOL_SOCKET'), constant('SO_ERROR'));
    if (e === 0) return null;
    // Reading SO_ERROR clears it on Unix; Winsock keeps it, so clear it to keep "take" semantics.
    if (sock().windows) setIntOpt(fd, constant('SOL_SOCKET'), constant('SO_ERROR'), 0);
    return this.errorFor(e);
  }

  /** How takeError() describes a pending error; streams name the connect target. */
  protected errorFor(e: number): SystemError { return systemError('getsockopt', e); }

  /** readv(2) / writev(2) over several buffers in order. */
  protected vectored(which: 'readv' | 'writev', bufs: Uint8Array[]): number | null {
    if (sock().windows) return this.vectoredByCopy(which, bufs);
    const { iov, count, total } = iovecs(bufs, 'bufs');
    const fd = this.io.checkOpen(which);
    const f = fn(which);
    for (;;) {
      const n = Number(f(fd, iov, count));
      if (n >= 0) return this.done(n, total);
      if (!this.retry(which)) return null;
    }
  }

  /** Winsock has no readv/writev on a plain socket call: one recv/send through a joined buffer. */
  private vectoredByCopy(which: 'readv' | 'writev', bufs: Uint8Array[]): number | null {
    if (!Array.isArray(bufs)) throw new TypeError(`bufs must be an array of Uint8Array, got ${describe(bufs)}`);
    for (const b of bufs) validBuffer(b, 'bufs[]');
    const fd = this.io.checkOpen(which);
    const api = sock();
    if (which === 'writev') {
      const all = Buffer.concat(bufs);
      for (;;) { const n = api.send(fd, all, all.length, 0); if (n >= 0) return this.done(n, all.length); if (!this.retry('writev')) return null; }
    }
    const total = bufs.reduce((n, b) => n + b.length, 0);
    const tmp = Buffer.allocUnsafe(total);
    for (;;) {
      const n = api.recv(fd, tmp, total, 0);
      if (n >= 0) {
        let off = 0;
        for (const b of bufs) { if (off >= n) break; const k = Math.min(b.length, n - off); b.set(tmp.subarray(off, off + k)); off += k; }
        return this.done(n, total);
      }
      if (!this.retry('readv')) return null;
    }
  }

  /** Runs `f`; when it reports would-block (returns null or throws EAGAIN), re-arms (mio's try_io). */
  tryIo<T>(f: () => T): T {
    this.io.checkOpen('tryIo');
    try {
      const r = f();
      if (r === null) this.io.wouldBlock();
      return r;
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') this.io.wouldBlock();
      throw e;
    }
  }

  protected shutdownSocket(how: Shutdown): void {
    const h = shutdownHow(how);
    if (sock().shutdown(this.io.checkOpen('shutdown'), h) !== 0) throw systemError('shutdown', sock().errno());
  }

  /** getsockname(2) / getpeername(2) into scratch.addr; returns the length. */
  protected name(which: 'getsockname' | 'getpeername'): number {
    const fd = this.io.checkOpen(which);
    scratch.len[0] = scratch.addr.length;
    scratch.addr.fill(0);
    if (sock()[which](fd, scratch.addr, scratch.len) !== 0) throw systemError(which, sock().errno());
    return scratch.len[0]!;
  }

  protected intOpt(level: number, name: number): number { return getIntOpt(this.io.checkOpen('getsockopt'), level, name); }
  protected setOpt(level: number, name: number, v: number): void { setIntOpt(this.io.checkOpen('setsockopt'), level, name, v); }
}

/** For `fromFd`: validates an fd and makes it non-blocking (and close-on-exec). */
export function adoptFd(fd: unknown): number {
  if (typeof fd !== 'number') throw new TypeError(`fd must be a number, got ${describe(fd)}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
  sock().setNonblocking(fd);
  return fd;
}

export const SEND_FLAGS = (): number => C.MSG_NOSIGNAL ?? 0;
