// Bindings to poll(2) (any Unix): the fallback backend, forced with METAL_IO_BACKEND=poll.
//
// poll(2) is level-triggered; like mio's poll selector, this backend emulates edge-triggering for
// sources the library owns: once an interest is reported it is disarmed until the source's operation
// reports would-block (rearm) or it is reregistered; a disarmed source stays in the set with no
// events asked for, so hang-ups and errors (which poll(2) always reports) still arrive. Sources the
// library does not own (SourceFd) keep their interests armed and so see level-triggered readiness.
// A hang-up, error or invalid fd disables the slot (fd -1) until reregister, so a dead fd cannot
// spin the loop.
//
// Slot 0 of the pollfd array is an internal notify pipe. pollAsync runs poll(2) on a koffi worker
// thread; while it runs the pollfd array belongs to that call: changes are recorded in JS, the
// notify pipe interrupts the call, and the array is rebuilt before the next one.

import type { StructInfo } from '../../../../generated/types.js';
import type { Interest } from '../../../interest.js';
import type { Token } from '../../../token.js';
import { errorByName, systemError } from '../../errors.js';
import { constant, fn, layout } from '../../os.js';
import type { EventSink, Selector, SysWaker, WaitStrategy } from '../../selector.js';
import { addressOf, closeFd, drain, errno, makePipe, pinnedBuffer } from '../fd.js';
import { PipeWaker, type WakerHost } from '../waker.js';
import { interestsToPoll, isDead, readiness, triggered } from './pollbits.js';

// Constants and layouts of the running target, read once by init() (importing this module on
// another OS must not throw).
let POLLIN: number,
  EINTR: number,
  EAGAIN: number,
  PFD: StructInfo,
  PFD_SIZE: number,
  PFD_FD: number,
  PFD_EVENTS: number,
  PFD_REVENTS: number;
let ready = false;
function init(): void {
  if (ready) return;
  POLLIN = constant('POLLIN');
  EINTR = constant('EINTR');
  EAGAIN = constant('EAGAIN');
  PFD = layout('pollfd');
  PFD_SIZE = PFD.size;
  PFD_FD = PFD.fields.fd!.offset;
  PFD_EVENTS = PFD.fields.events!.offset;
  PFD_REVENTS = PFD.fields.revents!.offset;
  ready = true;
}

interface Entry {
  fd: number;
  token: Token;
  wanted: number; // poll events the interest asks for
  armed: number; // the subset currently watched
  disabled: boolean; // hung up or invalid: slot fd is -1 until reregister
  owned: boolean;
  waker: boolean; // a pipe waker: drained here, reported as readable
  slot: number;
}

type AsyncPoll = { async(addr: number, n: number, timeout: number, cb: (err: Error | null, res: number) => void): void };

export class PollSelector implements Selector, WakerHost {
  readonly backend = 'poll' as const;
  readonly wait: WaitStrategy = {
    kind: 'thread',
    selectAsync: (sink, timeoutMs, done) => this.selectAsync(sink, timeoutMs, done),
    interrupt: () => this.interrupt(),
  };
  private readonly entries = new Map<number, Entry>();
  private slots: Entry[] = [];
  private buf = pinnedBuffer(0);
  private view = new DataView(this.buf.buffer, this.buf.byteOffset, 0);
  private addr = 0;
  private dirty = false; // the array must be rebuilt before the next poll
  private inflight = false; // a poll(2) runs on a worker thread and owns the array
  private notifyR: number;
  private notifyW: number;
  private readonly scratch = pinnedBuffer(64);
  private readonly pollFn = fn('poll');
  private isClosed = false;

  constructor() {
    init();
    [this.notifyR, this.notifyW] = makePipe();
    this.rebuild();
  }

  get closed(): boolean {
    return this.isClosed;
  }
  get fds(): number[] {
    return this.notifyR < 0 ? [] : [this.notifyR, this.notifyW];
  }

  private check(syscall: string): void {
    if (this.isClosed) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  /** Writes every slot; slot 0 is the notify pipe. */
  private rebuild(): void {
    const need = (this.slots.length + 1) * PFD_SIZE;
    if (this.buf.length < need) {
      this.buf = pinnedBuffer(Math.max(need, this.buf.length * 2));
      this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
      this.addr = addressOf(this.buf);
    }
    this.writeSlot(0, this.notifyR, POLLIN);
    for (const e of this.slots) this.writeEntry(e);
    this.dirty = false;
  }

  private writeSlot(slot: number, fd: number, events: number): void {
    const base = slot * PFD_SIZE;
    this.view.setInt32(base + PFD_FD, fd, true);
    this.view.setInt16(base + PFD_EVENTS, events, true);
    this.view.setInt16(base + PFD_REVENTS, 0, true);
  }

  // A disarmed source keeps its fd in the set with no events asked for, as mio's poll selector
  // does: poll(2) reports POLLHUP, POLLERR and POLLNVAL whatever was asked, so a peer that hangs up
  // or an error still arrives while the source waits for its would-block.
  private writeEntry(e: Entry): void {
    this.writeSlot(e.slot + 1, e.disabled ? -1 : e.fd, e.armed);
  }

  /** Applies a change to an entry's slot now, or after the running async poll returns. */
  private touch(e: Entry | null): void {
    if (this.inflight) {
      this.dirty = true;
      this.interrupt();
      return;
    }
    if (this.dirty || e === null) this.rebuild();
    else this.writeEntry(e);
  }

  register(fd: number, token: Token, interest: Interest, owned: boolean, waker = false): void {
    this.check('poll');
    const wanted = interestsToPoll(interest, 'the poll backend');
    if (!Number.isInteger(fd) || fd < 0) throw errorByName('poll', 'EBADF', `bad file descriptor ${fd}`);
    if (this.entries.has(fd)) throw errorByName('poll', 'EEXIST', `fd ${fd} is already registered with this Poll`);
    const e: Entry = { fd, token, wanted, armed: wanted, disabled: false, owned, waker, slot: this.slots.length };
    this.entries.set(fd, e);
    this.slots.push(e);
    if (this.inflight) {
      this.dirty = true;
      this.interrupt();
    } else this.rebuild();
  }

  reregister(fd: number, token: Token, interest: Interest): void {
    this.check('poll');
    const wanted = interestsToPoll(interest, 'the poll backend');
    const e = this.entries.get(fd);
    if (!e) throw errorByName('poll', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    e.token = token;
    e.wanted = wanted;
    e.armed = wanted;
    e.disabled = false;
    this.touch(e);
  }

  deregister(fd: number): void {
    this.check('poll');
    const e = this.entries.get(fd);
    if (!e) throw errorByName('poll', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    this.entries.delete(fd);
    const last = this.slots.pop()!;
    if (last !== e) {
      last.slot = e.slot;
      this.slots[e.slot] = last;
    }
    this.touch(null);
  }

  rearm(fd: number, interest: Interest): void {
    const e = this.entries.get(fd);
    if (!e || this.isClosed) return;
    const add = interestsToPoll(interest, 'the poll backend') & e.wanted;
    if ((e.armed & add) === add) return;
    e.armed |= add;
    this.touch(e);
  }

  select(sink: EventSink, timeoutMs: number): number {
    this.check('poll');
    if (this.inflight) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
    if (this.dirty) this.rebuild();
    const n = this.pollFn(this.addr, this.slots.length + 1, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
    if (n === -1) {
      const e = errno();
      if (e === EINTR) return 0;
      throw systemError('poll', e);
    }
    return n === 0 ? 0 : this.collect(sink, null);
  }

  selectAsync(sink: EventSink, timeoutMs: number, done: (err: Error | null, n: number) => void): void {
    this.check('poll');
    if (this.inflight) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
    if (this.dirty) this.rebuild();
    const issued = this.slots.slice();
    this.inflight = true;
    (this.pollFn as unknown as AsyncPoll).async(this.addr, issued.length + 1, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs), (err, n) => {
      this.inflight = false;
      if (this.isClosed) {
        this.finishClose();
        done(errorByName('poll', 'EBADF', 'the Poll was closed while waiting'), 0);
        return;
      }
      if (err) {
        done(err, 0);
        return;
      }
      if (n === -1) {
        const e = errno();
        if (e === EINTR) {
          done(null, 0);
          return;
        }
        done(systemError('poll', e), 0);
        return;
      }
      let count = 0;
      try {
        count = n === 0 ? 0 : this.collect(sink, issued);
      } catch (e) {
        done(e as Error, 0);
        return;
      }
      if (this.dirty) this.rebuild();
      done(null, count);
    });
  }

  /** Turns revents into events. `issued` is the slot table the poll ran with (async), or null (sync). */
  private collect(sink: EventSink, issued: Entry[] | null): number {
    const view = this.view;
    if (view.getInt16(PFD_REVENTS, true) !== 0) {
      drain(this.notifyR, this.scratch);
      view.setInt16(PFD_REVENTS, 0, true);
    }
    const table = issued ?? this.slots;
    const cap = sink.capacity;
    let count = 0;
    for (let i = 0; i < table.length && count < cap; i++) {
      const base = (i + 1) * PFD_SIZE;
      const rev = view.getInt16(base + PFD_REVENTS, true) & 0xffff;
      if (rev === 0) continue;
      view.setInt16(base + PFD_REVENTS, 0, true);
      const e = table[i]!;
      if (this.entries.get(e.fd) !== e) continue; // deregistered while the poll ran
      if (e.waker) drain(e.fd, this.scratch);
      sink.tokens[count] = e.token;
      sink.flags[count] = readiness(rev);
      count++;
      if (isDead(rev)) e.disabled = true;
      else if (e.owned && !e.waker) e.armed &= ~triggered(rev);
      if (this.inflight || issued) this.dirty = true;
      else this.writeEntry(e);
    }
    return count;
  }

  interrupt(): void {
    if (this.isClosed) return;
    const one = this.scratch;
    one[0] = 1;
    const r = Number(fn('write')(this.notifyW, one, 1));
    if (r === -1 && errno() !== EAGAIN) throw systemError('write', errno());
  }

  createWaker(token: Token): SysWaker {
    this.check('pipe');
    return new PipeWaker(this, token);
  }

  close(): void {
    if (this.isClosed) return;
    if (this.inflight) {
      this.interrupt();
      this.isClosed = true;
      return;
    } // the worker still reads the array: finish when it returns
    this.isClosed = true;
    this.finishClose();
  }

  private finishClose(): void {
    if (this.notifyR < 0) return;
    closeFd(this.notifyR);
    closeFd(this.notifyW);
    this.notifyR = this.notifyW = -1;
    this.entries.clear();
    this.slots = [];
  }
}
