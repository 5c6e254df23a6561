// TcpListener and TcpStream (mio's net::TcpListener / net::TcpStream).
import { constant } from '../sys/os.js';
import { sock } from './sockapi.js';
import { systemError, addressError, type SystemError } from '../errors.js';
import { parseAddr, encodeAddr, decodeAddr, formatAddr, type AddressInfo, type SocketAddr, type ParsedAddr } from './addr.js';
import { SocketBase, ListenerBase, scratch, newSocket, setIntOpt, adoptFd, SEND_FLAGS, type Shutdown } from './socket.js';
import { validInteger } from '../validators.js';
import { STREAM_READ, STREAM_WRITE, PEEK, type TransferFn } from '../io-source.js';


// The hot calls, bound once (lazily: importing this module binds nothing).
let hot: { recv: TransferFn; send: TransferFn; sendFlags: number } | null = null;
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
    if (sock().bind(fd, scratch.addr, len) !== 0) throw addressError('bind', sock().errno(), a);
    return fd;
  } catch (e) { sock().close(fd); throw e; }
}

/** A TCP socket listening for connections. */
export class TcpListener extends ListenerBase {
  private constructor(fd: number) { super(fd, 'TcpListener'); }

  /** Binds and listens (SO_REUSEADDR, backlog 1024), non-blocking. `bind EADDRINUSE 127.0.0.1:80` on failure. */
  static override bind(addr: SocketAddr): TcpListener {
    const a = parseAddr(addr);
    // SO_REUSEADDR on Unix (rebind while old connections linger); not on Windows, where it would let
    // another socket steal the port (mio does the same).
    const fd = boundSocket(a, constant('SOCK_STREAM'), (s) => { if (!sock().windows) setIntOpt(s, constant('SOL_SOCKET'), constant('SO_REUSEADDR'), 1); });
    if (sock().listen(fd, 1024) !== 0) { const e = sock().errno(); sock().close(fd); throw addressError('listen', e, a); }
    return new TcpListener(fd);
  }

  /** Adopts a listening socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpListener { return new TcpListener(adoptFd(fd)); }

  /**
   * The next connection and its peer address, or null when none is pending (would block) or
   * accepting is paused for lack of fds (`acceptPaused`; see ListenerBase and the README).
   */
  accept(): [TcpStream, AddressInfo] | null {
    const fd = this.acceptRaw();
    return fd === null ? null : [TcpStream.fromConnected(fd), decodeAddr(scratch.addr)];
  }

  /** The bound address (getsockname(2)). */
  localAddr(): AddressInfo { this.name('getsockname'); return decodeAddr(scratch.addr); }
  /** IP_TTL for packets it sends (1 to 255). */
  setTtl(ttl: number): void { this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl)); }
  /** IP_TTL. */
  ttl(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL')); }
}

export function validTtl(ttl: unknown): number { return validInteger(ttl, 'ttl', 1, 255); }

/** A non-blocking TCP connection. */
export class TcpStream extends SocketBase {
  private target: ParsedAddr | null = null;
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
      throw addressError('connect', e, a);
    }
    const s = new TcpStream(fd);
    s.target = a;
    return s;
  }

  /** Adopts a connected socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpStream { return new TcpStream(adoptFd(fd)); }

  protected override errorFor(e: number): SystemError { return this.target ? addressError('connect', e, this.target) : systemError('getsockopt', e); }

  /**
   * Reads into `buf` (or its `offset`/`length` part): the byte count, 0 at end of stream, or null
   * when nothing is buffered (would block). A count smaller than asked means the socket was drained
   * for now (epoll(7)): the next event comes when more data arrives.
   */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null { return this.transfer('read', calls().recv, buf, offset, length, 0, STREAM_READ); }

  /** Writes from `buf` (or its `offset`/`length` part): the byte count (maybe short), or null when the send buffer is full. */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null { const k = calls(); return this.transfer('write', k.send, buf, offset, length, k.sendFlags, STREAM_WRITE); }

  /** Reads into several buffers in order (readv(2)). */
  readv(bufs: ArrayBufferView[]): number | null { return this.vectored('readv', bufs); }

  /** Writes several buffers in order (writev(2)). */
  writev(bufs: ArrayBufferView[]): number | null { return this.vectored('writev', bufs); }

  /** Reads without consuming (MSG_PEEK). */
  peek(buf: ArrayBufferView, offset?: number, length?: number): number | null { return this.transfer('recv', calls().recv, buf, offset, length, constant('MSG_PEEK'), PEEK); }

  /** Shuts down reading, writing or both (shutdown(2)). */
  shutdown(how: Shutdown): void { this.shutdownSocket(how); }
  /** The peer address (getpeername(2)); ENOTCONN until connected. */
  peerAddr(): AddressInfo { this.name('getpeername'); return decodeAddr(scratch.addr); }
  /** The local address (getsockname(2)). */
  localAddr(): AddressInfo { this.name('getsockname'); return decodeAddr(scratch.addr); }
  /** TCP_NODELAY: send small writes at once (no Nagle delay). */
  setNodelay(on: boolean): void { this.setOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY'), on ? 1 : 0); }
  /** TCP_NODELAY. */
  nodelay(): boolean { return this.intOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY')) !== 0; }
  /** IP_TTL for packets it sends (1 to 255). */
  setTtl(ttl: number): void { this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl)); }
  /** IP_TTL. */
  ttl(): number { return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL')); }

  /** `connect` target or peer, for messages. */
  override toString(): string {
    try { return `TcpStream(${formatAddr(this.localAddr())} -> ${formatAddr(this.peerAddr())})`; } catch { return `TcpStream(fd ${this.fd})`; }
  }
}
