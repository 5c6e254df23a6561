// Unix-domain sockets (mio's net::UnixListener / UnixStream / UnixDatagram) and their addresses.

import type { Server as NodeServer, Socket as NodeSocket } from 'node:net';
import { systemError } from '../errors.js';
import { DATAGRAM, ioOf, isOwnedFd, PEEK, STREAM_READ, STREAM_WRITE } from '../io-source.js';
import { copyBytes, putUint, zeroBytes } from '../sys/ffi.js';
import { sock } from '../sys/net.js';
import { constant, layout } from '../sys/os.js';
import { argTypeError, byteLength, bytesOf, describe, guardThis, invalidArg, outOfRange } from '../validators.js';
import { ListenerBase } from './listener.js';
import { takeFromNodeServer, takeFromNodeSocket } from './node.js';
import { adoptFd, newSocket, recvFromScratch, SEND_FLAGS, type Shutdown, SocketBase, scratch, sendToScratch } from './socket.js';
import { calls } from './tcp.js';

let isUnixAddr: (o: unknown) => boolean;

/** A Unix socket address: a filesystem path, an abstract name (Linux), or unnamed. */
export class UnixSocketAddress {
  // Private: an edited or forged address cannot make encode() copy other bytes or another length.
  readonly #kind: 'pathname' | 'abstract' | 'unnamed';
  readonly #bytes: Buffer;
  private constructor(kind: 'pathname' | 'abstract' | 'unnamed', bytes: Buffer) {
    this.#kind = kind;
    this.#bytes = bytes;
  }
  static {
    isUnixAddr = (o) => typeof o === 'object' && o !== null && #kind in o;
    guardThis(this, (o) => #kind in o);
  }

  /** An address naming a filesystem path (at most sun_path - 1 bytes, no NUL). */
  static fromPathname(path: string): UnixSocketAddress {
    if (typeof path !== 'string') throw invalidArg(`path must be a string, got ${describe(path)}`);
    const b = Buffer.from(path);
    if (b.length === 0) throw invalidArg('path must not be empty');
    if (b.includes(0)) throw invalidArg(`path must not contain NUL bytes: '${path}'`);
    if (b.length >= sunPathSize()) throw outOfRange(`path is ${b.length} bytes; a Unix socket path has at most ${sunPathSize() - 1}`);
    return new UnixSocketAddress('pathname', b);
  }

  /** An abstract-namespace name (Linux, Android): no file, gone with the socket. */
  static fromAbstractName(name: string | Uint8Array): UnixSocketAddress {
    let b: Buffer;
    if (typeof name === 'string') b = Buffer.from(name);
    else if (ArrayBuffer.isView(name)) {
      const src = bytesOf(name, 'name');
      b = Buffer.alloc(src.byteLength);
      b.set(src);
    } else throw argTypeError('name', 'of type string or an instance of Buffer, TypedArray, or DataView', name);
    if (b.length + 1 > sunPathSize()) throw outOfRange(`abstract name is ${b.length} bytes; at most ${sunPathSize() - 1}`);
    return new UnixSocketAddress('abstract', b);
  }

  /** @internal */ static unnamed(): UnixSocketAddress {
    return new UnixSocketAddress('unnamed', Buffer.alloc(0));
  }

  /** @internal Decodes a sockaddr_un of `len` bytes. */
  static decode(buf: Buffer, len: number): UnixSocketAddress {
    const off = pathOffset();
    if (len <= off) return UnixSocketAddress.unnamed();
    const path = buf.subarray(off, len);
    if (path[0] === 0) return new UnixSocketAddress('abstract', Buffer.from(path.subarray(1)));
    const nul = path.indexOf(0);
    const p = Buffer.from(nul >= 0 ? path.subarray(0, nul) : path);
    return p.length ? new UnixSocketAddress('pathname', p) : UnixSocketAddress.unnamed();
  }

  /** @internal Writes the sockaddr_un into scratch.addr; returns its length. */
  // Element writes only, and the byte count from the engine (byteLength): no Buffer or %TypedArray%
  // method or getter a caller could patch decides what the kernel is given.
  encode(): number {
    const l = layout('sockaddr_un');
    const b = scratch.addr;
    zeroBytes(b, 0, l.size);
    if (l.fields.sun_len) b[l.fields.sun_len.offset] = l.size;
    const fam = l.fields.sun_family!;
    putUint(b, fam.offset, constant('AF_UNIX'), fam.size, false);
    const off = pathOffset();
    const n = byteLength(this.#bytes);
    if (this.#kind === 'pathname') {
      copyBytes(b, off, this.#bytes, n);
      return off + n + 1;
    }
    if (this.#kind === 'abstract') {
      b[off] = 0;
      copyBytes(b, off + 1, this.#bytes, n);
      return off + 1 + n;
    }
    return off;
  }

  /** The path, or null for an abstract or unnamed address. */
  asPathname(): string | null {
    return this.#kind === 'pathname' ? this.#bytes.toString() : null;
  }
  /** The abstract name (a copy), or null. */
  asAbstractName(): Buffer | null {
    return this.#kind === 'abstract' ? Buffer.from(this.#bytes) : null;
  }
  /** Whether the socket has no address (an unbound or socketpair end). */
  isUnnamed(): boolean {
    return this.#kind === 'unnamed';
  }
  /** The path, `@name` for an abstract name, or `(unnamed)`. */
  toString(): string {
    return this.#kind === 'pathname' ? this.#bytes.toString() : this.#kind === 'abstract' ? `@${this.#bytes.toString()}` : '(unnamed)';
  }
}

function pathOffset(): number {
  return layout('sockaddr_un').fields.sun_path!.offset;
}
function sunPathSize(): number {
  return layout('sockaddr_un').fields.sun_path!.size;
}

function toAddr(a: unknown, what: string): UnixSocketAddress {
  if (isUnixAddr(a)) return a as UnixSocketAddress;
  if (typeof a === 'string') return UnixSocketAddress.fromPathname(a);
  throw invalidArg(`${what} must be a path string or a UnixSocketAddress, got ${describe(a)}`);
}

function unixSocket(type: number): number {
  return newSocket(constant('AF_UNIX'), type);
}

function bindUnix(type: number, a: UnixSocketAddress): number {
  const len = a.encode(); // before the socket exists: nothing to leak if it throws
  const fd = unixSocket(type);
  const api = sock();
  if (api.bind(fd, scratch.addr, len) === -1) {
    const e = api.errno();
    api.close(fd);
    throw systemError('bind', e, a.toString());
  }
  return fd;
}

/** socketpair(2), both ends non-blocking and close-on-exec. */
function pair(type: number): [number, number] {
  return sock().socketpair(type);
}

class UnixBase extends SocketBase {
  /** The bound address (getsockname(2)). */
  localAddr(): UnixSocketAddress {
    const len = this.name('getsockname');
    return UnixSocketAddress.decode(scratch.addr, len);
  }
  /** The peer address (getpeername(2)). */
  peerAddr(): UnixSocketAddress {
    const len = this.name('getpeername');
    return UnixSocketAddress.decode(scratch.addr, len);
  }
  /** Shuts down reading, writing or both (shutdown(2)). */
  shutdown(how: Shutdown): void {
    this.shutdownSocket(how);
  }
}

/** A Unix stream socket listening for connections. */
export class UnixListener extends ListenerBase {
  private constructor(fd: number) {
    super(fd, 'UnixListener');
  }
  static override bind(path: string): UnixListener {
    return UnixListener.bindAddr(UnixSocketAddress.fromPathname(path));
  }
  /** Binds to `addr` (a path or an abstract name) and listens. */
  static bindAddr(addr: UnixSocketAddress): UnixListener {
    const fd = bindUnix(constant('SOCK_STREAM'), toAddr(addr, 'addr'));
    const api = sock();
    if (api.listen(fd, 1024) === -1) {
      const e = api.errno();
      api.close(fd);
      throw systemError('listen', e, addr.toString());
    }
    return new UnixListener(fd);
  }
  /** Adopts a listening Unix socket fd (made non-blocking); the listener then owns it. */
  static fromFd(fd: number): UnixListener {
    return new UnixListener(adoptFd(fd));
  }
  /** Takes over a listening node:net Server on a Unix socket (fd duplicated, Server closed). */
  static fromNodeServer(server: NodeServer): UnixListener {
    return UnixListener.fromFd(takeFromNodeServer(server));
  }

  /** The next connection and its address, or null: none pending (would block) or paused for lack of fds (`acceptPaused`). */
  accept(): [UnixStream, UnixSocketAddress] | null {
    const fd = this.acceptRaw();
    return fd === null ? null : [UnixStream.adopt(fd), UnixSocketAddress.decode(scratch.addr, scratch.len[0]!)];
  }
  /** The bound address (getsockname(2)). */
  localAddr(): UnixSocketAddress {
    const len = this.name('getsockname');
    return UnixSocketAddress.decode(scratch.addr, len);
  }
}

/** A connected Unix stream socket. */
export class UnixStream extends UnixBase {
  private constructor(fd: number) {
    super(fd, 'UnixStream');
  }
  /** @internal */ static adopt(fd: number): UnixStream {
    return new UnixStream(fd);
  }
  /** Starts connecting to the socket at `path` (register for WRITABLE to learn the outcome). */
  static connect(path: string): UnixStream {
    return UnixStream.connectAddr(UnixSocketAddress.fromPathname(path));
  }
  /** Starts connecting to `addr` (a path or an abstract name). */
  static connectAddr(addr: UnixSocketAddress): UnixStream {
    const a = toAddr(addr, 'addr');
    const len = a.encode(); // before the socket exists: nothing to leak if it throws
    const fd = unixSocket(constant('SOCK_STREAM'));
    const api = sock();
    for (;;) {
      if (api.connect(fd, scratch.addr, len) === 0) break;
      const e = api.errno();
      if (e === api.EINTR) continue;
      if (e === api.EINPROGRESS || e === api.EAGAIN) break;
      api.close(fd);
      throw systemError('connect', e, a.toString());
    }
    return new UnixStream(fd);
  }
  /** A connected pair (socketpair(2)), non-blocking and close-on-exec. */
  static pair(): [UnixStream, UnixStream] {
    const [a, b] = pair(constant('SOCK_STREAM'));
    return [new UnixStream(a), new UnixStream(b)];
  }
  /** Adopts a connected Unix stream fd (made non-blocking); the stream then owns it. */
  static fromFd(fd: number): UnixStream {
    return new UnixStream(adoptFd(fd));
  }
  /** Takes over a connected node:net Socket on a Unix socket (as TcpStream.fromNodeSocket). */
  static fromNodeSocket(socket: NodeSocket): UnixStream {
    return UnixStream.fromFd(takeFromNodeSocket(socket));
  }
  /** Hands the stream to node:net: a `net.Socket` on the same fd, Node's now; this object is left closed. */
  intoNodeSocket(): NodeSocket {
    return this.handToNode();
  }

  /** Reads into `buf` (or its `offset`/`length` part): bytes read, 0 at end of stream, or null on would-block. */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('read', calls().recv, buf, offset, length, 0, STREAM_READ);
  }
  /** Writes `buf` (or its `offset`/`length` part): bytes written (maybe short), or null on would-block. */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    const k = calls();
    return this.transfer('write', k.send, buf, offset, length, k.sendFlags, STREAM_WRITE);
  }
  /** Reads without consuming (MSG_PEEK). */
  peek(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('recv', calls().recv, buf, offset, length, constant('MSG_PEEK'), PEEK);
  }
  /** Reads into several buffers in order (readv(2)). */
  readv(bufs: ArrayBufferView[]): number | null {
    return this.vectored('readv', bufs);
  }
  /** Writes several buffers in order (writev(2)). */
  writev(bufs: ArrayBufferView[]): number | null {
    return this.vectored('writev', bufs);
  }
}

/** A Unix datagram socket. */
export class UnixDatagram extends UnixBase {
  private constructor(fd: number) {
    super(fd, 'UnixDatagram');
  }
  static override bind(path: string): UnixDatagram {
    return UnixDatagram.bindAddr(UnixSocketAddress.fromPathname(path));
  }
  /** Binds to `addr` (a path or an abstract name). */
  static bindAddr(addr: UnixSocketAddress): UnixDatagram {
    return new UnixDatagram(bindUnix(constant('SOCK_DGRAM'), toAddr(addr, 'addr')));
  }
  /** A socket bound to no address (it can send, and receive replies once connected). */
  static unbound(): UnixDatagram {
    return new UnixDatagram(unixSocket(constant('SOCK_DGRAM')));
  }
  /** A connected pair (socketpair(2)), non-blocking and close-on-exec. */
  static pair(): [UnixDatagram, UnixDatagram] {
    const [a, b] = pair(constant('SOCK_DGRAM'));
    return [new UnixDatagram(a), new UnixDatagram(b)];
  }
  /** Adopts a Unix datagram socket fd (made non-blocking); the socket then owns it. */
  static fromFd(fd: number): UnixDatagram {
    return new UnixDatagram(adoptFd(fd));
  }

  /** Sets the default peer: send/recv then talk to it only. */
  connect(path: string | UnixSocketAddress): void {
    const a = toAddr(path, 'path');
    const len = a.encode();
    if (sock().connect(ioOf(this).checkOpen('connect'), scratch.addr, len) === -1)
      throw systemError('connect', sock().errno(), a.toString());
  }
  /** Sends one datagram (`buf`, or its `offset`/`length` part) to `path`: bytes sent, or null on would-block. */
  sendTo(buf: ArrayBufferView, path: string | UnixSocketAddress, offset?: number, length?: number): number | null {
    const a = toAddr(path, 'path');
    sendToScratch.len = a.encode();
    return this.transfer('sendto', sendToScratch.call, buf, offset, length, SEND_FLAGS(), DATAGRAM);
  }
  /** Receives one datagram: [bytes, sender], or null when none is queued. */
  recvFrom(buf: ArrayBufferView, offset?: number, length?: number): [number, UnixSocketAddress] | null {
    const n = this.transfer('recvfrom', recvFromScratch, buf, offset, length, 0, DATAGRAM);
    return n === null ? null : [n, UnixSocketAddress.decode(scratch.addr, scratch.len[0]!)];
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
}

guardThis(UnixBase, isOwnedFd, 'UnixStream or UnixDatagram');
guardThis(UnixListener, isOwnedFd);
guardThis(UnixStream, isOwnedFd);
guardThis(UnixDatagram, isOwnedFd);
