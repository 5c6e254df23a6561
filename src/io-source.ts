// IoSource: the registration state of an fd the library owns (sockets, pipes). It remembers which
// Poll it is registered with, so registering with a second Poll is EEXIST and reregister/deregister
// from the wrong one is ENOENT; it re-arms the backend after would-block (poll(2) edge emulation);
// and close() deregisters before closing so no event is delivered for a closed fd, not even one
// already waiting in an Events (dropEvents). A source paused until a time (a listener out of fds)
// asks its Poll for a readable event then (retryAt), and any close makes such retries due at once.

import { CHECK, Misuse, misuse } from './check.js';
import { debug } from './debug.js';
import { errorByName, systemError } from './errors.js';
import { envFaults, FAULTS, type Faults, IoFault } from './faults.js';
import { closeOnCollect, forget, type Reapable } from './finalizer.js';
import { Interest, validInterest } from './interest.js';
import {
  cancelReadyAt,
  checkModeOf,
  dropEvents,
  faultsOf,
  noteDrained,
  noteEof,
  noteRegistration,
  noteWriteBlocked,
  owedAt,
  type Registry,
  readyAt,
  retryAllNow,
  type Source,
  selectorOf,
} from './poll.js';
import { mod } from './sys/os.js';
import type { Selector } from './sys/selector.js';
import { type Token, validToken } from './token.js';
import { guardThis, invalidThis, span } from './validators.js';

export class IoSource implements Source, Reapable {
  #fd: number;
  #selector: Selector | null = null;
  #interest: Interest = 0;
  #token: Token = 0;
  #retryAt = -1; // performance.now() ms when a paused operation is worth retrying; -1: not paused
  #faultKey: object | null = null; // the key of the events fault injection owes this source

  constructor(
    fd: number,
    private readonly what: string,
    private readonly closer: (fd: number) => void,
  ) {
    this.#fd = fd;
  }

  get fd(): number {
    return this.#fd;
  }
  get closed(): boolean {
    return this.#fd < 0;
  }
  /** Reapable: the fd it owns (a thread that outlives this one may close it). */
  get ownedFds(): number[] {
    return this.#fd < 0 ? [] : [this.#fd];
  }

  /** Throws EBADF when closed; returns the fd otherwise. */
  checkOpen(syscall: string): number {
    if (this.#fd < 0) throw errorByName(syscall, 'EBADF', `the ${this.what} is closed`);
    return this.#fd;
  }

  register(registry: Registry, token: Token, interest: Interest): void {
    // A Source's own method is an entry point too (a caller may skip the Registry): arguments first.
    token = validToken(token);
    interest = validInterest(interest);
    const fd = this.checkOpen('register');
    const sel = selectorOf(registry);
    if (this.#selector && !this.#selector.closed)
      throw errorByName(
        'register',
        'EEXIST',
        `the ${this.what} is already registered${this.#selector === sel ? '' : ' with another Poll'}`,
      );
    sel.register(fd, token, interest, true);
    this.#selector = sel;
    this.#interest = interest;
    this.#token = token;
    if (this.#retryAt >= 0) readyAt(sel, this, token, this.#retryAt);
    if (FAULTS.on || CHECK.on)
      noteRegistration(sel, this, token, interest & (Interest.READABLE | Interest.WRITABLE), `${this.what} fd ${fd}`);
    if (debug.enabled) debug('register %s fd %d token %d %s', this.what, fd, token, Interest.format(interest));
  }

  reregister(registry: Registry, token: Token, interest: Interest): void {
    token = validToken(token);
    interest = validInterest(interest);
    const fd = this.checkOpen('reregister');
    const sel = this.#own(registry, 'reregister');
    sel.reregister(fd, token, interest);
    this.#interest = interest;
    // Events already waiting under the old token would reach whatever source gets it next.
    if (token !== this.#token) {
      dropEvents(sel, this.#token);
      this.#token = token;
    }
    if (this.#retryAt >= 0) readyAt(sel, this, token, this.#retryAt);
    if (FAULTS.on || CHECK.on) {
      noteRegistration(sel, this, token, interest & (Interest.READABLE | Interest.WRITABLE), `${this.what} fd ${fd}`);
      noteDrained(sel, this);
    }
    if (debug.enabled) debug('reregister %s fd %d token %d %s', this.what, fd, token, Interest.format(interest));
  }

  deregister(registry: Registry): void {
    const fd = this.checkOpen('deregister');
    const sel = this.#own(registry, 'deregister');
    if (CHECK.on && this.#retryAt >= 0)
      misuse(
        checkModeOf(sel),
        this,
        Misuse.PAUSED_DROPPED,
        `token ${this.#token}: a listener paused by fd exhaustion (EMFILE) was deregistered; its retry will not be reported, so it accepts nothing until it is registered again (close it if it is done)`,
      );
    this.#selector = null;
    sel.deregister(fd);
    this.#forget(sel);
    if (debug.enabled) debug('deregister %s fd %d', this.what, fd);
  }

  #own(registry: Registry, syscall: string): Selector {
    const sel = selectorOf(registry);
    if (this.#selector !== sel || sel.closed) throw errorByName(syscall, 'ENOENT', `the ${this.what} is not registered with this Poll`);
    return sel;
  }

  /** Drops this source's pending events and retry from `sel`'s Poll. */
  #forget(sel: Selector): void {
    dropEvents(sel, this.#token);
    if (this.#retryAt >= 0) cancelReadyAt(sel, this);
    if (FAULTS.on || CHECK.on) {
      noteRegistration(sel, this, 0, null);
      if (this.#faultKey !== null) cancelReadyAt(sel, this.#faultKey);
    }
  }

  /** The fault plan in force for this source: its Poll's, else METAL_IO_FAULTS's; null when none. */
  faults(): Faults | null {
    const sel = this.#selector;
    return sel !== null ? faultsOf(sel) : envFaults;
  }

  /**
   * After an injected would-block or short count: the event the kernel would have given for what
   * is still there (`interest`'s readiness, on the next poll), so that no correct program hangs.
   */
  faultReady(interest: Interest): void {
    const sel = this.#selector;
    const flags = interest & this.#interest & (Interest.READABLE | Interest.WRITABLE);
    if (sel !== null && !sel.closed && flags !== 0) owedAt(sel, this, (this.#faultKey ??= {}), this.#token, flags);
  }

  /** performance.now() ms when the paused operation is worth retrying; -1 when not paused. */
  get retryAt(): number {
    return this.#retryAt;
  }

  /**
   * Pauses until `at` (performance.now() ms): the Poll reports this source readable then, or
   * sooner once any fd is closed; -1 ends the pause.
   */
  pauseUntil(at: number): void {
    const sel = this.#selector;
    if (at < 0) {
      if (this.#retryAt < 0) return;
      this.#retryAt = -1;
      paused.delete(this);
      if (sel !== null) cancelReadyAt(sel, this);
      return;
    }
    this.#retryAt = at;
    paused.add(this);
    if (sel !== null && !sel.closed) readyAt(sel, this, this.#token, at);
  }

  /** Call after an operation reported would-block: the backend watches the interest again. */
  wouldBlock(): void {
    const sel = this.#selector;
    if (sel !== null && !sel.closed) {
      sel.rearm(this.#fd, this.#interest);
      if (CHECK.on) noteDrained(sel, this);
    }
  }

  /** The misuse detector: the operation stopped for a reason other than would-block that still counts as done (a paused listener). */
  settled(): void {
    const sel = this.#selector;
    if (CHECK.on && sel !== null) noteDrained(sel, this);
  }

  /** The misuse detector: a stream read returned 0. */
  sawEof(): void {
    const sel = this.#selector;
    if (sel !== null) noteEof(sel, this);
  }

  /** The misuse detector: a write would-block; by the next wait the source must ask for WRITABLE. */
  writeWouldBlock(): void {
    const sel = this.#selector;
    if (sel !== null) noteWriteBlocked(sel, this);
  }

  /** The misuse detector: EBADF on an fd this object still owns. */
  closedBehind(syscall: string): void {
    misuse(
      checkModeOf(this.#selector),
      this,
      Misuse.CLOSED_BEHIND,
      `${syscall} on ${this.what} fd ${this.#fd} failed with EBADF: the fd was closed behind metal-io's back (close it through the object, or hand it away with intoRawFd())`,
    );
  }

  /** Deregisters (if registered) and closes the fd. Closing twice is harmless. */
  close(): void {
    const fd = this.release();
    if (fd < 0) return;
    this.closer(fd);
    if (paused.size !== 0) retryNow();
  }

  /** Deregisters (if registered) and gives up the fd without closing it: -1 when already closed. */
  release(): number {
    const fd = this.#fd;
    if (fd < 0) return -1;
    this.#fd = -1;
    forget(this);
    const sel = this.#selector;
    this.#selector = null;
    if (sel && !sel.closed) {
      try {
        sel.deregister(fd);
      } catch {
        /* the OS dropped it already */
      }
      this.#forget(sel);
    }
    if (this.#retryAt >= 0) {
      this.#retryAt = -1;
      paused.delete(this);
    }
    return fd;
  }

  /** An fd was freed: every paused source of this thread is worth retrying now. */
  static retryNow(): void {
    freed++;
    const now = performance.now();
    for (const s of paused) s.#retryAt = now;
    retryAllNow();
  }

  describe(): string {
    return `${this.what} fd ${this.#fd}`;
  }
}

/** The sources of this thread paused until a time (IoSource.pauseUntil). */
const paused = new Set<IoSource>();
let freed = 0;
/** How many times an fd was closed by this thread while some source was paused (a paused listener's shedding clock restarts). */
export function fdsFreed(): number {
  return freed;
}
const retryNow = (): void => IoSource.retryNow();

let getIo: (o: unknown, type: string) => IoSource;
/** Whether `o` is an OwnedFd (a private-brand check): the `this` check of every fd-owning class (guardThis). */
export let isOwnedFd: (o: object) => boolean;
/** What ERR_INVALID_THIS names for a method every fd-owning type shares. */
export const OWNED_TYPES = 'TcpStream, TcpListener, UdpSocket, UnixStream, UnixListener, UnixDatagram, Sender or Receiver';
/**
 * The IoSource of an OwnedFd (a socket, a pipe end): the one way to its fd. `this` of any other kind
 * (a plain object, an object made with Object.create(TcpStream.prototype), a Proxy) throws a
 * TypeError with code ERR_INVALID_THIS before any fd is touched.
 */
export function ioOf(o: unknown, type = 'a metal-io socket or pipe'): IoSource {
  return getIo(o, type);
}

/**
 * Base of every fd-owning type (sockets, pipe ends): the Source methods, close and dispose, and
 * the would-block bookkeeping their I/O calls share.
 */
export abstract class OwnedFd implements Source, Disposable {
  // Private, so no property of a forged or edited object can stand in for it: every method reaches
  // its fd through ioOf(this), which refuses a `this` that is not an OwnedFd (ERR_INVALID_THIS).
  readonly #io: IoSource;
  /** `closer` closes the fd (the socket API's close for sockets, close(2) for pipe ends). */
  constructor(fd: number, what: string, closer: (fd: number) => void) {
    this.#io = new IoSource(fd, what, closer);
    closeOnCollect(this, this.#io);
  }

  static {
    getIo = (o, type) => {
      if (typeof o !== 'object' || o === null || !(#io in o)) throw invalidThis(type);
      return (o as OwnedFd).#io;
    };
    isOwnedFd = (o) => #io in o;
    guardThis(this, isOwnedFd, OWNED_TYPES);
  }

  /** Where the last error comes from, and its would-block and interrupted codes (the system layer's: sockets and pipe ends differ on Windows). */
  protected abstract errs(): { errno(): number; EINTR: number; EAGAIN: number };

  /** The file descriptor (owned: closed by close()). */
  get fd(): number {
    return ioOf(this).fd;
  }
  /** Whether it was closed (or handed away with intoRawFd and the like). */
  get closed(): boolean {
    return ioOf(this).closed;
  }

  /** Source: starts delivering `interest` readiness as events with `token` (EEXIST if registered with any Poll). */
  register(registry: Registry, token: Token, interest: Interest): void {
    ioOf(this).register(registry, token, interest);
  }
  /** Source: changes token and interest (ENOENT unless registered with this registry's Poll). */
  reregister(registry: Registry, token: Token, interest: Interest): void {
    ioOf(this).reregister(registry, token, interest);
  }
  /** Source: stops delivering events (ENOENT unless registered with this registry's Poll). */
  deregister(registry: Registry): void {
    ioOf(this).deregister(registry);
  }

  /** Deregisters if registered, then closes. Closing twice is harmless. */
  close(): void {
    ioOf(this).close();
  }

  /**
   * Hands the fd to the caller (mio's IntoRawFd): deregisters it, leaves this object closed and
   * returns the fd open, which the caller now owns (and must close). EBADF when already closed.
   */
  intoRawFd(): number {
    ioOf(this).checkOpen('intoRawFd');
    return ioOf(this).release();
  }
  /** `using`: closes. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * After a call returned -1: true to retry (EINTR); false on would-block, after re-arming the
   * registration; throws the system error otherwise. Callers loop without allocating.
   */
  protected retry(syscall: string): boolean {
    const k = this.errs();
    const e = k.errno();
    if (e === k.EINTR) return true;
    if (e === k.EAGAIN) {
      ioOf(this).wouldBlock();
      return false;
    }
    if (CHECK.on && e === mod.constants.EBADF) ioOf(this).closedBehind(syscall);
    throw systemError(syscall, e);
  }

  /** A transfer moved `n` of `want` bytes: short means drained for now, so re-arm (see README). */
  protected done(n: number, want: number): number {
    if (n < want) ioOf(this).wouldBlock();
    return n;
  }

  /**
   * The one read/write loop every type shares: validates `buf`/`offset`/`length` (the byte count
   * comes from the engine's view of the buffer, never from a property), then calls
   * `f(fd, view, count, flags)` until it is not interrupted. Returns the byte count, or null on
   * would-block (re-armed). `kind` (TransferKind): a stream read needs room (0 means end of
   * stream) and a short count re-arms; a stream write re-arms on a short count; a datagram call
   * moves one datagram, empty or not; a peek needs room and consumes nothing. Allocates nothing for
   * the whole buffer or a prefix of it.
   */
  protected transfer(
    syscall: string,
    f: TransferFn,
    buf: unknown,
    offset: unknown,
    length: unknown,
    flags: number,
    kind: TransferKind,
  ): number | null {
    const s = span(buf, offset, length, (kind & NEEDS_ROOM) !== 0);
    const view = s.view;
    const want = s.count < MAX_IO ? s.count : MAX_IO;
    const fd = ioOf(this).checkOpen(syscall);
    if (want === 0 && (kind & EMPTY_IS_NOOP) !== 0) return 0;
    let count = want;
    if (FAULTS.on) {
      const r = this.injected(syscall, want, kind);
      if (r === IoFault.WOULD_BLOCK) return null;
      if (r >= 0) count = r;
    }
    for (;;) {
      const n = f(fd, view, count, flags);
      if (n >= 0) {
        if (n === 0 && CHECK.on && kind === STREAM_READ) ioOf(this).sawEof();
        return (kind & SHORT_REARMS) !== 0 ? this.done(n, want) : n;
      }
      if (!this.retry(syscall)) {
        if (CHECK.on && kind === STREAM_WRITE) ioOf(this).writeWouldBlock();
        return null;
      }
    }
  }

  /**
   * Fault injection on one transfer of `want` bytes (or datagrams, for a BATCH_* kind) (faults.ts):
   * NONE, WOULD_BLOCK (re-armed, and the event the kernel would give is owed), a smaller count (the
   * same event owed), or a thrown ECONNRESET (reads) / EPIPE (writes) on a stream. Callers check
   * FAULTS.on first.
   */
  protected injected(syscall: string, want: number, kind: TransferKind): number {
    const f = ioOf(this).faults();
    if (f === null) return IoFault.NONE;
    const r = f.io(ioOf(this), want, (kind & SHORT_REARMS) !== 0, (kind & (SHORT_REARMS | BATCHED)) !== 0);
    if (r === IoFault.NONE) return r;
    const reading = (kind & NEEDS_ROOM) !== 0;
    if (r === IoFault.RESET) throw errorByName(syscall, reading ? 'ECONNRESET' : 'EPIPE', 'injected by fault injection (METAL_IO_FAULTS)');
    if (r === IoFault.WOULD_BLOCK) ioOf(this).wouldBlock();
    ioOf(this).faultReady(kind === DATAGRAM ? Interest.READABLE | Interest.WRITABLE : reading ? Interest.READABLE : Interest.WRITABLE);
    return r;
  }
}

/** A transfer call: recv/send, read/write (flags ignored), ... returning the count or -1. */
export type TransferFn = (fd: number, view: ArrayBufferView, count: number, flags: number) => number;
const NEEDS_ROOM = 1,
  SHORT_REARMS = 2,
  EMPTY_IS_NOOP = 4,
  BATCHED = 8;
export const STREAM_READ = NEEDS_ROOM | SHORT_REARMS | EMPTY_IS_NOOP;
export const STREAM_WRITE = SHORT_REARMS | EMPTY_IS_NOOP;
export const PEEK = NEEDS_ROOM | EMPTY_IS_NOOP;
export const DATAGRAM = 0;
/** Batched datagram calls (recvMany, sendMany, sendSegments), for fault injection only: a count of datagrams. */
export const BATCH_READ = NEEDS_ROOM | BATCHED;
export const BATCH_WRITE = BATCHED;
export type TransferKind =
  | typeof STREAM_READ
  | typeof STREAM_WRITE
  | typeof PEEK
  | typeof DATAGRAM
  | typeof BATCH_READ
  | typeof BATCH_WRITE;
/**
 * The most one call moves (Linux's MAX_RW_COUNT, below Winsock's int lengths): a larger buffer
 * gets a short count, as read(2) gives anyway.
 */
export const MAX_IO = 0x7ffff000;
