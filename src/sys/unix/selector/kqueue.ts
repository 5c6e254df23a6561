// Bindings to kqueue (macOS, FreeBSD, OpenBSD; Linux through libkqueue): kqueue(2), kevent(2).
//
// As mio: EVFILT_READ and EVFILT_WRITE are registered separately with EV_CLEAR (edge-triggered)
// and EV_RECEIPT, so every change reports its own result; the token rides in udata. struct kevent
// differs per OS (macOS 32 bytes with intptr data; FreeBSD 64 bytes with ext[4]; OpenBSD int64
// data): every offset, size and constant comes from the generated layer, never from a platform
// test here. kqueue itself does not say EEXIST or ENOENT the way the selector contract wants
// (EV_ADD on a registered fd modifies it; EV_DELETE of an absent filter is ENOENT per filter), so
// the selector keeps the set of registered fds. The waker is EVFILT_USER with NOTE_TRIGGER where the
// OS has it, else a pipe.

import type { FieldInfo, StructInfo } from '../../../../generated/types.js';
import { Interest } from '../../../interest.js';
import type { Token } from '../../../token.js';
import { invalidArg, outOfRange } from '../../../validators.js';
import { errorByName, systemError } from '../../errors.js';
import { getViewWord, setViewWord } from '../../ffi.js';
import { constant, fn, layout, mod } from '../../os.js';
import { type EventSink, Ready, type Selector, type SysWaker, type WaitStrategy } from '../../selector.js';
import { closeGuard, type Guarded, guardedWake, issueGuard } from '../../waker-guard.js';
import { addressOf, cloexecFd, closeFd, errno, fail, pinnedBuffer } from '../fd.js';
import { PipeWaker, type WakerHost } from '../waker.js';
import { EventArray, TimespecArg } from './waitbuf.js';

// Constants and layouts of the running target, read once by init() (importing this module on
// another OS must not throw).
let EVFILT_READ: number,
  EVFILT_WRITE: number,
  EVFILT_USER: number | undefined,
  EVFILT_AIO: number | undefined,
  EVFILT_LIO: number | undefined;
let EV_ADD: number, EV_DELETE: number, EV_CLEAR: number, EV_RECEIPT: number, EV_ERROR: number, EV_EOF: number, NOTE_TRIGGER: number;
let EINTR: number, ENOENT: number, EPIPE: number;
let KEV: StructInfo,
  SIZE: number,
  IDENT: FieldInfo,
  FILTER: FieldInfo,
  FLAGS: FieldInfo,
  FFLAGS: FieldInfo,
  DATA: FieldInfo,
  UDATA: FieldInfo,
  TS: StructInfo;
let ready = false;
function init(): void {
  if (ready) return;
  const c = mod.constants;
  EVFILT_READ = constant('EVFILT_READ');
  EVFILT_WRITE = constant('EVFILT_WRITE');
  EVFILT_USER = c.EVFILT_USER;
  EVFILT_AIO = c.EVFILT_AIO;
  EVFILT_LIO = c.EVFILT_LIO;
  EV_ADD = constant('EV_ADD');
  EV_DELETE = constant('EV_DELETE');
  EV_CLEAR = constant('EV_CLEAR');
  EV_RECEIPT = constant('EV_RECEIPT');
  EV_ERROR = constant('EV_ERROR');
  EV_EOF = constant('EV_EOF');
  NOTE_TRIGGER = c.NOTE_TRIGGER ?? 0;
  EINTR = constant('EINTR');
  ENOENT = constant('ENOENT');
  EPIPE = constant('EPIPE');
  KEV = layout('kevent');
  SIZE = KEV.size;
  TS = layout('timespec');
  IDENT = KEV.fields.ident!;
  FILTER = KEV.fields.filter!;
  FLAGS = KEV.fields.flags!;
  FFLAGS = KEV.fields.fflags!;
  DATA = KEV.fields.data!;
  UDATA = KEV.fields.udata!;
  ready = true;
}

// filter and flags are 16 bits (int16_t, uint16_t) on FreeBSD, OpenBSD, macOS and libkqueue, and
// 32 bits (uint32_t) on NetBSD: read and written at the width the target's layout gives.
function getFilter(v: DataView, b: number): number {
  return FILTER.size === 4 ? v.getInt32(b + FILTER.offset, true) : v.getInt16(b + FILTER.offset, true);
}
function getFlags(v: DataView, b: number): number {
  return FLAGS.size === 4 ? v.getUint32(b + FLAGS.offset, true) : v.getUint16(b + FLAGS.offset, true);
}

/** Writes one kevent at slot `i` of `view` (fields the layout does not list, like FreeBSD's ext, stay zero). */
function setKevent(view: DataView, i: number, ident: number, filter: number, flags: number, fflags: number, token: Token): void {
  const b = i * SIZE;
  for (let k = 0; k < SIZE; k += 4) view.setUint32(b + k, 0, true);
  setViewWord(view, b + IDENT.offset, IDENT.size, ident);
  if (FILTER.size === 4) view.setInt32(b + FILTER.offset, filter, true);
  else view.setInt16(b + FILTER.offset, filter, true);
  if (FLAGS.size === 4) view.setUint32(b + FLAGS.offset, flags >>> 0, true);
  else view.setUint16(b + FLAGS.offset, flags, true);
  view.setUint32(b + FFLAGS.offset, fflags >>> 0, true);
  setViewWord(view, b + UDATA.offset, UDATA.size, token);
}

/** mio's kqueue event translation. */
function readiness(filter: number, flags: number, fflags: number): number {
  let r = 0;
  if (filter === EVFILT_READ || filter === EVFILT_USER) r |= Ready.READABLE;
  if (filter === EVFILT_WRITE) r |= Ready.WRITABLE;
  // EV_EOF with fflags set carries the socket error (the error itself is read with takeError()).
  if (flags & EV_ERROR || (flags & EV_EOF && fflags !== 0)) r |= Ready.ERROR;
  if (filter === EVFILT_READ && flags & EV_EOF) r |= Ready.READ_CLOSED;
  if (filter === EVFILT_WRITE && flags & EV_EOF) r |= Ready.WRITE_CLOSED;
  if (EVFILT_AIO !== undefined && filter === EVFILT_AIO) r |= Ready.AIO;
  if (EVFILT_LIO !== undefined && filter === EVFILT_LIO) r |= Ready.LIO;
  return r;
}

interface Entry {
  token: Token;
  interest: Interest;
  waker: boolean;
}

/** udata of the selector's own interrupt event: 2^53, which no token (at most 2^53-1) can be. */
const INTERRUPT = 2 ** 53;
const INTERRUPT_IDENT = 0;

type AsyncKevent = {
  async(kq: number, ch: number, nch: number, ev: number, nev: number, ts: number, cb: (err: Error | null, n: number) => void): void;
};

export class KqueueSelector implements Selector, WakerHost {
  readonly backend = 'kqueue' as const;
  /**
   * A kqueue fd is readable while events are pending, so libuv can watch it. libkqueue's fd on
   * Linux does not signal registrations made while libuv watches it, so that target (syscalls.yaml:
   * `kqueue: libkqueue`) waits on a worker thread instead, interrupted by an EVFILT_USER event.
   */
  readonly wait: WaitStrategy;
  private inflight = false;
  private kq: number;
  private readonly entries = new Map<number, Entry>();
  private readonly kevent = fn('kevent');
  // Change list (two entries at most) and the receipts kevent writes back; the event list grows to
  // the largest sink. All pinned: their addresses are handed to kevent(2).
  private readonly changes: Buffer;
  private readonly changesView: DataView;
  private readonly changesAddr: number;
  private readonly events: EventArray;
  private readonly ts: TimespecArg;
  private readonly scratch = Buffer.alloc(64);

  constructor() {
    init();
    const kq = (this.kq = cloexecFd('kqueue', fn('kqueue')()));
    this.wait =
      mod.target.kqueue === 'libkqueue'
        ? {
            kind: 'thread',
            selectAsync: (sink, timeoutMs, done) => this.selectAsync(sink, timeoutMs, done),
            interrupt: () => this.interrupt(),
          }
        : { kind: 'fd', fd: kq };
    this.changes = pinnedBuffer(2 * SIZE);
    this.changesView = new DataView(this.changes.buffer, this.changes.byteOffset, this.changes.length);
    this.changesAddr = addressOf(this.changes);
    this.events = new EventArray(SIZE);
    this.ts = new TimespecArg(TS);
    if (this.wait.kind === 'thread') {
      try {
        this.userEvent(INTERRUPT_IDENT, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, INTERRUPT);
      } catch (e) {
        closeFd(kq);
        this.kq = -1;
        throw e;
      }
    }
  }

  /** One EVFILT_USER change through the change buffer. */
  private userEvent(ident: number, flags: number, fflags: number, udata: number): void {
    setKevent(this.changesView, 0, ident, EVFILT_USER!, flags, fflags, udata);
    if (this.kevent(this.kq, this.changesAddr, 1, this.changesAddr, 1, 0) === -1) fail('kevent');
  }

  get closed(): boolean {
    return this.kq < 0;
  }
  get fds(): number[] {
    return this.kq < 0 ? [] : [this.kq];
  }

  private check(syscall: string): void {
    if (this.kq < 0) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  private checkInterest(interest: Interest): Interest {
    const i = interest;
    if (i & Interest.AIO && EVFILT_AIO === undefined) throw invalidArg(`Interest.AIO is not supported by kqueue on ${mod.target.name}`);
    if (i & Interest.LIO && EVFILT_LIO === undefined) throw invalidArg(`Interest.LIO is not supported by kqueue on ${mod.target.name}`);
    if (i & Interest.PRIORITY) throw invalidArg(`Interest.PRIORITY is not supported by the kqueue backend (${mod.target.name})`);
    return i;
  }

  /**
   * Applies filter changes with EV_RECEIPT: EV_ADD for the interests set; with `deleteOthers`,
   * EV_DELETE for the others (reregister, deregister). Throws the first error not in `ignore`.
   */
  private apply(fd: number, token: Token, interest: Interest, deleteOthers: boolean, ignore: number[]): void {
    if (UDATA.size === 4 && token > 0xffffffff) throw outOfRange(`token ${token} does not fit this target's 32-bit udata`);
    const v = this.changesView;
    let count = 0;
    for (const [bit, filter] of [
      [Interest.READABLE, EVFILT_READ],
      [Interest.WRITABLE, EVFILT_WRITE],
    ] as const) {
      if (interest & bit) setKevent(v, count++, fd, filter, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, token);
      else if (deleteOthers) setKevent(v, count++, fd, filter, EV_DELETE | EV_RECEIPT, 0, token);
    }
    if (count === 0) return;
    const n = this.kevent(this.kq, this.changesAddr, count, this.changesAddr, count, 0);
    if (n === -1) {
      const e = errno();
      if (e !== EINTR) throw systemError('kevent', e);
      return; // EV_RECEIPT changes are applied even when the wait part is interrupted
    }
    for (let i = 0; i < n; i++) {
      const b = i * SIZE;
      if ((getFlags(v, b) & EV_ERROR) === 0) continue;
      const err = Number(v.getInt32(b + DATA.offset, true));
      if (err !== 0 && !ignore.includes(err)) throw systemError('kevent', err);
    }
  }

  register(fd: number, token: Token, interest: Interest, _owned = false, waker = false): void {
    this.check('kevent');
    const i = this.checkInterest(interest);
    if (this.entries.has(fd)) throw errorByName('kevent', 'EEXIST', `fd ${fd} is already registered with this Poll`);
    // A write filter on a pipe whose reader is gone fails with EPIPE on some systems: still registered.
    this.apply(fd, token, i, false, [EPIPE]);
    this.entries.set(fd, { token, interest: i, waker });
  }

  reregister(fd: number, token: Token, interest: Interest): void {
    this.check('kevent');
    const i = this.checkInterest(interest);
    const e = this.entries.get(fd);
    if (!e) throw errorByName('kevent', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    this.apply(fd, token, i, true, [ENOENT, EPIPE]); // deleting the filter that was not set is ENOENT
    e.token = token;
    e.interest = i;
  }

  deregister(fd: number): void {
    this.check('kevent');
    if (!this.entries.delete(fd)) throw errorByName('kevent', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    this.apply(fd, 0, 0, true, [ENOENT, constant('EBADF')]);
  }

  rearm(): void {
    /* EV_CLEAR is edge-triggered natively */
  }

  select(sink: EventSink, timeoutMs: number): number {
    this.check('kevent');
    if (this.inflight) throw errorByName('kevent', 'EBUSY', 'a pollAsync is in progress on this Poll');
    this.events.ensure(sink.capacity);
    const n = this.kevent(this.kq, 0, 0, this.events.addr, sink.capacity, this.ts.at(timeoutMs));
    if (n === -1) {
      const e = errno();
      if (e === EINTR) return 0;
      throw systemError('kevent', e);
    }
    return this.collect(sink, n);
  }

  selectAsync(sink: EventSink, timeoutMs: number, done: (err: Error | null, n: number) => void): void {
    this.check('kevent');
    if (this.inflight) throw errorByName('kevent', 'EBUSY', 'a pollAsync is in progress on this Poll');
    this.events.ensure(sink.capacity);
    this.inflight = true;
    // The event list and timespec belong to the worker's kevent(2) until it returns: ensure() and
    // timeout() are not called meanwhile (select and selectAsync refuse while inflight).
    (this.kevent as unknown as AsyncKevent).async(this.kq, 0, 0, this.events.addr, sink.capacity, this.ts.at(timeoutMs), (err, n) => {
      this.inflight = false;
      if (this.kq < 0) {
        if (this.closeWhenBack >= 0) {
          closeFd(this.closeWhenBack);
          this.closeWhenBack = -1;
        }
        done(errorByName('kevent', 'EBADF', 'the Poll was closed while waiting'), 0);
        return;
      }
      if (err) {
        done(err, 0);
        return;
      }
      if (n === -1) {
        const e = errno();
        done(e === EINTR ? null : systemError('kevent', e), 0);
        return;
      }
      done(null, this.collect(sink, n));
    });
  }

  interrupt(): void {
    if (this.kq >= 0) this.userEvent(INTERRUPT_IDENT, EV_ADD | EV_RECEIPT, NOTE_TRIGGER, INTERRUPT);
  }

  private collect(sink: EventSink, n: number): number {
    const v = this.events.view;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const b = i * SIZE;
      const filter = getFilter(v, b);
      const flags = getFlags(v, b);
      const token = getViewWord(v, b + UDATA.offset, UDATA.size);
      if (token === INTERRUPT && filter === EVFILT_USER) continue; // our own interrupt
      if (filter === EVFILT_READ && this.entries.size) {
        const e = this.entries.get(getViewWord(v, b + IDENT.offset, IDENT.size));
        if (e?.waker) this.drainWaker(getViewWord(v, b + IDENT.offset, IDENT.size));
      }
      sink.tokens[count] = token;
      sink.flags[count] = readiness(filter, flags, v.getUint32(b + FFLAGS.offset, true));
      count++;
    }
    return count;
  }

  private drainWaker(fd: number): void {
    const read = fn('read');
    while (Number(read(fd, this.scratch, this.scratch.length)) > 0) {
      /* empty the pipe */
    }
  }

  createWaker(token: Token): SysWaker {
    this.check('kevent');
    return EVFILT_USER !== undefined ? new UserEventWaker(this, token) : new PipeWaker(this, token);
  }

  /** @internal The kqueue fd, for wakers. */
  get fd(): number {
    return this.kq;
  }

  close(): void {
    if (this.kq < 0) return;
    if (this.inflight) this.interrupt(); // the worker returns at once; its callback sees the close
    const fd = this.kq;
    this.kq = -1;
    this.entries.clear();
    if (!this.inflight) closeFd(fd);
    else this.closeWhenBack = fd;
  }

  private closeWhenBack = -1;
}

/** EVFILT_USER: registered with EV_CLEAR; wake() triggers it with NOTE_TRIGGER (mio's kqueue waker). */
class UserEventWaker implements SysWaker {
  readonly handle;
  constructor(
    private readonly selector: KqueueSelector,
    token: Token,
  ) {
    const ident = nextIdent++;
    const b = pinnedBuffer(SIZE);
    const v = new DataView(b.buffer, b.byteOffset, SIZE);
    setKevent(v, 0, ident, EVFILT_USER!, EV_ADD | EV_CLEAR | EV_RECEIPT, 0, token);
    const n = fn('kevent')(selector.fd, addressOf(b), 1, addressOf(b), 1, 0);
    if (n === -1) fail('kevent');
    if (getFlags(v, 0) & EV_ERROR && v.getInt32(DATA.offset, true) !== 0) throw systemError('kevent', v.getInt32(DATA.offset, true));
    this.handle = {
      type: 'metal-io-waker' as const,
      backend: 'kqueue' as const,
      target: mod.target.name,
      kind: 'kqueue' as const,
      fd: selector.fd,
      token,
      ident,
      ...issueGuard(selector.fd, token, ident),
    };
  }
  wake(): void {
    wakeUserEvent(this.handle);
  }
  readonly fds: readonly number[] = []; // it writes to the selector's fd
  close(): void {
    if (closeGuard(this.handle) === 'closed' || this.selector.closed) return;
    const b = pinnedBuffer(SIZE);
    const v = new DataView(b.buffer, b.byteOffset, SIZE);
    setKevent(v, 0, this.handle.ident, EVFILT_USER!, EV_DELETE | EV_RECEIPT, 0, 0);
    fn('kevent')(this.selector.fd, addressOf(b), 1, addressOf(b), 1, 0);
  }
}

let nextIdent = 1;

/** Triggers a waker's EVFILT_USER event, from any thread. */
export function wakeUserEvent(h: Guarded): void {
  init();
  const ok = guardedWake(h, () => {
    const b = pinnedBuffer(SIZE);
    const v = new DataView(b.buffer, b.byteOffset, SIZE);
    setKevent(v, 0, h.ident ?? 0, EVFILT_USER!, EV_ADD | EV_RECEIPT, NOTE_TRIGGER, h.token);
    for (;;) {
      const n = fn('kevent')(h.fd, addressOf(b), 1, addressOf(b), 1, 0);
      if (n === -1) {
        if (errno() === EINTR) continue;
        throw systemError('kevent', errno());
      }
      if (getFlags(v, 0) & EV_ERROR && v.getInt32(DATA.offset, true) !== 0) throw systemError('kevent', v.getInt32(DATA.offset, true));
      return;
    }
  });
  if (!ok) throw errorByName('kevent', 'EBADF', 'the Waker is closed');
}
