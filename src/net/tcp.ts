// TcpListener and TcpStream (mio's net::TcpListener / net::TcpStream).

import type { Server as NodeServer, Socket as NodeSocket } from 'node:net';
import { addressError, errorByName, type SystemError, systemError } from '../errors.js';
import { envFaults, FAULTS } from '../faults.js';
import { isOwnedFd, PEEK, STREAM_READ, STREAM_WRITE, type TransferFn } from '../io-source.js';
import { sock } from '../sys/net.js';
import { constant, mod } from '../sys/os.js';
import { unsupportedError } from '../sys/unsupported.js';
import { argTypeError, guardThis, validBoolean, validInteger } from '../validators.js';
import { type AddressInfo, decodeAddr, encodeAddr, formatAddr, type ParsedAddr, parseAddr, type SocketAddr } from './addr.js';
import { ListenerBase } from './listener.js';
import { takeFromNodeServer, takeFromNodeSocket } from './node.js';
import { adoptFd, newSocket, SEND_FLAGS, type Shutdown, SocketBase, scratch, setIntOpt } from './socket.js';

// The hot calls, bound once (lazily: importing this module binds nothing).
let hot: { recv: TransferFn; send: TransferFn; sendFlags: number } | null = null;
export function calls() {
  return (hot ??= { recv: sock().recv, send: sock().send, sendFlags: SEND_FLAGS() });
}

/** The idle-time option: TCP_KEEPIDLE, or TCP_KEEPALIVE on macOS. */
function keepIdle(): number {
  return mod.constants.TCP_KEEPIDLE ?? constant('TCP_KEEPALIVE');
}

function family(a: ParsedAddr): number {
  return a.v6 ? constant('AF_INET6') : constant('AF_INET');
}

/** Fault injection's refused connect: a loopback address of `a`'s family where nothing listens (a port just bound and let go). */
function refusingAddr(a: ParsedAddr): ParsedAddr {
  const host = a.v6 ? '[::1]' : '127.0.0.1';
  const l = TcpListener.bind(`${host}:0`);
  const port = l.localAddr().port;
  l.close();
  return parseAddr(`${host}:${port}`);
}

/** A socket bound to `a`: creates, runs `prepare`, binds; closes the fd on any failure. */
export function boundSocket(a: ParsedAddr, type: number, prepare: (fd: number) => void): number {
  const fd = newSocket(family(a), type);
  try {
    prepare(fd);
    const len = encodeAddr(a, scratch.addr);
    if (sock().bind(fd, scratch.addr, len) !== 0) throw addressError('bind', sock().errno(), a);
    return fd;
  } catch (e) {
    sock().close(fd);
    throw e;
  }
}

/** A TCP socket listening for connections. */
export class TcpListener extends ListenerBase {
  private constructor(fd: number) {
    super(fd, 'TcpListener');
  }

  /** Binds and listens, non-blocking (SO_REUSEADDR on Unix; `backlog` 1024 unless given; `reusePort`, `onlyV6`). `bind EADDRINUSE 127.0.0.1:80` on failure. */
  static override bind(addr: SocketAddr, options?: BindOptions & { backlog?: number }): TcpListener {
    const a = parseAddr(addr);
    const o = bindOptions(options);
    const backlog = options?.backlog === undefined ? 1024 : validInteger(options.backlog, 'options.backlog', 0, 0x7fffffff);
    // SO_REUSEADDR on Unix (rebind while old connections linger); not on Windows, where it would let
    // another socket steal the port (mio does the same).
    const fd = boundSocket(a, constant('SOCK_STREAM'), (s) => {
      if (sock().reuseAddrForListeners) setIntOpt(s, constant('SOL_SOCKET'), constant('SO_REUSEADDR'), 1);
      applyBindOptions(s, a, o);
    });
    if (sock().listen(fd, backlog) !== 0) {
      const e = sock().errno();
      sock().close(fd);
      throw addressError('listen', e, a);
    }
    return new TcpListener(fd);
  }

  /** Adopts a listening socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpListener {
    return new TcpListener(adoptFd(fd));
  }

  /**
   * Takes over a listening node:net Server: its fd is duplicated, the Server closed (Node stops
   * accepting), and the listener returned owns the duplicate. Unix only.
   */
  static fromNodeServer(server: NodeServer): TcpListener {
    return TcpListener.fromFd(takeFromNodeServer(server));
  }

  /**
   * The next connection and its peer address, or null when none is pending (would block) or
   * accepting is paused for lack of fds (`acceptPaused`; see ListenerBase and the README).
   */
  accept(): [TcpStream, AddressInfo] | null {
    const fd = this.acceptRaw();
    return fd === null ? null : [TcpStream.fromConnected(fd), decodeAddr(scratch.addr)];
  }

  /** The bound address (getsockname(2)). */
  localAddr(): AddressInfo {
    this.name('getsockname');
    return decodeAddr(scratch.addr);
  }
  /** IP_TTL for packets it sends (1 to 255). */
  setTtl(ttl: number): void {
    this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl));
  }
  /** IP_TTL. */
  ttl(): number {
    return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL'));
  }
}

export function validTtl(ttl: unknown): number {
  return validInteger(ttl, 'ttl', 1, 255);
}

/** Options every `bind` takes. */
export interface BindOptions {
  /** SO_REUSEPORT: several sockets (in this or other processes) bind the same address and the kernel spreads connections or datagrams among them (Unix). */
  reusePort?: boolean;
  /** IPV6_V6ONLY for an IPv6 address: true, IPv6 only; false, IPv4-mapped too; omitted: the OS default. */
  onlyV6?: boolean;
}

export function bindOptions(o: unknown): { reusePort: boolean; onlyV6: boolean | undefined } {
  if (o === undefined) return { reusePort: false, onlyV6: undefined };
  if (typeof o !== 'object' || o === null) throw argTypeError('options', 'an object', o);
  const { reusePort, onlyV6 } = o as BindOptions;
  return {
    reusePort: reusePort === undefined ? false : validBoolean(reusePort, 'options.reusePort'),
    onlyV6: onlyV6 === undefined ? undefined : validBoolean(onlyV6, 'options.onlyV6'),
  };
}

/** Sets the bind options on `s` before bind(2). */
export function applyBindOptions(s: number, a: ParsedAddr, o: { reusePort: boolean; onlyV6: boolean | undefined }): void {
  if (o.reusePort) {
    if (mod.constants.SO_REUSEPORT === undefined)
      throw unsupportedError(`metal-io: reusePort (SO_REUSEPORT) is not available on ${mod.target.name}`);
    setIntOpt(s, constant('SOL_SOCKET'), mod.constants.SO_REUSEPORT, 1);
  }
  if (o.onlyV6 !== undefined && a.v6) setIntOpt(s, constant('IPPROTO_IPV6'), constant('IPV6_V6ONLY'), o.onlyV6 ? 1 : 0);
}

/** A non-blocking TCP connection. */
export class TcpStream extends SocketBase {
  private target: ParsedAddr | null = null;
  private constructor(fd: number) {
    super(fd, 'TcpStream');
  }

  /** @internal An accepted connection. */
  static fromConnected(fd: number): TcpStream {
    return new TcpStream(fd);
  }

  /**
   * Starts connecting, without waiting: register for WRITABLE; when the event comes, `takeError()`
   * (`connect ECONNREFUSED 127.0.0.1:9`) or `peerAddr()` tells whether it worked.
   */
  static connect(addr: SocketAddr): TcpStream {
    const a = parseAddr(addr);
    // Fault injection (METAL_IO_FAULTS=...,connect=<n> or refuse=<n>): the chosen connect fails to
    // get a socket, or is sent to a loopback port nobody listens on, where the kernel refuses it.
    const fault = FAULTS.on && envFaults !== null ? envFaults.onConnect() : null;
    if (fault !== null && fault !== 'refuse') throw errorByName('socket', fault, 'injected by fault injection (METAL_IO_FAULTS)');
    const len = encodeAddr(fault === 'refuse' ? refusingAddr(a) : a, scratch.addr); // before the socket exists: nothing to leak if it throws
    const fd = newSocket(family(a), constant('SOCK_STREAM'));
    const api = sock();
    for (;;) {
      if (api.connect(fd, scratch.addr, len) === 0) break;
      const e = api.errno();
      if (e === api.EINTR) continue;
      if (e === api.EINPROGRESS) break;
      api.close(fd);
      throw addressError('connect', e, a);
    }
    let s: TcpStream;
    try {
      s = new TcpStream(fd);
    } catch (e) {
      api.close(fd);
      throw e;
    }
    s.target = a;
    return s;
  }

  /** Adopts a connected socket's fd (made non-blocking). */
  static fromFd(fd: number): TcpStream {
    return new TcpStream(adoptFd(fd));
  }

  protected override errorFor(e: number): SystemError {
    return this.target ? addressError('connect', e, this.target) : systemError('getsockopt', e);
  }

  /**
   * Reads into `buf` (or its `offset`/`length` part): the byte count, 0 at end of stream, or null
   * when nothing is buffered (would block). A count smaller than asked means the socket was drained
   * for now (epoll(7)): the next event comes when more data arrives.
   */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('read', calls().recv, buf, offset, length, 0, STREAM_READ);
  }

  /** Writes from `buf` (or its `offset`/`length` part): the byte count (maybe short), or null when the send buffer is full. */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const k = calls();
    return this.transfer('write', k.send, buf, offset, length, k.sendFlags, STREAM_WRITE);
  }

  /**
   * Takes over a connected node:net Socket (mio's from_std for Node): paused, checked to hold no
   * unread or unwritten bytes (else ERR_INVALID_STATE: read them, or wait for 'drain'), its fd
   * duplicated, the Socket destroyed (closing only Node's copy: no double close, no 'error'). Unix only.
   */
  static fromNodeSocket(socket: NodeSocket): TcpStream {
    return TcpStream.fromFd(takeFromNodeSocket(socket));
  }

  /** Hands the stream to node:net: a `net.Socket` on the same fd, Node's now; this object is left closed. Unix only. */
  intoNodeSocket(): NodeSocket {
    return this.handToNode();
  }

  /** Reads into several buffers in order (readv(2)). */
  readv(bufs: ArrayBufferView[]): number | null {
    return this.vectored('readv', bufs);
  }

  /** Writes several buffers in order (writev(2)). */
  writev(bufs: ArrayBufferView[]): number | null {
    return this.vectored('writev', bufs);
  }

  /** Reads without consuming (MSG_PEEK). */
  peek(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('recv', calls().recv, buf, offset, length, constant('MSG_PEEK'), PEEK);
  }

  /** Shuts down reading, writing or both (shutdown(2)). */
  shutdown(how: Shutdown): void {
    this.shutdownSocket(how);
  }
  /** The peer address (getpeername(2)); ENOTCONN until connected. */
  peerAddr(): AddressInfo {
    this.name('getpeername');
    return decodeAddr(scratch.addr);
  }
  /** The local address (getsockname(2)). */
  localAddr(): AddressInfo {
    this.name('getsockname');
    return decodeAddr(scratch.addr);
  }
  /** TCP_NODELAY: send small writes at once (no Nagle delay). */
  setNodelay(on: boolean): void {
    this.setOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY'), on ? 1 : 0);
  }
  /** TCP_NODELAY. */
  nodelay(): boolean {
    return this.intOpt(constant('IPPROTO_TCP'), constant('TCP_NODELAY')) !== 0;
  }
  /** IP_TTL for packets it sends (1 to 255). */
  setTtl(ttl: number): void {
    this.setOpt(constant('IPPROTO_IP'), constant('IP_TTL'), validTtl(ttl));
  }
  /** IP_TTL. */
  ttl(): number {
    return this.intOpt(constant('IPPROTO_IP'), constant('IP_TTL'));
  }

  /** SO_KEEPALIVE: probe an idle connection so a dead peer is noticed. */
  setKeepalive(on: boolean): void {
    this.setOpt(constant('SOL_SOCKET'), constant('SO_KEEPALIVE'), validBoolean(on, 'on') ? 1 : 0);
  }
  /** SO_KEEPALIVE. */
  keepalive(): boolean {
    return this.intOpt(constant('SOL_SOCKET'), constant('SO_KEEPALIVE')) !== 0;
  }

  /**
   * Turns keepalive on and tunes it (socket2's TcpKeepalive): `time`, idle milliseconds before the
   * first probe; `interval`, milliseconds between probes; `retries`, probes before the connection
   * is dropped. Times are kept in whole seconds (rounded up). Each field where the OS has it
   * (Linux, Android, FreeBSD, macOS); ERR_METAL_IO_UNSUPPORTED elsewhere.
   */
  setTcpKeepalive(k: { time?: number; interval?: number; retries?: number }): void {
    if (typeof k !== 'object' || k === null) throw argTypeError('keepalive', 'an object', k);
    const secs = (v: unknown, n: string) => Math.ceil(validInteger(v, n, 1, 0x7fffffff) / 1000);
    const { time, interval, retries } = k;
    const t = time === undefined ? undefined : secs(time, 'keepalive.time');
    const i = interval === undefined ? undefined : secs(interval, 'keepalive.interval');
    const r = retries === undefined ? undefined : validInteger(retries, 'keepalive.retries', 1, 0x7fffffff);
    this.setKeepalive(true);
    if (t !== undefined) this.setOpt(constant('IPPROTO_TCP'), keepIdle(), t);
    if (i !== undefined) this.setOpt(constant('IPPROTO_TCP'), constant('TCP_KEEPINTVL'), i);
    if (r !== undefined) this.setOpt(constant('IPPROTO_TCP'), constant('TCP_KEEPCNT'), r);
  }
  /** Idle milliseconds before the first keepalive probe. */
  keepaliveTime(): number {
    return this.intOpt(constant('IPPROTO_TCP'), keepIdle()) * 1000;
  }
  /** Milliseconds between keepalive probes. */
  keepaliveInterval(): number {
    return this.intOpt(constant('IPPROTO_TCP'), constant('TCP_KEEPINTVL')) * 1000;
  }
  /** Keepalive probes before the connection is dropped. */
  keepaliveRetries(): number {
    return this.intOpt(constant('IPPROTO_TCP'), constant('TCP_KEEPCNT'));
  }

  /** `connect` target or peer, for messages. */
  override toString(): string {
    try {
      return `TcpStream(${formatAddr(this.localAddr())} -> ${formatAddr(this.peerAddr())})`;
    } catch {
      return `TcpStream(fd ${this.fd})`;
    }
  }
}

guardThis(TcpListener, isOwnedFd);
guardThis(TcpStream, isOwnedFd);
