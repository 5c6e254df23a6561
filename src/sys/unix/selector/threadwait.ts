// pollAsync for a selector whose fd libuv could watch, on a thread where that watch must not be
// used: a worker thread. koffi's libuv poll handle (koffi.node.poll) outlives a worker that
// worker.terminate() stops, and Node's teardown then closes it into freed memory (SIGSEGV in
// uv__finish_close, every time). So on a worker the wait runs as poll(2) on a koffi worker thread
// over two fds: the selector's (readable while it has events) and an interrupt pipe; when it returns,
// the events are collected here with a non-blocking select. Everything else is the inner selector's.
//
// Node waits for a worker's pending koffi call before it tears the worker down, so a terminate
// waits for the wait to end: Poll bounds each wait on a worker (src/poll.ts).

import type { Interest } from '../../../interest.js';
import type { Token } from '../../../token.js';
import { errorByName, systemError } from '../../errors.js';
import { getUint, putUint } from '../../ffi.js';
import { constant, fn, layout } from '../../os.js';
import type { EventSink, Selector, SysWaker, WaitStrategy } from '../../selector.js';
import { addressOf, closeFd, drain, errno, makePipe, pinnedBuffer } from '../fd.js';

type AsyncPoll = { async(addr: number, n: number, timeout: number, cb: (err: Error | null, res: number) => void): void };

export class ThreadWaitSelector implements Selector {
  readonly backend: Selector['backend'];
  readonly wait: WaitStrategy;
  readonly #inner: Selector;
  readonly #fd: number;
  #notifyR: number;
  #notifyW: number;
  #inflight = false;
  #closed = false;
  readonly #fds: Buffer; // two pollfds: the selector's fd, the interrupt pipe
  readonly #addr: number;
  readonly #one = pinnedBuffer(1);
  readonly #scratch = pinnedBuffer(64);
  // Bound here, not at the first wait: a worker can be terminated at any instant, and koffi binding
  // a function while its environment is being torn down aborts the process (napi_throw fails). The
  // calls a wait makes (poll, read to drain, write to interrupt) are bound before the Poll exists.
  readonly #poll = fn('poll') as unknown as AsyncPoll;
  readonly #write = fn('write');

  constructor(inner: Selector, fd: number) {
    this.#inner = inner;
    this.backend = inner.backend;
    this.#fd = fd;
    [this.#notifyR, this.#notifyW] = makePipe();
    fn('read'); // drain()'s, bound now for the same reason
    this.#fds = pinnedBuffer(2 * layout('pollfd').size);
    this.#addr = addressOf(this.#fds);
    this.wait = {
      kind: 'thread',
      selectAsync: (sink, timeoutMs, done) => this.#selectAsync(sink, timeoutMs, done),
      interrupt: () => this.#interrupt(),
    };
  }

  register(fd: number, token: Token, interest: Interest, owned: boolean): void {
    this.#inner.register(fd, token, interest, owned);
  }
  reregister(fd: number, token: Token, interest: Interest): void {
    this.#inner.reregister(fd, token, interest);
  }
  deregister(fd: number): void {
    this.#inner.deregister(fd);
  }
  rearm(fd: number, interest: Interest): void {
    this.#inner.rearm(fd, interest);
  }
  select(sink: EventSink, timeoutMs: number): number {
    return this.#inner.select(sink, timeoutMs);
  }
  createWaker(token: Token): SysWaker {
    return this.#inner.createWaker(token);
  }
  get closed(): boolean {
    return this.#closed;
  }
  get fds(): readonly number[] {
    return this.#notifyR < 0 ? this.#inner.fds : [...this.#inner.fds, this.#notifyR, this.#notifyW];
  }

  #selectAsync(sink: EventSink, timeoutMs: number, done: (err: Error | null, n: number) => void): void {
    if (this.#closed) throw errorByName('poll', 'EBADF', 'the Poll is closed');
    if (this.#inflight) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
    const l = layout('pollfd');
    const f = l.fields;
    const slot = (at: number, fd: number) => {
      putUint(this.#fds, at + f.fd!.offset, fd, 4, false);
      putUint(this.#fds, at + f.events!.offset, constant('POLLIN'), f.events!.size, false);
      putUint(this.#fds, at + f.revents!.offset, 0, f.revents!.size, false);
    };
    slot(0, this.#fd);
    slot(l.size, this.#notifyR);
    this.#inflight = true;
    this.#poll.async(this.#addr, 2, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs), (err, n) => {
      this.#inflight = false;
      if (this.#closed) {
        this.#finishClose();
        done(errorByName('poll', 'EBADF', 'the Poll was closed while waiting'), 0);
        return;
      }
      if (err) {
        done(err, 0);
        return;
      }
      if (n === -1) {
        const e = errno();
        if (e === constant('EINTR')) {
          done(null, 0);
          return;
        }
        done(systemError('poll', e), 0);
        return;
      }
      if (getUint(this.#fds, l.size + f.revents!.offset, f.revents!.size, false) !== 0) drain(this.#notifyR, this.#scratch);
      if (getUint(this.#fds, f.revents!.offset, f.revents!.size, false) === 0) {
        done(null, 0);
        return;
      }
      let count: number;
      try {
        count = this.#inner.select(sink, 0);
      } catch (e) {
        done(e as Error, 0);
        return;
      }
      done(null, count);
    });
  }

  #interrupt(): void {
    if (this.#notifyW < 0) return;
    this.#one[0] = 1;
    this.#write(this.#notifyW, this.#one, 1); // a full pipe already interrupts
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inner.close();
    if (this.#inflight)
      this.#interrupt(); // the koffi thread still polls the pipe: close it when it returns
    else this.#finishClose();
  }

  #finishClose(): void {
    if (this.#notifyR < 0) return;
    closeFd(this.#notifyR);
    closeFd(this.#notifyW);
    this.#notifyR = this.#notifyW = -1;
  }
}
