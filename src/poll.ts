// Poll and Registry: mio's event queue. Poll waits; Registry registers sources. No platform code
// here: everything OS-specific is behind the Selector (src/sys/selector.ts).
import { koffi } from './sys/koffi.js';
import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import type { Selector, WaitStrategy } from './sys/selector.js';
import { createSelector } from './sys/backend.js';
import { eventSink, DROPPED, Ready, type Events, type Sink } from './event.js';
import { validToken, type Token } from './token.js';
import { validInterest, type Interest } from './interest.js';
import { argTypeError } from './validators.js';
import { closeOnCollect, forget, type Reapable } from './finalizer.js';
import { errorByName } from './errors.js';

import { outOfRangeError } from './validators.js';

/** The longest single wait pollAsync makes on a worker thread (see #waitOnThread). */
const WORKER_SLICE_MS = 100;

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

// ---- what a Poll knows beyond its selector ---------------------------------------------------
//
// Pending events: the Events a Poll filled last (up to SINKS_KEPT of them) are remembered, so that
// deregistering or closing a source drops its events still waiting in them (dropEvents): a loop
// that closes token 11 while handling token 10 never sees 11's event, nor does the new source that
// got token 11 in the same batch. An Events filled by another Poll since is left alone (`from`).
//
// Retries: a source that must be tried again later without an event from the OS (a listener
// paused by fd exhaustion) asks for a readable event at a time (readyAt); Poll then waits no longer
// than that and reports it, so a plain accept-until-null loop is a correct server.
const SINKS_KEPT = 4;
interface Due { token: Token; at: number }
interface Book {
  readonly sinks: (Sink | null)[]; next: number; readonly due: Map<object, Due>;
  /** While a pollAsync waits: makes it collect now (a retry became due early). */
  kick: (() => void) | null;
}
const books = new WeakMap<Selector, Book>();
/** The Books with retries pending, for retryAllNow(). */
const booksWithDue = new Set<Book>();

/** @internal Drops `token`'s events not yet iterated in the Events this Poll filled last. */
export function dropEvents(selector: Selector, token: Token): void {
  const book = books.get(selector);
  if (book === undefined) return;
  for (let k = 0; k < SINKS_KEPT; k++) {
    const s = book.sinks[k];
    if (s == null || s.from !== selector) continue;
    const tokens = s.tokens; const flags = s.flags;
    for (let i = 0; i < s.len; i++) if (tokens[i] === token) flags[i] = DROPPED;
  }
}

/** @internal Asks the Poll for one readable event with `token` at `at` (performance.now() ms) for `key`; replaces an earlier request. */
export function readyAt(selector: Selector, key: object, token: Token, at: number): void {
  const book = books.get(selector);
  if (book === undefined) return;
  book.due.set(key, { token, at });
  booksWithDue.add(book);
}

/** @internal Withdraws `key`'s request. */
export function cancelReadyAt(selector: Selector, key: object): void {
  const book = books.get(selector);
  if (book === undefined || !book.due.delete(key)) return;
  if (book.due.size === 0) booksWithDue.delete(book);
}

/** @internal Makes every pending retry due now (an fd was freed: a paused listener may accept). */
export function retryAllNow(): void {
  if (booksWithDue.size === 0) return;
  for (const book of booksWithDue) {
    for (const d of book.due.values()) d.at = 0;
    book.kick?.();
  }
}

/** Milliseconds until the first retry of `book` is due (0 when one is), or -1 when none is pending. */
function firstDueIn(book: Book): number {
  let first = Infinity;
  for (const d of book.due.values()) if (d.at < first) first = d.at;
  return first === Infinity ? -1 : Math.max(0, first - performance.now());
}

/** Appends the retries that are due to `ev` after its `n` events (as room allows); returns the new count. */
function addDue(book: Book, ev: Sink, n: number): number {
  const now = performance.now();
  for (const [key, d] of book.due) {
    if (n >= ev.capacity) break;
    if (d.at > now) continue;
    ev.tokens[n] = d.token; ev.flags[n] = Ready.READABLE; n++;
    book.due.delete(key);
  }
  if (book.due.size === 0) booksWithDue.delete(book);
  return n;
}

/** The timeout a wait may use when retries are pending: no longer than the first one. */
function capTimeout(book: Book, t: number): number {
  if (book.due.size === 0) return t;
  const due = firstDueIn(book);
  return due < 0 ? t : t < 0 || due < t ? due : t;
}

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
  readonly #book: Book = { sinks: [null, null, null, null], next: 0, due: new Map(), kick: null };
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
    books.set(this.#selector, this.#book);
    closeOnCollect(this, this.#core);
  }

  /** Starts a fill of `ev`: empties it and remembers it as one of this Poll's (see dropEvents). */
  #begin(ev: Sink): void {
    ev.len = 0;
    const sel = this.#selector;
    if (ev.from === sel) return;
    ev.from = sel;
    const book = this.#book;
    book.sinks[book.next] = ev;
    book.next = (book.next + 1) % SINKS_KEPT;
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
    const book = this.#book;
    const t = capTimeout(book, validTimeout(timeoutMs));
    if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
    this.#begin(ev);
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
    ev.len = book.due.size === 0 ? n : addDue(book, ev, n);
  }

  /**
   * The same wait without blocking Node's event loop: timers, other I/O and signal handlers run
   * meanwhile. Resolves when `events` holds events or the timeout passed (then `events` is empty);
   * rejects with the signal's reason on abort, leaving the Poll usable. One at a time per Poll.
   */
  pollAsync(events: Events, timeoutMs?: number | null, signal?: AbortSignal): Promise<void> {
    try {
      const ev = validEvents(events);
      const t = capTimeout(this.#book, validTimeout(timeoutMs));
      if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('signal', 'an instance of AbortSignal', signal);
      if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync is in progress on this Poll');
      if (signal?.aborted) return Promise.reject(abortError(signal));
      this.#begin(ev);
      const sel = this.#selector;
      const wait = sel.wait;
      if (wait.kind === 'fd') {
        this.#collect(ev, 0);
        if (ev.len > 0 || t === 0) return Promise.resolve();
        return this.#waitOnFd(wait.fd, ev, t, signal);
      }
      return this.#waitOnThread(wait, ev, t, signal);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Collects what is ready now (and the retries that are due) into `ev`. */
  #collect(ev: Sink, timeoutMs: number): void {
    const n = this.#selector.select(ev, timeoutMs);
    const book = this.#book;
    ev.len = book.due.size === 0 ? n : addDue(book, ev, n);
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
        this.#book.kick = null;
        this.#core.watcher?.unref();
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(); else reject(err);
      };
      const onAbort = () => settle(abortError(signal!));
      const onReady = () => {
        try {
          this.#collect(ev, 0);
          if (ev.len > 0) settle(undefined); // else spurious: keep waiting
        } catch (e) { settle(e); }
      };
      this.#cancelWait = settle;
      this.#onReady = onReady;
      this.#book.kick = () => queueMicrotask(() => { if (this.#onReady === onReady) onReady(); }); // still this wait
      this.#watch(fd);
      if (t >= 0) timer = setTimeout(() => { try { this.#collect(ev, 0); settle(undefined); } catch (e) { settle(e); } }, t);
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
        this.#book.kick = null;
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve(); else reject(err);
      };
      this.#cancelWait = (err) => { aborted = err; hasAborted = true; };
      this.#book.kick = () => wait.interrupt();
      const attempt = () => {
        let left = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
        // Node lets a worker's pending koffi call finish before worker.terminate() completes: on a
        // worker, wait in slices so a terminate never waits longer than one.
        if (!isMainThread && (left < 0 || left > WORKER_SLICE_MS)) left = WORKER_SLICE_MS;
        wait.selectAsync(ev, left, (err, n) => {
          if (err) return settle(hasAborted ? aborted : err);
          const book = this.#book;
          ev.len = book.due.size === 0 ? n : addDue(book, ev, n);
          n = ev.len;
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
