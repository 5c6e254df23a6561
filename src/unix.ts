// metal-io/unix: SourceFd (register any fd) and non-blocking pipes.
import type { Token } from './token.js';
import type { Interest } from './interest.js';
import { Registry, selectorOf, type Source } from './poll.js';
import { OwnedFd } from './io-source.js';
import { validBuffer } from './net/socket.js';
import { makePipe, setNonblocking } from './sys/unix/fd.js';
import { fn, mod } from './sys/os.js';
import { describe } from './interest.js';


export { UnixListener, UnixStream, UnixDatagram, UnixSocketAddress } from './net/uds.js';

function unixOnly(what: string): void {
  if (mod.target.os === 'win32') throw Object.assign(new Error(`${what} is Unix-only; not available on ${mod.target.name}`), { code: 'ERR_METAL_IO_UNSUPPORTED' });
}

/**
 * Registers any file descriptor (mio's SourceFd). The fd stays the caller's: SourceFd neither
 * closes it nor tracks its registrations. On the poll(2) backend its readiness is level-triggered
 * (the library cannot see its would-block results to re-arm an edge).
 */
export class SourceFd implements Source {
  readonly fd: number;
  constructor(fd: number) {
    unixOnly('SourceFd');
    if (typeof fd !== 'number') throw new TypeError(`fd must be a number, got ${describe(fd)}`);
    if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`fd must be a non-negative integer, got ${fd}`);
    this.fd = fd;
  }
  register(registry: Registry, token: Token, interest: Interest): void { selectorOf(registry).register(this.fd, token, interest, false); }
  reregister(registry: Registry, token: Token, interest: Interest): void { selectorOf(registry).reregister(this.fd, token, interest); }
  deregister(registry: Registry): void { selectorOf(registry).deregister(this.fd); }
}

class PipeEnd extends OwnedFd {
  setNonblocking(nonblocking: boolean): void { setNonblocking(this.io.checkOpen('fcntl'), nonblocking); }

  /** Runs read(2)/write(2): the byte count, or null on would-block (re-armed). */
  protected transfer(syscall: 'read' | 'write', buf: Uint8Array): number | null {
    const b = validBuffer(buf);
    const fd = this.io.checkOpen(syscall);
    if (b.length === 0) return 0;
    const f = fn(syscall);
    for (;;) {
      const n = Number(f(fd, b, b.length));
      if (n >= 0) return n;
      if (!this.retry(syscall)) return null;
    }
  }
}

/** The write end of a pipe. */
export class Sender extends PipeEnd {
  constructor(fd: number) { super(fd, 'pipe sender'); }
  /** Bytes written, or null when the pipe is full (would block). */
  write(buf: Uint8Array): number | null { return this.transfer('write', buf); }
}

/** The read end of a pipe. */
export class Receiver extends PipeEnd {
  constructor(fd: number) { super(fd, 'pipe receiver'); }
  /** Bytes read into `buf`, 0 at end of stream, or null when nothing is buffered (would block). */
  read(buf: Uint8Array): number | null { return this.transfer('read', buf); }
}

/** A non-blocking, close-on-exec pipe (mio's unix::pipe::new): [Sender, Receiver]. */
export function pipe(): [Sender, Receiver] {
  unixOnly('pipe');
  const [r, w] = makePipe();
  return [new Sender(w), new Receiver(r)];
}


