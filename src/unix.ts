// metal-io/unix: SourceFd (register any fd) and non-blocking pipes.

import { type Interest, validInterest } from './interest.js';
import { ioOf, isOwnedFd, OwnedFd, STREAM_READ, STREAM_WRITE, type TransferFn } from './io-source.js';
import { dropEvents, type Registry, type Source, selectorOf } from './poll.js';
import { fn, needFds } from './sys/os.js';
import type { Selector } from './sys/selector.js';
import { closeFd, fdErrs, makePipe, setNonblocking } from './sys/unix/fd.js';
import { type Token, validToken } from './token.js';
import { guardThis, validBoolean, validFd } from './validators.js';

export { UnixDatagram, UnixListener, UnixSocketAddress, UnixStream } from './net/uds.js';

/**
 * Registers any file descriptor (mio's SourceFd). The fd stays the caller's: SourceFd neither
 * closes it nor tracks its registrations. On the poll(2) backend its readiness is level-triggered
 * (the library cannot see its would-block results to re-arm an edge).
 */
export class SourceFd implements Source {
  /** The fd (the caller's: SourceFd never closes it). */
  readonly fd: number;
  /** The token it has with each Poll, so that deregistering drops its events still pending there. */
  readonly #tokens = new WeakMap<Selector, Token>();
  static {
    guardThis(this, (o) => #tokens in o);
  }
  /** A Source for any fd: `new SourceFd(fd)` registers it as it is (mio's SourceFd). */
  constructor(fd: number) {
    needFds('SourceFd');
    this.fd = validFd(fd);
  }
  /** Source: starts delivering `interest` readiness of the fd as events with `token`. */
  register(registry: Registry, token: Token, interest: Interest): void {
    token = validToken(token);
    interest = validInterest(interest);
    const sel = selectorOf(registry);
    sel.register(this.fd, token, interest, false);
    this.#tokens.set(sel, token);
  }
  /** Source: changes token and interest. */
  reregister(registry: Registry, token: Token, interest: Interest): void {
    token = validToken(token);
    interest = validInterest(interest);
    const sel = selectorOf(registry);
    sel.reregister(this.fd, token, interest);
    const old = this.#tokens.get(sel);
    if (old !== undefined && old !== token) dropEvents(sel, old);
    this.#tokens.set(sel, token);
  }
  /** Source: stops delivering events for the fd (its events still pending in an Events are dropped). */
  deregister(registry: Registry): void {
    const sel = selectorOf(registry);
    sel.deregister(this.fd);
    const old = this.#tokens.get(sel);
    if (old !== undefined) {
      dropEvents(sel, old);
      this.#tokens.delete(sel);
    }
  }
}

class PipeEnd extends OwnedFd {
  constructor(fd: number, what: string) {
    super(fd, what, closeFd);
  }
  protected override errs() {
    return fdErrs;
  }
  /** O_NONBLOCK on or off (pipe() makes it on; blocking reads and writes hang a Poll loop). */
  setNonblocking(nonblocking: boolean): void {
    setNonblocking(ioOf(this).checkOpen('fcntl'), validBoolean(nonblocking, 'nonblocking'));
  }
}

// read(2) and write(2) as transfer calls, bound on first use.
let rw: { read: TransferFn; write: TransferFn } | null = null;
function pipeCalls() {
  if (rw) return rw;
  const read = fn('read');
  const write = fn('write');
  return (rw = { read: (fd, b, n) => Number(read(fd, b, n)), write: (fd, b, n) => Number(write(fd, b, n)) });
}

/** The write end of a pipe. */
export class Sender extends PipeEnd {
  /** Adopts the write end of a pipe; the Sender then owns the fd. */
  constructor(fd: number) {
    super(validFd(fd), 'pipe sender');
  }
  /** Bytes written from `buf` (or its `offset`/`length` part), or null when the pipe is full (would block). */
  write(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('write', pipeCalls().write, buf, offset, length, 0, STREAM_WRITE);
  }
}

/** The read end of a pipe. */
export class Receiver extends PipeEnd {
  /** Adopts the read end of a pipe; the Receiver then owns the fd. */
  constructor(fd: number) {
    super(validFd(fd), 'pipe receiver');
  }
  /** Bytes read into `buf` (or its `offset`/`length` part), 0 at end of stream, or null when nothing is buffered (would block). */
  read(buf: ArrayBufferView, offset?: number, length?: number): number | null {
    return this.transfer('read', pipeCalls().read, buf, offset, length, 0, STREAM_READ);
  }
}

/** A non-blocking, close-on-exec pipe (mio's unix::pipe::new): [Sender, Receiver]. */
export function pipe(): [Sender, Receiver] {
  needFds('pipe');
  const [r, w] = makePipe();
  return [new Sender(w), new Receiver(r)];
}

guardThis(PipeEnd, isOwnedFd, 'Sender or Receiver');
guardThis(Sender, isOwnedFd);
guardThis(Receiver, isOwnedFd);
