// Poll and Registry: mio's event queue. Poll waits; Registry registers sources. No platform code
// here: everything OS-specific is behind the Selector (src/sys/selector.ts).

import { inspect } from 'node:util';
import { isMainThread } from 'node:worker_threads';
import { CHECK, type CheckMode, envCheck, Misuse, misuse, parseCheck } from './check.js';
import { errorByName } from './errors.js';
import { DROPPED, Events, eventSink, Ready, type Sink } from './event.js';
import { envFaults, type Faults, parseFaults } from './faults.js';
import { closeOnCollect, forget, type Reapable } from './finalizer.js';
import { type Interest, validInterest } from './interest.js';
import { createSelector } from './sys/backend.js';
import { type Stopwatch, stopwatch } from './sys/clock.js';
import type { Selector, WaitStrategy } from './sys/selector.js';
import { type FdWatch, watchReadable } from './sys/watch.js';
import { type Token, validToken } from './token.js';
import { argTypeError, guardThis, outOfRangeError } from './validators.js';

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
interface Due {
  token: Token;
  at: number;
  flags: number;
}
interface Book {
  readonly sinks: (Sink | null)[];
  next: number;
  readonly due: Map<object, Due>;
  /** While a pollAsync waits: makes it collect now (a retry became due early). */
  kick: (() => void) | null;
  /** Fault injection (faults.ts): the plan, the registered sources (for spurious events), events split off a batch. */
  readonly faults: Faults | null;
  /** `closed`: the READ_CLOSED/WRITE_CLOSED bits the OS reported for it so far (they never clear; owed and spurious events carry them). */
  readonly registered: Map<object, { token: Token; flags: number; closed: number }> | null;
  readonly carry: { tokens: Token[]; flags: number[] } | null;
  /** The misuse detector (check.ts): its mode, the source of each token, readable events not yet drained, sources that read end of stream. */
  readonly check: CheckMode;
  readonly byToken: Map<Token, object> | null;
  readonly undrained: Set<object> | null;
  readonly eof: Set<object> | null;
  readonly needWritable: Set<object> | null;
}
const books = new WeakMap<Selector, Book>();
/** This thread's clock for timed waits cut short (made with the first Poll: no binding happens mid-wait). */
let clock: Stopwatch | null = null;
/** The Books with retries pending, for retryAllNow(). */
const booksWithDue = new Set<Book>();

/** @internal Drops `token`'s events not yet iterated in the Events this Poll filled last. */
export function dropEvents(selector: Selector, token: Token): void {
  const book = books.get(selector);
  if (book === undefined) return;
  for (let k = 0; k < SINKS_KEPT; k++) {
    const s = book.sinks[k];
    if (s == null || s.from !== selector) continue;
    const tokens = s.tokens;
    const flags = s.flags;
    for (let i = 0; i < s.len; i++) if (tokens[i] === token) flags[i] = DROPPED;
  }
  const c = book.carry;
  if (c !== null)
    for (let i = c.tokens.length - 1; i >= 0; i--)
      if (c.tokens[i] === token) {
        c.tokens.splice(i, 1);
        c.flags.splice(i, 1);
      }
}

/** @internal The fault plan of the Poll behind `selector`, or null. */
export function faultsOf(selector: Selector): Faults | null {
  return books.get(selector)?.faults ?? null;
}

/**
 * @internal With fault injection or the misuse detector on: `key` (an owned source) is registered
 * with `token` and would see `flags` (null: deregistered or closed).
 */
export function noteRegistration(selector: Selector, key: object, token: Token, flags: number | null, what = ''): void {
  const book = books.get(selector);
  const reg = book?.registered;
  if (reg == null) return;
  const byToken = book!.byToken;
  const old = reg.get(key);
  if (byToken !== null && old !== undefined && byToken.get(old.token) === key) byToken.delete(old.token);
  if (flags === null) {
    reg.delete(key);
    book!.undrained?.delete(key);
    book!.eof?.delete(key);
    book!.needWritable?.delete(key);
    return;
  }
  reg.set(key, { token, flags, closed: old?.closed ?? 0 });
  if (byToken !== null) {
    const other = byToken.get(token);
    if (other !== undefined && other !== key && reg.has(other))
      misuse(
        book!.check,
        key,
        Misuse.TOKEN_TWICE,
        `token ${token} given to ${what || 'a source'} while another live source of this Poll has it; their events cannot be told apart`,
      );
    byToken.set(token, key);
  }
}

/** @internal The misuse detector's mode for the Poll behind `selector` (METAL_IO_CHECK's when none). */
export function checkModeOf(selector: Selector | null): CheckMode {
  return selector === null ? envCheck : (books.get(selector)?.check ?? envCheck);
}

/** @internal The detector: `key` followed its readable event to would-block (or paused, or closed). */
export function noteDrained(selector: Selector, key: object): void {
  books.get(selector)?.undrained?.delete(key);
}

/** @internal The detector: `key` read end of stream. */
export function noteEof(selector: Selector, key: object): void {
  books.get(selector)?.eof?.add(key);
}

/** @internal The detector: a write to `key` would-block; by the next wait it must have WRITABLE interest. */
export function noteWriteBlocked(selector: Selector, key: object): void {
  books.get(selector)?.needWritable?.add(key);
}

/** The detector before a wait: what the last batch left undone. */
function audit(book: Book): void {
  const reg = book.registered!;
  for (const key of book.undrained!) {
    const r = reg.get(key);
    if (r === undefined) continue;
    if (isPaused(key))
      misuse(
        book.check,
        key,
        Misuse.PAUSED_DROPPED,
        `token ${r.token}: a listener paused by fd exhaustion (EMFILE) was reported readable for its retry and accept() was not called before polling again; it accepts nothing until it is`,
      );
    else
      misuse(
        book.check,
        key,
        Misuse.UNDRAINED,
        `token ${r.token}: a readable event was not followed to would-block (read or accept until null) before polling again; edge-triggered readiness will not report the data already there`,
      );
  }
  book.undrained!.clear();
  for (const key of book.eof!) {
    const r = reg.get(key);
    if (r !== undefined && (r.flags & Ready.READABLE) !== 0)
      misuse(
        book.check,
        key,
        Misuse.EOF_AS_WOULD_BLOCK,
        `token ${r.token}: read() returned 0 (end of stream) and the source stays registered for READABLE; 0 is not would-block (null is): close or deregister it`,
      );
  }
  book.eof!.clear();
  for (const key of book.needWritable!) {
    const r = reg.get(key);
    if (r !== undefined && (r.flags & Ready.WRITABLE) === 0)
      misuse(
        book.check,
        key,
        Misuse.NO_WRITABLE,
        `token ${r.token}: a write returned would-block (null) but the source is not registered for WRITABLE: no event will say when to write again`,
      );
  }
  book.needWritable!.clear();
}

/** Whether `key` (an owned source) is paused until a retry time (a listener out of fds: IoSource.retryAt). */
function isPaused(key: object): boolean {
  const at = (key as { retryAt?: unknown }).retryAt;
  return typeof at === 'number' && at >= 0;
}

/** The detector after a wait: every readable event of an owned source must be drained before the next. */
function noteDelivered(book: Book, ev: Sink, n: number): void {
  const byToken = book.byToken!;
  const undrained = book.undrained!;
  for (let i = 0; i < n; i++) {
    if ((ev.flags[i]! & Ready.READABLE) === 0) continue;
    const key = byToken.get(ev.tokens[i]!);
    if (key !== undefined) undrained.add(key);
  }
}

/**
 * @internal Asks the Poll for one event with `token` and readiness `flags` (readable unless given)
 * at `at` (performance.now() ms) for `key`. A request already pending for `key` is replaced.
 */
export function readyAt(selector: Selector, key: object, token: Token, at: number, flags: number = Ready.READABLE): void {
  const book = books.get(selector);
  if (book === undefined) return;
  book.due.set(key, { token, at, flags });
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
    ev.tokens[n] = d.token;
    ev.flags[n] = d.flags;
    n++;
    book.due.delete(key);
  }
  if (book.due.size === 0) booksWithDue.delete(book);
  return n;
}

/** What a wait collected, with the retries due and (under fault injection) shaken: the final count. */
function finish(book: Book, ev: Sink, n: number): number {
  if (book.due.size !== 0) n = addDue(book, ev, n);
  if (book.faults !== null) {
    noteClosed(book, ev, n);
    n = shake(book, book.faults, ev, n);
  }
  if (book.check !== 0) noteDelivered(book, ev, n);
  return n;
}

const CLOSED = Ready.READ_CLOSED | Ready.WRITE_CLOSED;

/** Fault injection: remembers which sources the OS reported read- or write-closed (a state that never goes back). */
function noteClosed(book: Book, ev: Sink, n: number): void {
  for (let i = 0; i < n; i++) {
    const bits = ev.flags[i]! & CLOSED;
    if (bits === 0) continue;
    const key = book.byToken!.get(ev.tokens[i]!);
    const r = key === undefined ? undefined : book.registered!.get(key);
    if (r !== undefined) r.closed |= bits;
  }
}

/**
 * @internal Fault injection: the event owed to `source` after an injected would-block or short
 * count (`flags`' readiness, on the next poll), under `key`. It carries the closed bits the OS
 * already reported, as the kernel's own event for what is still there would: after a
 * READABLE|READ_CLOSED event and an injected would-block, the end of stream is still queued behind
 * the data, and a loop that reads on to 0 only when told read-closed must be told again.
 */
export function owedAt(selector: Selector, source: object, key: object, token: Token, flags: number): void {
  readyAt(selector, key, token, 0, flags | (books.get(selector)?.registered?.get(source)?.closed ?? 0));
}

/**
 * Fault injection on a batch: events split off the last batch come first; then, each at the plan's
 * rate, the batch is reordered, split (the tail waits for the next poll) or given a spurious event
 * of a registered source.
 */
function shake(book: Book, f: Faults, ev: Sink, n: number): number {
  const c = book.carry!;
  while (c.tokens.length > 0 && n < ev.capacity) {
    ev.tokens[n] = c.tokens.shift()!;
    ev.flags[n] = c.flags.shift()!;
    n++;
  }
  if (n > 1 && f.hit()) {
    f.counts.reorder++;
    for (let i = n - 1; i > 0; i--) {
      const j = f.int(i + 1);
      const t = ev.tokens[i]!;
      ev.tokens[i] = ev.tokens[j]!;
      ev.tokens[j] = t;
      const g = ev.flags[i]!;
      ev.flags[i] = ev.flags[j]!;
      ev.flags[j] = g;
    }
  }
  if (n > 1 && f.hit()) {
    f.counts.split++;
    const keep = 1 + f.int(n - 1);
    for (let i = keep; i < n; i++) {
      c.tokens.push(ev.tokens[i]!);
      c.flags.push(ev.flags[i]!);
    }
    n = keep;
  }
  const reg = book.registered!;
  if (reg.size > 0 && n < ev.capacity && f.hit()) {
    let k = f.int(reg.size);
    for (const r of reg.values()) {
      if (k-- > 0) continue;
      if (r.flags !== 0) {
        f.counts.spurious++;
        ev.tokens[n] = r.token;
        ev.flags[n] = r.flags | r.closed;
        n++;
      }
      break;
    }
  }
  return n;
}

/** The timeout a wait may use when retries or split-off events are pending: no longer than the first one. */
function capTimeout(book: Book, t: number): number {
  if (book.carry !== null && book.carry.tokens.length > 0) return 0;
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
  if (
    !s ||
    typeof s !== 'object' ||
    s instanceof Registry ||
    typeof s.register !== 'function' ||
    typeof s.reregister !== 'function' ||
    typeof s.deregister !== 'function'
  ) {
    throw argTypeError('source', 'a Source (register, reregister, deregister)', source);
  }
  return s;
}

/** Registers sources with a Poll. Cheap to clone; every clone drives the same Poll. */
export class Registry {
  /** @internal */
  constructor(selector: Selector, poll: Poll) {
    selectors.set(this, selector);
    owners.set(this, poll);
  }

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
function runCheckpoint(): void {
  if (typeof tickCallback === 'function') tickCallback.call(process);
}

/** The OS side of a Poll, closed by the finalizer when the Poll and its Registries are dropped. */
class PollCore implements Reapable {
  watcher: FdWatch | null = null;
  /**
   * What the watcher's turn runs while a pollAsync or run waits (null otherwise). It holds the Poll
   * strongly, so a waiting Poll stays alive (a runner of a Poll nobody else references keeps
   * running) and becomes collectable again when the wait ends.
   */
  onReady: (() => void) | null = null;
  /** Whether the watcher is started. */
  watching = false;
  /** The watcher's callback: reaches only this core, never the Poll itself. */
  readonly fire = (): void => {
    const f = this.onReady;
    if (f !== null) {
      f();
      runCheckpoint();
      return;
    }
    this.watcher?.stop(); // readable while nobody waits: stop until the next wait
    this.watching = false;
  };
  constructor(readonly selector: Selector) {}
  close(): void {
    this.watcher?.close();
    this.watcher = null;
    this.selector.close();
  }
  describe(): string {
    return `Poll (${this.selector.backend})`;
  }
  get ownedFds(): readonly number[] {
    return this.selector.fds;
  }
}

function abortError(signal: AbortSignal): unknown {
  // The reason exactly as given, null included (abort() with no reason gives Node's AbortError DOMException).
  return signal.reason;
}

/** A fault plan as an object (the string form is `'<seed>[,rate=<0..1>][,reset=<n>]'`). */
export interface FaultPlan {
  /** The seed: an integer from 0 to 2^32-1; the same seed gives the same decisions. */
  seed: number;
  /** The share of calls that get a fault, from 0 to 1 (default 0.05). */
  rate?: number;
  /** Which stream (the n-th the plan sees, from 1) is reset mid-stream; 0 (default): none. */
  reset?: number;
}

/** What `poll.faults` tells: the plan in force and how many faults of each kind it injected. */
export interface FaultReport {
  /** The plan's seed. */
  readonly seed: number;
  /** The share of calls that get a fault. */
  readonly rate: number;
  /** The stream chosen for a reset (0: none). */
  readonly reset: number;
  /** Faults injected so far, by kind: wouldBlock, short, reset, accept, socket, split, reorder, spurious, eintr. */
  readonly counts: Readonly<Record<string, number>>;
}

/** Options of `new Poll(options)`. */
export interface PollOptions {
  /** Seeded fault injection for this Poll's sources: `'<seed>[,rate=<0..1>][,reset=<n>]'` or a FaultPlan (as METAL_IO_FAULTS). */
  faults?: string | FaultPlan;
  /** The misuse detector for this Poll's sources: true (report on stderr) or 'strict' (throw), as METAL_IO_CHECK=1|strict. */
  check?: boolean | 'strict';
}

function pollOptions(options: unknown): { faults: Faults | null; check: CheckMode } {
  if (options === undefined) return { faults: envFaults, check: envCheck };
  if (typeof options !== 'object' || options === null) throw argTypeError('options', 'an object', options);
  const own = (k: string) => {
    const d = Object.getOwnPropertyDescriptor(options, k);
    return d && 'value' in d ? d.value : undefined;
  };
  const spec = own('faults');
  const check = own('check');
  const mode = check === undefined ? envCheck : parseCheck(check, 'options.check');
  if (mode !== 0) CHECK.on = true;
  return { faults: spec === undefined ? envFaults : parseFaults(spec, 'options.faults'), check: mode };
}

/** Options of `poll.run(onEvents, options)`. */
export interface RunOptions {
  /** The Events each turn fills and hands to `onEvents` (default: a new Events(1024)). */
  events?: Events;
  /** Stops the runner when aborted (as `runner.stop()`). */
  signal?: AbortSignal;
  /**
   * Where errors go: those `onEvents` throws and those of the wait. The runner keeps running after
   * one (stop it here if the error says so). Without it the runner stops and the error is thrown
   * from Node's loop, as an uncaught exception.
   */
  onError?: (err: unknown) => void;
}

/** A running `poll.run()`. */
export interface PollRunner extends Disposable {
  /** Stops handing over events (at once: no `onEvents` call after it). Stopping twice is harmless. */
  stop(): void;
  /** Whether it still runs (false after stop(), an abort, an unhandled error or the Poll's close()). */
  readonly running: boolean;
  /**
   * Settles once it has stopped and the Poll is free for poll(), pollAsync() or another run: at
   * once where libuv watches the Poll's fd; where a koffi thread waits (poll(2), IOCP, workers),
   * when that wait is back, a moment after stop().
   */
  readonly stopped: Promise<void>;
  /** Keeps the process alive while it runs (the default), as a timer's ref(). */
  ref(): PollRunner;
  /** Lets the process exit while it runs, as a timer's unref(). */
  unref(): PollRunner;
}

function runOptions(options: unknown): { events: unknown; signal: AbortSignal | undefined; onError: ((err: unknown) => void) | undefined } {
  if (options === undefined) return { events: undefined, signal: undefined, onError: undefined };
  if (typeof options !== 'object' || options === null) throw argTypeError('options', 'an object', options);
  const own = (k: string) => {
    const d = Object.getOwnPropertyDescriptor(options, k);
    return d && 'value' in d ? d.value : undefined;
  };
  const events = own('events');
  const signal = own('signal');
  const onError = own('onError');
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw argTypeError('options.signal', 'an instance of AbortSignal', signal);
  if (onError !== undefined && typeof onError !== 'function') throw argTypeError('options.onError', 'of type function', onError);
  return { events, signal, onError };
}

/** The event queue. */
export class Poll implements Disposable {
  readonly #selector: Selector;
  static {
    guardThis(this, (o) => #selector in o);
  }
  readonly #core: PollCore;
  readonly #registry: Registry;
  readonly #book: Book;
  #busy = false;
  #cancelWait: ((err: unknown) => void) | null = null;

  /**
   * A new event queue on the platform's backend (METAL_IO_BACKEND forces another). `options.faults`
   * turns on seeded fault injection for the sources registered with it (`'<seed>[,rate=<0..1>]'`
   * or `{ seed, rate }`, as METAL_IO_FAULTS; see the README).
   */
  constructor(options?: PollOptions) {
    const { faults, check } = pollOptions(options);
    this.#book = {
      sinks: [null, null, null, null],
      next: 0,
      due: new Map(),
      kick: null,
      faults,
      registered: faults !== null || check !== 0 ? new Map() : null,
      carry: faults ? { tokens: [], flags: [] } : null,
      check,
      byToken: faults !== null || check !== 0 ? new Map() : null,
      undrained: check !== 0 ? new Set() : null,
      eof: check !== 0 ? new Set() : null,
      needWritable: check !== 0 ? new Set() : null,
    };
    this.#selector = createSelector();
    clock ??= stopwatch();
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
  [inspect.custom](): string {
    return `Poll { backend: '${this.#selector.backend}', closed: ${this.#selector.closed} }`;
  }

  /** The backend in use: 'epoll', 'kqueue', 'poll', 'iocp' or 'eventports'. */
  get backend(): string {
    return this.#selector.backend;
  }

  /**
   * The fault plan in force for this Poll's sources (`options.faults` or METAL_IO_FAULTS) and how
   * many faults of each kind it injected so far; null when fault injection is off.
   */
  get faults(): FaultReport | null {
    const f = this.#book.faults;
    return f === null ? null : { seed: f.seed, rate: f.rate, reset: f.reset, counts: { ...f.counts } };
  }

  /** The Registry to register sources with. */
  registry(): Registry {
    return this.#registry;
  }

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
    if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync or run is in progress on this Poll');
    if (book.check !== 0) audit(book);
    this.#begin(ev);
    const sel = this.#selector;
    // The clock starts in memory it owns (no number is made per wait); it is read only when a
    // wait comes back early with nothing.
    if (t > 0) clock!.start();
    const f = book.faults;
    let n = 0;
    if (f?.hit())
      f.counts.eintr++; // an injected EINTR: the wait goes on below
    else n = sel.select(ev, t);
    // Back with nothing before the time is up: a signal interrupted the wait (EINTR). Wait out the
    // rest, as libuv does and Python since PEP 475: a wait ends with events or after the timeout.
    while (n === 0 && t !== 0) {
      let left = -1;
      if (t > 0 && (left = t - clock!.elapsed()) <= 0) break;
      n = sel.select(ev, left);
    }
    ev.len = book.due.size === 0 && f === null && book.check === 0 ? n : finish(book, ev, n);
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
      if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync or run is in progress on this Poll');
      if (signal?.aborted) return Promise.reject(abortError(signal));
      if (this.#book.check !== 0) audit(this.#book);
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

  /**
   * Waits inside Node's loop and calls `onEvents(events)` each time there are events, until
   * stopped: the callback form of pollAsync, with no promise per wait. Where the backend has a
   * pollable fd (epoll, kqueue, event ports) on the main thread, a turn allocates nothing: libuv
   * watches the fd and each turn collects with a zero timeout into the same Events. Elsewhere
   * (poll(2), IOCP, worker threads) each wait runs on a koffi thread, as pollAsync's do. While it
   * runs, poll() and pollAsync() on this Poll throw EBUSY; closing the Poll stops it.
   */
  run(onEvents: (events: Events) => void, options?: RunOptions): PollRunner {
    if (typeof onEvents !== 'function') throw argTypeError('onEvents', 'of type function', onEvents);
    const o = runOptions(options);
    const events = (o.events === undefined ? new Events(1024) : o.events) as Events;
    const ev = validEvents(events);
    const { signal, onError } = o;
    if (this.#selector.closed) throw errorByName('poll', 'EBADF', 'the Poll is closed');
    if (this.#busy) throw errorByName('poll', 'EBUSY', 'a pollAsync or run is in progress on this Poll');
    const book = this.#book;
    const core = this.#core;
    const sel = this.#selector;
    const wait = sel.wait;
    let running = !signal?.aborted;
    let pending = false; // a wait on a koffi thread is out: the Poll stays busy until it is back
    let refed = true;
    let timer: NodeJS.Timeout | null = null;
    let stopped: Promise<void> | null = null;
    let settle: (() => void) | null = null;
    let released = false;
    /** The Poll is free again (once no wait of this runner is out). */
    const release = () => {
      if (released) return;
      released = true;
      this.#busy = false;
      this.#cancelWait = null;
      this.#core.onReady = null;
      book.kick = null;
      settle?.();
    };
    const stop = () => {
      if (!running) return;
      running = false;
      if (timer) clearTimeout(timer);
      timer = null;
      signal?.removeEventListener('abort', stop);
      if (wait.kind === 'fd') core.watcher?.unref();
      if (pending && wait.kind === 'thread') wait.interrupt();
      else release();
    };
    const fail = (e: unknown) => {
      if (sel.closed) return stop();
      if (onError) return onError(e);
      stop();
      // From a callback of Node's own (not from inside koffi's watch callback): an uncaught exception.
      setImmediate(() => {
        throw e;
      });
    };
    /** Hands over what `ev` holds, if anything. */
    const handOver = () => {
      if (ev.len === 0) return;
      try {
        onEvents(events);
      } catch (e) {
        fail(e);
      }
    };
    // ---- main thread, pollable fd: libuv's watch turns; a timer only for what no fd announces
    const later = () => {
      if (!running || timer) return;
      const t = capTimeout(book, -1); // retries due, or events carried by fault injection
      if (t < 0) return;
      timer = setTimeout(() => {
        timer = null;
        turn();
      }, t);
      if (!refed) timer.unref();
    };
    const turn = () => {
      if (!running) return;
      try {
        if (book.check !== 0) audit(book);
        this.#begin(ev);
        this.#collect(ev, 0);
      } catch (e) {
        return fail(e);
      }
      handOver();
      later();
    };
    // ---- elsewhere: each wait on a koffi thread is a turn
    const attempt = () => {
      if (wait.kind !== 'thread' || !running) return;
      let left = capTimeout(book, -1);
      // On a worker (terminate waits for a pending koffi call) and when unref'd (a pending call
      // keeps the process alive), wait in slices.
      if ((!isMainThread || !refed) && (left < 0 || left > WORKER_SLICE_MS)) left = WORKER_SLICE_MS;
      this.#begin(ev);
      pending = true;
      wait.selectAsync(ev, left, (err, n) => {
        pending = false;
        if (!running) return release();
        if (err) fail(err);
        else {
          try {
            ev.len = book.due.size === 0 && book.faults === null && book.check === 0 ? n : finish(book, ev, n);
            handOver();
          } catch (e) {
            fail(e);
          }
          runCheckpoint();
        }
        if (!running) return release();
        if (!refed) {
          // The next wait starts from an unref'd timer: if nothing else keeps Node's loop alive,
          // the process exits before it fires.
          setTimeout(next, 0).unref();
          return;
        }
        next();
      });
    };
    const next = () => {
      if (!running) return release();
      try {
        if (book.check !== 0) audit(book);
        attempt();
      } catch (e) {
        pending = false;
        fail(e);
        if (!running) release();
      }
    };
    const runner: PollRunner = Object.freeze({
      stop,
      get running() {
        return running;
      },
      get stopped() {
        stopped ??= released
          ? Promise.resolve()
          : new Promise<void>((resolve) => {
              settle = resolve;
            });
        return stopped;
      },
      ref() {
        refed = true;
        if (running && wait.kind === 'fd') core.watcher?.ref();
        timer?.ref();
        return runner;
      },
      unref() {
        refed = false;
        if (running && wait.kind === 'fd') core.watcher?.unref();
        else if (pending && wait.kind === 'thread') wait.interrupt(); // the next wait is an unref'd slice
        timer?.unref();
        return runner;
      },
      [Symbol.dispose]: stop,
    });
    if (!running) {
      released = true;
      return runner;
    }
    this.#busy = true;
    this.#cancelWait = stop; // close(): the runner stops
    signal?.addEventListener('abort', stop, { once: true });
    if (wait.kind === 'fd') {
      this.#core.onReady = turn;
      book.kick = () =>
        queueMicrotask(() => {
          if (this.#core.onReady === turn) turn();
        });
      this.#watch(wait.fd);
      later();
      return runner;
    }
    book.kick = () => wait.interrupt();
    try {
      if (book.check !== 0) audit(book);
      attempt();
    } catch (e) {
      pending = false;
      stop();
      throw e;
    }
    return runner;
  }

  /** Collects what is ready now (and the retries that are due) into `ev`. */
  #collect(ev: Sink, timeoutMs: number): void {
    const n = this.#selector.select(ev, timeoutMs);
    const book = this.#book;
    ev.len = book.due.size === 0 && book.faults === null && book.check === 0 ? n : finish(book, ev, n);
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
        this.#core.onReady = null;
        this.#book.kick = null;
        this.#core.watcher?.unref();
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => settle(abortError(signal!));
      const onReady = () => {
        try {
          this.#collect(ev, 0);
          if (ev.len > 0) settle(undefined); // else spurious: keep waiting
        } catch (e) {
          settle(e);
        }
      };
      this.#cancelWait = settle;
      this.#core.onReady = onReady;
      this.#book.kick = () =>
        queueMicrotask(() => {
          if (this.#core.onReady === onReady) onReady();
        }); // still this wait
      this.#watch(fd);
      if (t >= 0)
        timer = setTimeout(() => {
          try {
            this.#collect(ev, 0);
            settle(undefined);
          } catch (e) {
            settle(e);
          }
        }, t);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Starts (or re-references) libuv's watch of the selector fd. The watcher lives in the PollCore
   * (GC would close it) and its callback reaches only the core, whose `onReady` holds the Poll
   * while a wait is in progress: a started watcher does not keep a dropped, idle Poll alive.
   */
  #watch(fd: number): void {
    const core = this.#core;
    if (!core.watcher) core.watcher = watchReadable(fd, core.fire);
    else if (!core.watching) core.watcher.start(core.fire);
    core.watching = true;
    core.watcher.ref();
  }

  /** The blocking wait runs on a koffi worker thread; abort interrupts it. */
  #waitOnThread(wait: Extract<WaitStrategy, { kind: 'thread' }>, ev: Sink, t: number, signal?: AbortSignal): Promise<void> {
    const deadline = t < 0 ? Infinity : performance.now() + t;
    return new Promise<void>((resolve, reject) => {
      this.#busy = true;
      let aborted: unknown;
      let hasAborted = false;
      const onAbort = () => {
        aborted = abortError(signal!);
        hasAborted = true;
        wait.interrupt();
      };
      const settle = (err: unknown) => {
        this.#busy = false;
        this.#cancelWait = null;
        this.#book.kick = null;
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else reject(err);
      };
      this.#cancelWait = (err) => {
        aborted = err;
        hasAborted = true;
      };
      this.#book.kick = () => wait.interrupt();
      const attempt = () => {
        let left = deadline === Infinity ? -1 : Math.max(0, deadline - performance.now());
        // Node lets a worker's pending koffi call finish before worker.terminate() completes: on a
        // worker, wait in slices so a terminate never waits longer than one.
        if (!isMainThread && (left < 0 || left > WORKER_SLICE_MS)) left = WORKER_SLICE_MS;
        wait.selectAsync(ev, left, (err, n) => {
          if (err) return settle(hasAborted ? aborted : err);
          const book = this.#book;
          ev.len = book.due.size === 0 && book.faults === null && book.check === 0 ? n : finish(book, ev, n);
          n = ev.len;
          if (hasAborted) {
            ev.len = 0;
            return settle(aborted);
          }
          if (n > 0 || performance.now() >= deadline) return settle(undefined);
          attempt(); // interrupted for a registration change, or spurious: wait again
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        attempt();
      } catch (e) {
        settle(e);
      }
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
  [Symbol.dispose](): void {
    this.close();
  }
}

guardThis(Registry, (o) => selectors.has(o as Registry));
