// TcpListener and TcpStream (mio's net::TcpListener / net::TcpStream).
import { constant } from '../sys/os.js';
import { sock } from './sockapi.js';
import { systemError, type SystemError } from '../errors.js';
import { parseAddr, encodeAddr, decodeAddr, formatAddr, type AddressInfo, type SocketAddr, type ParsedAddr } from './addr.js';
import { SocketBase, scratch, newSocket, acceptFd, setIntOpt, validBuffer, adoptFd, span, SEND_FLAGS, type Shutdown } from './socket.js';


// The hot calls, bound once (lazily: importing this module binds nothing).
let hot: { recv: (fd: number, b: Uint8Array, n: number, f: number) => number; send: (fd: number, b: Uint8Array, n: number, f: number) => number; sendFlags: number } | null = null;
export function calls() {
  return hot ??= { recv: sock().recv, send: sock().send, sendFlags: SEND_FLAGS() };
}

function family(a: ParsedAddr): number { return a.v6 ? constant('AF_INET6') : constant('AF_INET'); }

/** A socket bound to `a`: creates, runs `prepare`, binds; closes the fd on any failure. */
export function boundSocket(a: ParsedAddr, type: number, prepare: (fd: number) => void): number {
  const fd = newSocket(family(a), type);
  try {
    prepare(fd);
    const len = encodeAddr(a, scratch.addr);
    if (sock().bind(fd, scratch.addr, len) !== 0) throw systemError('bind', sock().errno(), a.text);
    return fd;
  } catch (e) { sock().close(fd); throw e; }
}

/** A TCP socket listening for connections. */
export class TcpListener extends SocketBase {
  private constructor(fd: number) { super(fd, 'TcpListener'); }

  /** Binds and listens (SO_REUSEADDR, backlog 1024), non-blocking. `bind EADDRINUSE 127.0.0.1:80` on failure. */
  static override bind(addr: SocketAddr): TcpListener {
    const a = parseAddr(addr);
    // SO_REUSEADDR on Unix (rebind while old connections linger); not on Windows, where it would let
    // another socket steal the port (mio does the same).
    const fd = boundSocket(a, constant('SOCK_STREAM'), (s) => { if (!sock().windows) setIntOpt(s, constant('SOL_SOCKET'), constant('SO_REUSEADDR'), 1); });
    if (sock().listen(fd, 1024) !== 0) { const e = sock().errno(); sock().close(fd); throw systemError('listen', e, a.text); }
    return new TcpListener(fd);
  }

  /** Adopts a listening socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpListener { return new TcpListener(adoptFd(fd)); }

  /** The next connection and its peer address, or null when none is pending (would block). */
  accept(): [TcpStream, AddressInfo] | null {
    const fd = acceptFd(this.io.checkOpen('accept'));
    if (fd === null) { this.io.wouldBlock(); return null; }
    return [TcpStream.fromConnected(fd), decodeAddr(scratch.addr)];
  }

  localAddr(): AddressInfo { this.name('getsockname'); return decodeAddr(scratch.addr); }
  setTtl(ttl: number): void { this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl)); }
  ttl(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL')); }
}

export function validTtl(ttl: unknown): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > 255) throw new RangeError(`ttl must be an integer from 1 to 255, got ${String(ttl)}`);
  return ttl;
}

/** A non-blocking TCP connection. */
export class TcpStream extends SocketBase {
  private target = '';
  private constructor(fd: number) { super(fd, 'TcpStream'); }

  /** @internal An accepted connection. */
  static fromConnected(fd: number): TcpStream { return new TcpStream(fd); }

  /**
   * Starts connecting, without waiting: register for WRITABLE; when the event comes, `takeError()`
   * (`connect ECONNREFUSED 127.0.0.1:9`) or `peerAddr()` tells whether it worked.
   */
  static connect(addr: SocketAddr): TcpStream {
    const a = parseAddr(addr);
    const fd = newSocket(family(a), constant('SOCK_STREAM'));
    const len = encodeAddr(a, scratch.addr);
    const api = sock();
    for (;;) {
      if (api.connect(fd, scratch.addr, len) === 0) break;
      const e = api.errno();
      if (e === api.EINTR) continue;
      if (e === api.EINPROGRESS) break;
      api.close(fd);
      throw systemError('connect', e, a.text);
    }
    const s = new TcpStream(fd);
    s.target = a.text;
    return s;
  }

  /** Adopts a connected socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpStream { return new TcpStream(adoptFd(fd)); }

  protected override errorFor(e: number): SystemError { return this.target ? systemError('connect', e, this.target) : systemError('getsockopt', e); }

  /**
   * Reads into `buf` (or its `offset`/`length` part): the byte count, 0 at end of stream, or null
   * when nothing is buffered (would block). A count smaller than `buf.length` means the socket was drained for now (epoll(7)):
   * the next event comes when more data arrives.
   */
  read(buf: Uint8Array, offset?: number, length?: number): number | null {
    const b = validBuffer(buf);
    const fd = this.io.checkOpen('read');
    // A prefix (offset 0) goes to recv as the whole buffer with a smaller count: no view to allocate.
    const len = offset === 0 && typeof length === 'number' && length >= 0 && length <= b.length ? length : -1;
    const v = len >= 0 ? b : span(b, offset, length);
    const want = len >= 0 ? len : v.length;
    if (want === 0) return 0;
    const recv = calls().recv;
    for (;;) {
      const n = recv(fd, v, want, 0);
      if (n >= 0) return this.done(n, want);
      if (!this.retry('read')) return null;
    }
  }

  /** Writes from `buf` (or its `offset`/`length` part): the byte count (maybe short), or null when the send buffer is full. */
  write(buf: Uint8Array, offset?: number, length?: number): number | null {
    const b = validBuffer(buf);
    const fd = this.io.checkOpen('write');
    const len = offset === 0 && typeof length === 'number' && length >= 0 && length <= b.length ? length : -1;
    const v = len >= 0 ? b : span(b, offset, length);
    const want = len >= 0 ? len : v.length;
    if (want === 0) return 0;
    const k = calls();
    for (;;) {
      const n = k.send(fd, v, want, k.sendFlags);
      if (n >= 0) return this.done(n, want);
      if (!this.retry('write')) return null;
    }
  }

  /** Reads into several buffers in order (readv(2)). */
  readv(bufs: Uint8Array[]): number | null { return this.vectored('readv', bufs); }

  /** Writes several buffers in order (writev(2)). */
  writev(bufs: Uint8Array[]): number | null { return this.vectored('writev', bufs); }

  /** Reads without consuming (MSG_PEEK). */
  peek(buf: Uint8Array): number | null {
    const b = validBuffer(buf);
    const fd = this.io.checkOpen('recv');
    if (b.length === 0) return 0;
    for (;;) {
      const n = calls().recv(fd, b, b.length, constant('MSG_PEEK'));
      if (n >= 0) return n;
      if (!this.retry('recv')) return null;
    }
  }

  shutdown(how: Shutdown): void { this.shutdownSocket(how); }
  peerAddr(): AddressInfo { this.name('getpeername'); return decodeAddr(scratch.addr); }
  localAddr(): AddressInfo { this.name('getsockname'); return decodeAddr(scratch.addr); }
  setNodelay(on: boolean): void { this.setOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY'), on ? 1 : 0); }
  nodelay(): boolean { return this.intOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY')) !== 0; }
  setTtl(ttl: number): void { this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl)); }
  ttl(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL')); }

  /** `connect` target or peer, for messages. */
  override toString(): string {
    try { return `TcpStream(${formatAddr(this.localAddr())} -> ${formatAddr(this.peerAddr())})`; } catch { return `TcpStream(fd ${this.fd})`; }
  }
}
