// Bindings to event ports (Solaris; illumos has them too, but metal-io uses its epoll there, as mio
// does): port_create(3C), port_associate(3C), port_getn(3C), port_send(3C), from <port.h>.
//
// Semantics this selector is built on (the man pages):
// - port_associate(port, PORT_SOURCE_FD, fd, events, user) asks for poll(2) events on fd. The
//   association is one-shot: once port_get/port_getn returns an event for the fd, the fd is
//   dissociated and reports nothing more until associated again. Associating an fd that is already
//   associated replaces its events and user value.
// - port_dissociate(port, PORT_SOURCE_FD, fd) ends an association (ENOENT if there is none).
// - port_getn(port, list, max, &nget, timeout) waits until at least *nget events are there (1 here)
//   or the timeout passes, and writes how many it returned into nget. It can fail with ETIME (or
//   EINTR) after returning some events: nget says how many, and those are real.
// - port_send(port, events, user) queues a PORT_SOURCE_USER event carrying `user`: the waker.
// - A port's fd is itself pollable (POLLIN while events are queued), so libuv can watch it and
//   pollAsync needs no thread.
//
// Edges, as mio's poll(2) and AFD selectors make them: an event's association is gone after it is
// reported. A source the library owns is associated again when its operation reports would-block
// (rearm) or it is reregistered; until then it stays associated with no events asked for, so a
// hang-up or an error still arrives: illumos's pollwakeup() passes POLLHUP and POLLERR whatever the
// association asked for (uts/common/syscall/poll.c, `(pdp->pd_events & events) || (events &
// (POLLHUP | POLLERR))`; port_fd.c masks the events found at association the same way). A pipe's
// writer closing and a reset socket send POLLHUP; a TCP peer's FIN sends POLLIN|POLLRDHUP only
// (sockfs/socknotify.c), so it is seen when the source is armed again, as on poll(2). A source
// the library does not own (SourceFd) is associated again at once after each event, which makes it
// level-triggered, as on poll(2).

import type { StructInfo } from '../../../../generated/types.js';
import type { Interest } from '../../../interest.js';
import type { Token } from '../../../token.js';
import { errorByName, systemError } from '../../errors.js';
import { getUint, getViewWord, putUint } from '../../ffi.js';
import { constant, fn, layout, mod } from '../../os.js';
import { type EventSink, Ready, type Selector, type SysWaker, type WaitStrategy } from '../../selector.js';
import { closeGuard, type Guarded, guardedWake, issueGuard } from '../../waker-guard.js';
import { addressOf, cloexecFd, closeFd, errno, fail, pinnedBuffer } from '../fd.js';
import { interestsToPoll, isDead, readiness, triggered } from './pollbits.js';
import { EventArray, TimespecArg } from './waitbuf.js';

// Constants and layouts of the running target, read once (importing this module elsewhere must not throw).
let PORT_SOURCE_FD: number, PORT_SOURCE_USER: number;
let EINTR: number,
  ETIME: number,
  ENOENT: number,
  EV: StructInfo,
  SIZE: number,
  EVENTS: number,
  SOURCE: number,
  OBJECT: StructInfo['fields'][string],
  USER: StructInfo['fields'][string],
  TS: StructInfo;
let ready = false;
function init(): void {
  if (ready) return;
  PORT_SOURCE_FD = constant('PORT_SOURCE_FD');
  PORT_SOURCE_USER = constant('PORT_SOURCE_USER');
  EINTR = constant('EINTR');
  ETIME = constant('ETIME');
  ENOENT = constant('ENOENT');
  EV = layout('port_event');
  SIZE = EV.size;
  EVENTS = EV.fields.portev_events!.offset;
  SOURCE = EV.fields.portev_source!.offset;
  OBJECT = EV.fields.portev_object!;
  USER = EV.fields.portev_user!;
  TS = layout('timespec');
  ready = true;
}

interface Entry {
  token: Token;
  wanted: number;
  owned: boolean;
  armed: number;
}

export class EventPortSelector implements Selector {
  readonly backend = 'eventports' as const;
  readonly wait: WaitStrategy;
  private port: number;
  private readonly entries = new Map<number, Entry>();
  private readonly associate = fn('port_associate');
  private readonly getn = fn('port_getn');
  private readonly events: EventArray;
  private readonly nget = pinnedBuffer(4);
  private readonly ngetAddr = addressOf(this.nget);
  private readonly ts: TimespecArg;

  constructor() {
    init();
    const port = (this.port = cloexecFd('port_create', fn('port_create')()));
    this.wait = { kind: 'fd', fd: port };
    this.events = new EventArray(SIZE);
    this.ts = new TimespecArg(TS);
  }

  get closed(): boolean {
    return this.port < 0;
  }
  get fds(): number[] {
    return this.port < 0 ? [] : [this.port];
  }

  private check(syscall: string): void {
    if (this.port < 0) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  /** (Re)associates fd with `events` (0: only hang-ups and errors) and its token as the user value. */
  private assoc(fd: number, events: number, token: Token): void {
    if (this.associate(this.port, PORT_SOURCE_FD, fd, events, token) === -1) fail('port_associate');
  }

  register(fd: number, token: Token, interest: Interest, owned: boolean): void {
    this.check('port_associate');
    const wanted = interestsToPoll(interest, 'event ports');
    if (this.entries.has(fd)) throw errorByName('port_associate', 'EEXIST', `fd ${fd} is already registered with this Poll`);
    this.assoc(fd, wanted, token);
    this.entries.set(fd, { token, wanted, owned, armed: wanted });
  }

  reregister(fd: number, token: Token, interest: Interest): void {
    this.check('port_associate');
    const wanted = interestsToPoll(interest, 'event ports');
    const e = this.entries.get(fd);
    if (!e) throw errorByName('port_associate', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    this.assoc(fd, wanted, token);
    e.token = token;
    e.wanted = wanted;
    e.armed = wanted;
  }

  deregister(fd: number): void {
    this.check('port_dissociate');
    if (!this.entries.delete(fd)) throw errorByName('port_dissociate', 'ENOENT', `fd ${fd} is not registered with this Poll`);
    // ENOENT: the association was used up by an event not yet re-armed; nothing to undo.
    if (fn('port_dissociate')(this.port, PORT_SOURCE_FD, fd) === -1 && errno() !== ENOENT) fail('port_dissociate');
  }

  rearm(fd: number, interest: Interest): void {
    const e = this.entries.get(fd);
    if (!e || this.port < 0) return;
    const add = interestsToPoll(interest, 'event ports') & e.wanted;
    if ((e.armed & add) === add) return;
    e.armed |= add;
    this.assoc(fd, e.armed, e.token);
  }

  select(sink: EventSink, timeoutMs: number): number {
    this.check('port_getn');
    this.events.ensure(sink.capacity);
    putUint(this.nget, 0, 1, 4, false); // wait for at least one
    if (this.getn(this.port, this.events.addr, sink.capacity, this.ngetAddr, this.ts.at(timeoutMs)) === -1) {
      const e = errno();
      // ETIME and EINTR may come with events already returned: nget counts them.
      if (e !== ETIME && e !== EINTR) throw systemError('port_getn', e);
    }
    return this.collect(sink, getUint(this.nget, 0, 4, false));
  }

  private collect(sink: EventSink, n: number): number {
    const v = this.events.view;
    let count = 0;
    for (let i = 0; i < n && count < sink.capacity; i++) {
      const b = i * SIZE;
      const source = v.getUint16(b + SOURCE, true);
      const user = getViewWord(v, b + USER.offset, USER.size);
      if (source === PORT_SOURCE_USER) {
        sink.tokens[count] = user;
        sink.flags[count] = Ready.READABLE;
        count++;
        continue;
      }
      if (source !== PORT_SOURCE_FD) continue;
      const fd = getViewWord(v, b + OBJECT.offset, OBJECT.size);
      const e = this.entries.get(fd);
      if (!e) continue; // deregistered after the event was queued
      const events = v.getInt32(b + EVENTS, true);
      sink.tokens[count] = e.token;
      sink.flags[count] = readiness(events);
      count++;
      // The association is used up. Hung up or failed: leave it so (no spinning on a dead fd)
      // until reregister. Otherwise associate again: with everything for SourceFd (level), with
      // what did not fire for owned sources (they re-arm on would-block).
      if (isDead(events)) {
        e.armed = 0;
        continue;
      }
      if (e.owned) e.armed &= ~triggered(events);
      this.assoc(fd, e.owned ? e.armed : e.wanted, e.token);
    }
    return count;
  }

  createWaker(token: Token): SysWaker {
    this.check('port_send');
    return new PortWaker(this, token);
  }

  /** @internal The port fd, for wakers. */
  get fd(): number {
    return this.port;
  }

  close(): void {
    if (this.port < 0) return;
    const port = this.port;
    this.port = -1;
    this.entries.clear();
    closeFd(port);
  }
}

/** port_send: a PORT_SOURCE_USER event carrying the token (mio's event-ports waker). */
class PortWaker implements SysWaker {
  readonly handle;
  constructor(selector: EventPortSelector, token: Token) {
    this.handle = {
      type: 'metal-io-waker' as const,
      backend: 'eventports' as const,
      target: mod.target.name,
      kind: 'port' as const,
      fd: selector.fd,
      token,
      ...issueGuard(selector.fd, token),
    };
  }
  wake(): void {
    wakePort(this.handle);
  }
  readonly fds: readonly number[] = []; // it posts to the selector's port
  close(): void {
    closeGuard(this.handle);
  }
}

/** Posts a waker's token to its port, from any thread. */
export function wakePort(h: Guarded): void {
  init();
  const ok = guardedWake(h, () => {
    for (;;) {
      if (fn('port_send')(h.fd, 0, h.token) === 0) return;
      if (errno() === EINTR) continue;
      throw systemError('port_send', errno());
    }
  });
  if (!ok) throw errorByName('port_send', 'EBADF', 'the Waker is closed');
}
