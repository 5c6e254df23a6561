// Waker: wakes a Poll from any thread. Wakes coalesce: several before a poll give at least one
// readable event with the waker's token.
import type { SysWaker, WakerHandle } from './sys/selector.js';
import { wakeFd } from './sys/unix/selector/epoll.js';
import { wakePipe } from './sys/unix/waker.js';
import { wakeUserEvent } from './sys/unix/selector/kqueue.js';
import { wakeIocp } from './sys/windows/selector.js';
import { Registry, selectorOf } from './poll.js';
import { validToken, type Token } from './token.js';
import { describe } from './interest.js';
import { errorByName } from './errors.js';
import { isClosed } from './sys/waker-guard.js';

/** Set only while fromHandle constructs an adopted Waker. */
let adopting: WakerHandle | null = null;

const WAKE_BY_KIND: Record<string, ((h: WakerHandle) => void) | undefined> = { eventfd: wakeFd, pipe: wakePipe, kqueue: wakeUserEvent, iocp: wakeIocp };

export class Waker implements Disposable {
  #sys: SysWaker | null;
  #handle: WakerHandle;

  constructor(registry: Registry, token: Token) {
    if (adopting) { this.#sys = null; this.#handle = adopting; return; }
    if (!(registry instanceof Registry)) throw new TypeError(`registry must be a Registry, got ${describe(registry)}`);
    const sel = selectorOf(registry);
    if (sel.closed) throw errorByName('waker', 'EBADF', 'the Poll is closed');
    this.#sys = sel.createWaker(validToken(token));
    this.#handle = this.#sys.handle;
  }

  /**
   * A Waker for a handle made by another thread's Waker (`waker.handle`, posted to a worker): its
   * wake() wakes that thread's Poll. close() here only stops this copy; the owner closes the Waker.
   */
  static fromHandle(handle: WakerHandle): Waker {
    const h = handle as Partial<WakerHandle> | null;
    if (!h || typeof h !== 'object' || h.type !== 'metal-io-waker' || !(h.state instanceof SharedArrayBuffer) || typeof h.fd !== 'number' || !WAKE_BY_KIND[h.kind ?? '']) {
      throw new TypeError(`expected a Waker handle (waker.handle), got ${describe(handle)}`);
    }
    adopting = handle;
    try { return new Waker(undefined as never, 0); } finally { adopting = null; }
  }

  /** Structured-cloneable: post it to a worker_threads Worker and call Waker.fromHandle there. */
  get handle(): WakerHandle { return this.#handle; }

  /** Wakes the Poll. Throws EBADF once the Waker (its owner) is closed. */
  wake(): void {
    if (this.#sys) { this.#sys.wake(); return; }
    WAKE_BY_KIND[this.#handle.kind]!(this.#handle);
  }

  get closed(): boolean { return isClosed(this.#handle.state); }

  close(): void {
    if (this.#sys) this.#sys.close();
    // A copy made with fromHandle owns nothing; it just stops being usable.
    else this.#handle = { ...this.#handle, state: closedState };
  }

  [Symbol.dispose](): void { this.close(); }
}

const closedState = new SharedArrayBuffer(8);
new Int32Array(closedState)[0] = 1;
