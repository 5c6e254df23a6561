// Poll and Registry: mio's event queue. Poll waits; Registry registers sources. No platform code
// here: everything OS-specific is behind the Selector (src/sys/selector.ts).
import { koffi } from './sys/koffi.js';
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import type { Selector, WaitStrategy } from './sys/selector.js';
import { createSelector } from './sys/backend.js';
import { eventSink, type Events, type Sink } from './event.js';
import { validToken, type Token } from './token.js';
import { validInterest, type Interest } from './interest.js';
import { argTypeError } from './validators.js';
import { closeOnCollect, forget, type Reapable } from './finalizer.js';
import { errorByName } from './errors.js';

/** The longest single wait pollAsync makes on a worker thread (see #waitOnThread). */
const WORKER_SLICE_MS = 100;
import { outOfRangeError } from './validators.js';

/** A source of readiness events: anything that can register itself (mio's `event::Source`). */
export interface Source {
  /** Starts delivering `interest` readiness as events carrying `token`. */
  register(registry: Registry, token: Token, interest: Interest): void;
  /** Changes token and interest. */
  reregister(registry: Registry, token: Token, interest: Interest): void;
  /** Stops delivering events. */
  deregister(registry: Registry): void;
}

const selectors = new WeakMap<Registry, Selector>();
// A Registry keeps its Poll alive: the Poll's finalizer closes the selector only when neither the
// Poll nor any Registry of it is reachable.
const owners = new WeakMap<Registry, Poll>();

/** @internal The selector behind a registry, for Source implementations inside the library. */
export function selectorOf(registry: Registry): Selector {
  const s = typeof registry === 'object' && registry !== null ? selectors.get(registry) : undefined;
  if (!s) throw argTypeError('registry', 'a Registry', registry);
  return s;
}

function validSource(source: unknown): Source {
  const s = source as Source | null;
  // A Registry has the same three methods but is no Source (each would call the other forever).
  if (!s || typeof s !== 'object' || s instanceof Registry || typeof s.register !== 'function' || typeof s.reregister !== 'function' || typeof s.deregister !== 'function') {
    throw argTypeError('source', 'a Source (register, reregister, deregister)', source);
  }
  return s;
}

/** Registers sources with a Poll. Cheap to clone; every clone drives the same Poll. */
export class Registry {
  /** @internal */
  constructor(selector: Selector, poll: Poll) { selectors.set(this, selector); owners.set(this, poll); }

  /** Starts delivering `interest` readiness of `source` as events carrying `token`. Twice: EEXIST. */
  register(source: Source, token: Token, interest: Interest): void {
    const s = validSource(source);
    s.register(this, validToken(token), validInterest(interest));
  }

  /** Changes the token and interest of a registered source; not registered here: ENOENT. */
  reregister(source: Source, token: Token, interest: Interest): void {
    const s = validSource(source);
    s.reregister(this, validToken(token), validInterest(interest));
  }

  /** Stops delivering events for `source`; not registered here: ENOENT. */
  deregister(source: Source): void {
    validSource(source).deregister(this);
  }

  /** Another handle to the same Poll (mio's try_clone). */
  tryClone(): Registry {
    const s = selectorOf(this);
    if (s.closed) throw errorByName('dup', 'EBADF', 'the Poll is closed');
    return new Registry(s, owners.get(this)!);
  }
}

/**
 * The longest finite wait every backend's call takes (epoll_wait and poll(2): an int of
 * milliseconds; GetQueuedCompletionStatusEx: a DWORD; Node's timers: 2^31-1). Longer waits
 * saturate to "until an event": never a wrapped or truncated timeout that returns at once.
 */
export const MAX_TIMEOUT_MS = 0x7fffffff;

/** Milliseconds for the selector: -1 forever, else 0 to MAX_TIMEOUT_MS (fractions kept). */
function validTimeout(timeoutMs: unknown): number {
  if (timeoutMs === null || timeoutMs === undefined) return -1;
  if (typeof timeoutMs !== 'number') throw argTypeError('timeout', 'milliseconds (of type number), null or undefined', timeoutMs);
  if (Number.isNaN(timeoutMs) || timeoutMs < 0) throw outOfRangeError('timeout', '>= 0 milliseconds', timeoutMs);
  return timeoutMs > MAX_TIMEOUT_MS ? -1 : timeoutMs;
}

function validEvents(events: unknown): Sink {
  const sink = eventSink(events);
  if (!sink) throw argTypeError('events', 'an Events', events);
  return sink;
}

/**
 * koffi calls a libuv poll callback with napi_call_function, outside the callback scope that Node
 * closes with a microtask checkpoint (MakeCallback does that). Where V8's microtask policy is
 * explicit (Node 26), the continuation of the promise the callback resolved then waits for some
 * other callback to come, or never runs: if nothing else is alive, the process exits with it
 * pending. So after resolving, run the checkpoint Node would have run: process._tickCallback (Node's
 * runNextTicks: queued process.nextTick callbacks, then microtasks). No allocation, no timer; on
 * Node versions that drained already, the queues are empty and it returns at once.
 */
const tickCallback = (process as unknown as { _tickCallback?: () => void })._tickCallback;
function runCheckpoint(): void { if (typeof tickCallback === 'function') tickCallback.call(process); }

/** The OS side of a Poll, closed by the finalizer when the Poll and its Registries are dropped. */
class PollCore implements Reapable {
  watcher: ReturnType<typeof koffi.node.poll> | null = null;
  constructor(readonly selector: Selector) {}
  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.selector.close();
  }
  describe(): string { return `Poll (${this.selector.backend})`; }
  get ownedFds(): readonly number[] { return this.selector.fds; }
}

function abortError(signal: AbortSignal): unknown {
  // The reason exactly as given, null included (abort() with no reason gives Node's AbortError DOMException).
  return signal.reason;
}

/** The event queue. */
export class Poll implements Disposable {
  readonly #selector: Selector;
  readonly #core: PollCore;
  readonly #registry: Registry;
  #busy = false;
  #watching = false;
  #fire: (() => void) | null = null;
  #onReady: (() => void) | null = null;
  #cancelWait: ((err: unknown) => void) | null = null;

  /** A new event queue on the platform's backend (METAL_IO_BACKEND forces another). */
  constructor() {
    this.#selector = createSelector();
    this.#core = new PollCore(this.#selector);
    this.#registry = new Registry(this.#selector, this);
    closeOnCollect(this, this.#core);
  }

  /** How util.inspect shows it. */
  [inspect.custom](): string { return `Poll { backend: '${this.#selector.backend}', closed: ${this.#selector.closed} }`; }

  /** The backend in use: 'epoll', 'kqueue', 'poll', 'iocp' or 'eventports'. */
  get backend(): string { return this.#selector.backend; }

  /** The Registry to register sources with. */
  registry(): Registry { return this.#registry; }

  /**
   * Waits for readiness events and stores them in `events` (cleared first). `timeoutMs`: null or
   * undefined waits until an event arrives; 0 returns at once; fractions of a millisecond are
   * honoured where the OS allows (epoll_pwait2, kevent), else rounded up. A signal does not cut
   * the wait short (it goes on for the time left, as libuv's does); JavaScript signal handlers run
   * when Node's loop next turns, so a program that must react to signals waits with pollAsync, or
   * in slices with a turn of Node's loop between them.
   */
  poll(events: Events, timeoutMs?: number | null): void {
    const ev = validEvents(events);
    const t = validTimeout(timeoutMs);
    if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
    ev.len = 0;
    const sel = this.#selector;
    const start = t > 0 ? performance.now() : 0;
    let n = sel.select(ev, t);
    // Back with nothing before the time is up: a signal interrupted the wait (EINTR). Wait out the
    // rest, as libuv does and Python since PEP 475: a wait ends with events or after the timeout.
    while (n === 0 && t !== 0) {
      let left = -1;
      if (t > 0 && (left = t - (performance.now() - start)) <= 0) break;
      n = sel.select(ev, left);
    }
    ev.len = n;
  }

  /**
   * The same wait without blocking Node's event loop: timers, other I/O and signal handlers run
   * meanwhile. Resolves when `events` holds events or the timeout passed (then `events` is empty);
   * rejects with the signal's reason on abort, leaving the Poll usable. One at a time per Poll.
   */
  pollAsync(events: Events, timeoutMs?: number | null, signal?: AbortSignal): Promise<void> {
    try {
      const ev = validEvents(events);
      const t = validTimeout(timeoutMs);
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('signal', 'an instance of AbortSignal', signal);
      if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
      if (signal?.aborted) return Promise.reject(abortError(signal));
      ev.len = 0;
      const sel = this.#selector;
      const wait = sel.wait;
      if (wait.kind === 'fd') {
        ev.len = sel.select(ev, 0);
        if (ev.len > 0 || t === 0) return Promise.resolve();
        return this.#waitOnFd(wait.fd, ev, t, signal);
      }
      return this.#waitOnThread(wait, ev, t, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** libuv watches the selector's fd; when it turns readable, collect with a zero timeout. */
  #waitOnFd(fd: number, ev: Sink, t: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#busy = true;
      let timer: NodeJS.Timeout | undefined;
      const settle = (err: unknown) => {
        this.#busy = false;
        this.#cancelWait = null;
        // The watcher stays started (a loop calling pollAsync again soon pays no epoll_ctl), but
        // unreferenced, so it keeps no process alive; it stops itself if it fires while idle.
        this.#onReady = null;
        this.#core.watcher?.unref();
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(); else reject(err);
      };
      const onAbort = () => settle(abortError(signal!));
      const onReady = () => {
        try {
          ev.len = this.#selector.select(ev, 0);
          if (ev.len > 0) settle(undefined); // else spurious: keep waiting
        } catch (e) { settle(e); }
      };
      this.#cancelWait = settle;
      this.#onReady = onReady;
      this.#watch(fd);
      if (t >= 0) timer = setTimeout(() => { try { ev.len = this.#selector.select(ev, 0); settle(undefined); } catch (e) { settle(e); } }, t);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Starts (or re-references) libuv's watch of the selector fd. The watcher lives in the PollCore
   * (GC would close it) and its callback reaches the Poll through a WeakRef, so a started watcher
   * does not keep a dropped Poll alive.
   */
  #watch(fd: number): void {
    const core = this.#core;
    if (!this.#fire) { const self = new WeakRef(this); this.#fire = () => { const p = self.deref(); if (p) p.#fired(); }; }
    if (!core.watcher) core.watcher = koffi.node.poll(fd, { readable: true }, this.#fire);
    else if (!this.#watching) core.watcher.start({ readable: true }, this.#fire);
    this.#watching = true;
    core.watcher.ref();
  }

  #fired(): void {
    const f = this.#onReady;
    if (f) { f(); runCheckpoint(); return; }
    this.#core.watcher?.stop(); // readable while nobody waits: stop until the next pollAsync
    this.#watching = false;
  }

  /** The blocking wait runs on a koffi worker thread; abort interrupts it. */
  #waitOnThread(wait: Extract<WaitStrategy, { kind: 'thread' }>, ev: Sink, t: number, signal?: AbortSignal): Promise<void> {
    const deadline = t < 0 ? Infinity : performance.now() + t;
    return new Promise<void>((resolve, reject) => {
      this.#busy = true;
      let aborted: unknown; let hasAborted = false;
      const onAbort = () => { aborted = abortError(signal!); hasAborted = true; wait.interrupt(); };
      const settle = (err: unknown) => {
        this.#busy = false;
        this.#cancelWait = null;
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(); else reject(err);
      };
      this.#cancelWait = (err) => { aborted = err; hasAborted = true; };
      const attempt = () => {
        let left = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
        // Node lets a worker's pending koffi call finish before worker.terminate() completes: on a
        // worker, wait in slices so a terminate never waits longer than one.
        if (!isMainThread && (left < 0 || left > WORKER_SLICE_MS)) left = WORKER_SLICE_MS;
        wait.selectAsync(ev, left, (err, n) => {
          if (err) return settle(hasAborted ? aborted : err);
          ev.len = n;
          if (hasAborted) { ev.len = 0; return settle(aborted); }
          if (n > 0 || performance.now() >= deadline) return settle(undefined);
          attempt(); // interrupted for a registration change, or spurious: wait again
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try { attempt(); } catch (e) { settle(e); }
    });
  }

  /** Closes the event queue. Registered sources stay open; a pending pollAsync rejects with EBADF. */
  close(): void {
    if (this.#selector.closed) return;
    this.#cancelWait?.(errorByName('poll', 'EBADF', 'the Poll was closed'));
    forget(this.#core);
    this.#core.close();
  }

  /** `using`: closes. */
  [Symbol.dispose](): void { this.close(); }
}
