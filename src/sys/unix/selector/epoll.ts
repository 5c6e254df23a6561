// Bindings to epoll (Linux, Android): epoll_create1(2), epoll_ctl(2), epoll_wait(2), and an eventfd(2) waker.
//
// Every registration is EPOLLET (edge-triggered, as mio). The token lives in epoll_event.data (a
// 64-bit union) as two 32-bit halves, so any safe integer round-trips without BigInt. One FFI call
// per select; decoding reads the event array through a Uint32Array (all offsets are multiples of 4 on
// the 12-byte packed x86 layout and the 16-byte one alike).

import type { StructInfo } from '../../../../generated/types.js';
import { Interest } from '../../../interest.js';
import type { Token } from '../../../token.js';
import { invalidArg } from '../../../validators.js';
import { errorByName, systemError } from '../../errors.js';
import { getWord, putUint } from '../../ffi.js';
import { constant, fn, has, layout, mod } from '../../os.js';
import { type EventSink, Ready, type Selector, type SysWaker, type WakerHandle } from '../../selector.js';
import { closeGuard, guardedWake, issueGuard } from '../../waker-guard.js';
import { addressOf, closeFd, errno, fail, pinnedBuffer } from '../fd.js';
import { TimespecArg } from './waitbuf.js';

// Constants and layouts of the running target, read once by init() (importing this module on
// another OS must not throw).
let EPOLLIN: number,
  EPOLLOUT: number,
  EPOLLPRI: number,
  EPOLLERR: number,
  EPOLLHUP: number,
  EPOLLRDHUP: number,
  EPOLLET: number,
  EPOLL_CTL_ADD: number,
  EPOLL_CTL_MOD: number,
  EPOLL_CTL_DEL: number,
  EINTR: number,
  EAGAIN: number,
  EV: StructInfo,
  EV_SIZE: number,
  EV_EVENTS: number,
  EV_DATA: number,
  TS: StructInfo;
let ready = false;
function init(): void {
  if (ready) return;
  EPOLLIN = constant('EPOLLIN');
  EPOLLOUT = constant('EPOLLOUT');
  EPOLLPRI = constant('EPOLLPRI');
  EPOLLERR = constant('EPOLLERR');
  EPOLLHUP = constant('EPOLLHUP');
  EPOLLRDHUP = constant('EPOLLRDHUP');
  EPOLLET = constant('EPOLLET');
  EPOLL_CTL_ADD = constant('EPOLL_CTL_ADD');
  EPOLL_CTL_MOD = constant('EPOLL_CTL_MOD');
  EPOLL_CTL_DEL = constant('EPOLL_CTL_DEL');
  EINTR = constant('EINTR');
  EAGAIN = constant('EAGAIN');
  EV = layout('epoll_event');
  EV_SIZE = EV.size;
  EV_EVENTS = EV.fields.events!.offset;
  EV_DATA = EV.fields.data!.offset;
  TS = layout('timespec');
  ready = true;
}

/** mio's interests_to_epoll: always EPOLLET; readable adds EPOLLRDHUP to see half-close. */
function interestsToEpoll(interest: Interest): number {
  let kind = EPOLLET;
  if (interest & Interest.READABLE) kind |= EPOLLIN | EPOLLRDHUP;
  if (interest & Interest.WRITABLE) kind |= EPOLLOUT;
  if (interest & Interest.PRIORITY) kind |= EPOLLPRI;
  if (interest & (Interest.AIO | Interest.LIO))
    throw invalidArg(`Interest.${interest & Interest.AIO ? 'AIO' : 'LIO'} is not supported by the epoll backend (${mod.target.name})`);
  return kind >>> 0;
}

/** mio's event translation for epoll. */
function readiness(e: number): number {
  let r = 0;
  if (e & (EPOLLIN | EPOLLPRI)) r |= Ready.READABLE;
  if (e & EPOLLOUT) r |= Ready.WRITABLE;
  if (e & EPOLLERR) r |= Ready.ERROR;
  // Read closed: a hang-up, or readable together with the peer's shutdown(SHUT_WR).
  if (e & EPOLLHUP || (e & EPOLLIN && e & EPOLLRDHUP)) r |= Ready.READ_CLOSED;
  // Write closed: a hang-up, or an error on a socket that was (or only is) in error state.
  if (e & EPOLLHUP || (e & EPOLLOUT && e & EPOLLERR) || e === EPOLLERR) r |= Ready.WRITE_CLOSED;
  if (e & EPOLLPRI) r |= Ready.PRIORITY;
  return r;
}

export class EpollSelector implements Selector {
  readonly backend = 'epoll' as const;
  readonly wait: { kind: 'fd'; fd: number };
  private epfd: number;
  private readonly epollWait = fn('epoll_wait');
  private readonly epollCtl = fn('epoll_ctl');
  private readonly pwait2 = has('epoll_pwait2') ? fn('epoll_pwait2') : null;
  private pwait2Works = true;
  // One epoll_event for epoll_ctl, kept for the selector's life.
  private readonly ctlBuf: Buffer;
  // The event array the kernel fills, grown to the largest sink capacity seen; its address is cached.
  private evBuf = pinnedBuffer(0);
  private evWords: Uint32Array = new Uint32Array(0);
  private evAddr = 0;
  private readonly ts: TimespecArg;

  constructor() {
    init();
    this.ctlBuf = pinnedBuffer(EV_SIZE);
    this.ts = new TimespecArg(TS);
    const ep = fn('epoll_create1')(constant('EPOLL_CLOEXEC'));
    if (ep === -1) fail('epoll_create1');
    this.epfd = ep;
    this.wait = { kind: 'fd', fd: ep };
  }

  get closed(): boolean {
    return this.epfd < 0;
  }
  get fds(): number[] {
    return this.epfd < 0 ? [] : [this.epfd];
  }

  private check(syscall: string): void {
    if (this.epfd < 0) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  private ctl(op: number, fd: number, token: Token, events: number, syscall = 'epoll_ctl'): void {
    this.check(syscall);
    const b = this.ctlBuf; // element writes: no Buffer method a caller could patch runs here
    putUint(b, EV_EVENTS, events, 4, false);
    putUint(b, EV_DATA, token, 8, false);
    if (this.epollCtl(this.epfd, op, fd, b) === -1) throw systemError(syscall, errno());
  }

  register(fd: number, token: Token, interest: Interest): void {
    this.ctl(EPOLL_CTL_ADD, fd, token, interestsToEpoll(interest));
  }
  reregister(fd: number, token: Token, interest: Interest): void {
    this.ctl(EPOLL_CTL_MOD, fd, token, interestsToEpoll(interest));
  }
  deregister(fd: number): void {
    this.ctl(EPOLL_CTL_DEL, fd, 0, 0);
  }
  rearm(): void {
    /* epoll is edge-triggered natively */
  }

  private ensure(capacity: number): void {
    if (this.evBuf.length >= capacity * EV_SIZE) return;
    this.evBuf = pinnedBuffer(capacity * EV_SIZE);
    this.evWords = new Uint32Array(this.evBuf.buffer, this.evBuf.byteOffset, this.evBuf.length >>> 2);
    this.evAddr = addressOf(this.evBuf);
  }

  select(sink: EventSink, timeoutMs: number): number {
    this.check('epoll_wait');
    const cap = sink.capacity;
    this.ensure(cap);
    let n: number;
    if (timeoutMs > 0 && !Number.isInteger(timeoutMs) && this.pwait2 && this.pwait2Works) {
      // Fractional milliseconds: epoll_pwait2 takes a timespec (Linux >= 5.11).
      n = this.pwait2(this.epfd, this.evAddr, cap, this.ts.at(timeoutMs), 0);
      if (n === -1 && errno() === constant('ENOSYS')) {
        this.pwait2Works = false;
        return this.select(sink, timeoutMs);
      }
    } else {
      n = this.epollWait(this.epfd, this.evAddr, cap, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
    }
    if (n === -1) {
      const e = errno();
      if (e === EINTR) return 0;
      throw systemError('epoll_wait', e);
    }
    const words = this.evWords;
    const tokens = sink.tokens;
    const flags = sink.flags;
    for (let i = 0, base = 0; i < n; i++, base += EV_SIZE) {
      tokens[i] = getWord(words, base + EV_DATA, 8);
      flags[i] = readiness(words[(base + EV_EVENTS) >>> 2]!);
    }
    return n;
  }

  createWaker(token: Token): SysWaker {
    this.check('eventfd');
    return new EventfdWaker(this, token);
  }

  close(): void {
    if (this.epfd < 0) return;
    const fd = this.epfd;
    this.epfd = -1;
    closeFd(fd);
  }
}

/** An eventfd(2) registered for EPOLLIN | EPOLLET: each write of 1 makes it readable again. */
class EventfdWaker implements SysWaker {
  readonly handle: WakerHandle;
  private fd: number;
  constructor(
    private readonly selector: EpollSelector,
    token: Token,
  ) {
    const fd = fn('eventfd')(0, constant('EFD_CLOEXEC') | constant('EFD_NONBLOCK'));
    if (fd === -1) fail('eventfd');
    try {
      selector.register(fd, token, Interest.READABLE);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    this.fd = fd;
    this.handle = {
      type: 'metal-io-waker',
      backend: 'epoll',
      target: mod.target.name,
      kind: 'eventfd',
      fd,
      token,
      ...issueGuard(fd, token),
    };
  }
  wake(): void {
    wakeFd(this.handle);
  }
  get fds(): readonly number[] {
    return this.fd < 0 ? [] : [this.fd];
  }
  close(): void {
    const g = closeGuard(this.handle);
    if (g === 'closed') return;
    if (!this.selector.closed) {
      try {
        this.selector.deregister(this.fd);
      } catch {
        /* already gone with the fd's last close */
      }
    }
    if (g === 'close') closeFd(this.fd);
    this.fd = -1;
  }
}

// Shared by every wake on this thread (module instance): the value 1, and a scratch word.
const wakeOne = Buffer.alloc(8);
wakeOne.writeUInt32LE(1, 0);
const wakeScratch = Buffer.alloc(8);

/** Adds 1 to the eventfd; on EAGAIN (the counter is full) resets it by reading, then adds again (as mio). */
export function wakeFd(h: WakerHandle): void {
  init();
  const ok = guardedWake(h, () => {
    const write = fn('write');
    for (;;) {
      if (Number(write(h.fd, wakeOne, 8)) === 8) return;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) {
        fn('read')(h.fd, wakeScratch, 8);
        continue;
      }
      throw systemError('write', e);
    }
  });
  if (!ok) throw errorByName('write', 'EBADF', 'the Waker is closed');
}
