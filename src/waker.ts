// Waker: wakes a Poll from any thread. Wakes coalesce: several before a poll give at least one
// readable event with the waker's token.

import { types } from 'node:util';
import { debug } from './debug.js';
import { errorByName } from './errors.js';
import { closeOnCollect, forget, type Reapable } from './finalizer.js';
import { dropEvents, type Registry, selectorOf } from './poll.js';
import { mod } from './sys/os.js';
import type { BackendName, SysWaker, WakerHandle } from './sys/selector.js';
import { guardState, isClosed, SLOTS } from './sys/waker-guard.js';
import { WAKER_KINDS, wakeHandle } from './sys/wakers.js';
import { type Token, validToken } from './token.js';
import { argTypeError, argValueError, guardThis, validInteger } from './validators.js';

/** Set only while fromHandle constructs an adopted Waker. */
let adopting: WakerHandle | null = null;

/**
 * Wakes a Poll from any thread (mio's Waker): `wake()` makes the Poll report a readable event with
 * the Waker's token. Wakes coalesce. Post `waker.handle` to a worker and use `Waker.fromHandle` there.
 */
export class Waker implements Disposable {
  #sys: SysWaker | null;
  #handle: WakerHandle;
  static {
    guardThis(this, (o) => #handle in o);
  }
  #held: Reapable | null = null;
  #dropPending: (() => void) | null = null;
  #stopped = false;

  /** A Waker for the Poll behind `registry`, reporting `token`. */
  constructor(registry: Registry, token: Token) {
    if (adopting) {
      this.#sys = null;
      this.#handle = adopting;
      return;
    }
    const sel = selectorOf(registry);
    const t = validToken(token);
    if (sel.closed) throw errorByName('waker', 'EBADF', 'the Poll is closed');
    const sys = sel.createWaker(t);
    this.#sys = sys;
    this.#dropPending = () => dropEvents(sel, t);
    // A capability, not a mutable object: the owner's handle can never be edited into another fd or guard.
    this.#handle = Object.freeze(sys.handle);
    // The finalizer holds the OS side only (never this Waker): a dropped Waker's fd is closed.
    const h = sys.handle;
    this.#held = {
      close: () => sys.close(),
      describe: () => `Waker (${h.kind} fd ${h.fd})`,
      ownedFds: sys.fds,
      guard: { slot: h.slot, nonce: h.nonce, fd: h.fd },
    };
    closeOnCollect(this, this.#held);
    if (debug.enabled) debug('waker %s fd %d token %d', sys.handle.kind, sys.handle.fd, t);
  }

  /**
   * A Waker for a handle made by another thread's Waker (`waker.handle`, posted to a worker): its
   * wake() wakes that thread's Poll. close() here only stops this copy; the owner closes the Waker.
   */
  static fromHandle(handle: WakerHandle): Waker {
    adopting = validHandle(handle);
    try {
      return new Waker(undefined as never, 0);
    } finally {
      adopting = null;
    }
  }

  /** Structured-cloneable: post it to a worker_threads Worker and call Waker.fromHandle there. */
  get handle(): WakerHandle {
    return this.#handle;
  }

  /** Wakes the Poll. Throws EBADF once the Waker (its owner) is closed. */
  wake(): void {
    if (this.#sys) {
      this.#sys.wake();
      return;
    }
    if (this.#stopped) throw errorByName('wake', 'EBADF', 'this copy of the Waker is closed');
    wakeHandle(this.#handle);
  }

  /** Whether the owner closed it, or this copy was closed (then wake() throws EBADF). */
  get closed(): boolean {
    return this.#stopped || isClosed(this.#handle);
  }

  /** Closes the Waker (the owner) or stops this copy (fromHandle). Closing twice is harmless. */
  close(): void {
    if (this.#held) {
      forget(this.#held);
      this.#held = null;
    }
    if (this.#sys) {
      this.#sys.close();
      this.#dropPending?.();
      this.#dropPending = null;
    }
    // A copy made with fromHandle owns nothing; it just stops being usable.
    else this.#stopped = true;
  }

  /** `using`: closes. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Checks every field of a posted handle before anything is written anywhere, reading only its own
 * data properties (a getter or a Proxy is never called), and returns a frozen copy.
 */
function validHandle(handle: unknown): WakerHandle {
  if (typeof handle !== 'object' || handle === null || types.isProxy(handle))
    throw argTypeError('handle', 'a Waker handle (waker.handle)', handle);
  const field = (k: string): unknown => {
    const d = Object.getOwnPropertyDescriptor(handle, k);
    return d && 'value' in d ? d.value : undefined;
  };
  const bad = (k: string, why: string) => argValueError(`handle.${k}`, why, field(k));
  if (field('type') !== 'metal-io-waker') throw bad('type', "must be 'metal-io-waker'");
  const kind = field('kind');
  const spec = typeof kind === 'string' && Object.hasOwn(WAKER_KINDS, kind) ? WAKER_KINDS[kind as WakerHandle['kind']] : undefined;
  if (!spec) throw bad('kind', `must be one of ${Object.keys(WAKER_KINDS).join(', ')}`);
  const backend = field('backend') as BackendName;
  if (!spec.backends.includes(backend)) throw bad('backend', `must be ${spec.backends.join(' or ')} for a ${String(kind)} waker`);
  if (field('target') !== mod.target.name) throw bad('target', `must be this process's target, ${mod.target.name}`);
  const fd = validInteger(field('fd'), 'handle.fd', spec.fdMin, spec.fdMax);
  const token = validToken(field('token'));
  const identRaw = field('ident');
  const ident = identRaw === undefined ? undefined : validInteger(identRaw, 'handle.ident', 0, Number.MAX_SAFE_INTEGER);
  if (spec.ident && ident === undefined) throw bad('ident', `is required for a ${kind} waker`);
  const slot = validInteger(field('slot'), 'handle.slot', 0, SLOTS - 1);
  const nonce = validInteger(field('nonce'), 'handle.nonce', 1, Number.MAX_SAFE_INTEGER);
  const h = Object.freeze({
    type: 'metal-io-waker',
    backend,
    target: mod.target.name,
    kind: kind as WakerHandle['kind'],
    fd,
    token,
    ...(ident === undefined ? {} : { ident }),
    slot,
    nonce,
  } as const);
  // The process's waker table records what each handle was issued for: a handle edited into another
  // fd, token or ident, made by hand, or from a thread outside this one's family is refused here,
  // before anything is written. A closed Waker's handle is accepted; its wake() throws EBADF.
  if (guardState(h) === 'foreign')
    throw bad(
      'nonce',
      "does not name a Waker issued in this process with this fd and token (an edited or hand-made handle, or one from a thread that does not share this thread's waker table: see the README)",
    );
  return h;
}
