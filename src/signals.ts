// Signals: a Source that turns POSIX signals into events, for programs whose loop blocks in
// poll() (signal-hook-mio's Signals, in Node's terms). JavaScript signal handlers run only when
// Node's event loop turns, which a blocking loop never lets happen; a Signals source wakes the
// Poll instead, and pending() says which signals came.
//
//   const signals = new Signals(['SIGINT', 'SIGTERM']);
//   poll.registry().register(signals, SIGNAL, Interest.READABLE);
//   ... on an event with token SIGNAL: for (const name of signals.pending()) ...
//
// Node's own handling keeps working: process.on listeners still run when the loop turns. While a
// Signals catches a signal, its default action (terminate, for SIGTERM) does not happen; close()
// gives it back (unless process.on listeners or another Signals still catch it).
import { constants } from 'node:os';
import { inspect } from 'node:util';
import { closeOnCollect } from './finalizer.js';
import type { Interest } from './interest.js';
import { IoSource } from './io-source.js';
import { trackSignals } from './orphans.js';
import type { Registry, Source } from './poll.js';
import { createSignalSet, type SignalSet, signalRecord } from './sys/signals.js';
import type { Token } from './token.js';
import { argTypeError, argValueError, guardThis } from './validators.js';

const byName = constants.signals as Readonly<Record<string, number>>;
const byNumber = new Map<number, NodeJS.Signals>();
for (const [name, n] of Object.entries(byName)) if (!byNumber.has(n)) byNumber.set(n, name as NodeJS.Signals);

/** One signal given by name ('SIGTERM') or number; returns its number. */
function signalNumber(s: unknown): number {
  if (typeof s === 'string') {
    if (Object.hasOwn(byName, s)) return byName[s]!;
    throw argValueError('signals', `has an unknown signal name ${JSON.stringify(s)}`, s);
  }
  if (typeof s === 'number') {
    if (byNumber.has(s)) return s;
    throw argValueError('signals', `has an unknown signal number ${s}`, s);
  }
  throw argTypeError('signals', "an iterable of signal names ('SIGTERM') or numbers", s);
}

/**
 * The signal set's fd as a source: closed when dropped or at a worker's exit like any other, but
 * not one of the fds the starter of a terminated worker closes by number: that thread finishes the
 * set's loop from its record (src/orphans.ts), which closes this fd with the loop's others.
 */
class SignalSource extends IoSource {
  override get ownedFds(): number[] {
    return [];
  }
}

/** A Source that reports POSIX signals as readable events (signalfd-like, on any Unix backend). */
export class Signals implements Source, Disposable {
  #io: IoSource;
  static {
    guardThis(this, (o) => #io in o);
  }
  #set: SignalSet;
  #signals: readonly NodeJS.Signals[];

  /**
   * Catches `signals` (names such as 'SIGTERM', or numbers) from now on; register it with a Poll to
   * be woken. SIGKILL and SIGSTOP cannot be caught (EINVAL). ERR_METAL_IO_UNSUPPORTED on Windows.
   */
  constructor(signals: Iterable<NodeJS.Signals | number>) {
    if (typeof signals !== 'object' || signals === null || typeof (signals as Iterable<unknown>)[Symbol.iterator] !== 'function') {
      throw argTypeError('signals', "an iterable of signal names ('SIGTERM') or numbers", signals);
    }
    const nums: number[] = [];
    try {
      for (const s of signals as Iterable<unknown>) {
        const n = signalNumber(s);
        if (!nums.includes(n)) nums.push(n);
        if (nums.length > 64) throw argValueError('signals', 'has more than 64 signals', signals);
      }
    } catch (e) {
      // The engine's own refusal to iterate (a detached typed array, a broken iterator protocol)
      // becomes a coded argument error; the caller's own exceptions pass through.
      if (e instanceof TypeError && !Object.hasOwn(e, 'code')) throw argValueError('signals', `cannot be iterated (${e.message})`, signals);
      throw e;
    }
    if (nums.length === 0) throw argValueError('signals', 'must name at least one signal', signals);
    // Announced before the loop exists: a worker ended at any point after leaves it to its starter.
    const record = signalRecord();
    trackSignals(record);
    const set = createSignalSet(nums, record);
    this.#set = set;
    this.#signals = Object.freeze(nums.map((n) => byNumber.get(n)!));
    // The fd belongs to the signal set: closing the source closes the set (deregistered first).
    this.#io = new SignalSource(set.fd, 'Signals', () => set.close());
    closeOnCollect(this, this.#io);
  }

  /** The signals caught, by name. */
  get signals(): readonly NodeJS.Signals[] {
    return this.#signals;
  }

  /** The fd a Poll watches (owned: closed by close()). */
  get fd(): number {
    return this.#io.fd;
  }

  /** Whether close() was called. */
  get closed(): boolean {
    return this.#io.closed;
  }

  /**
   * The signals caught since the last call, each once, in the order first caught ([] when none).
   * Call it on every event with this source's token: it also re-arms the source.
   */
  pending(): NodeJS.Signals[] {
    this.#io.checkOpen('pending');
    const got = this.#set.drain();
    this.#io.wouldBlock();
    return got.map((n) => byNumber.get(n)!);
  }

  /** Source: starts delivering readable events with `token` when a signal is caught. */
  register(registry: Registry, token: Token, interest: Interest): void {
    this.#io.register(registry, token, interest);
  }
  /** Source: changes token and interest. */
  reregister(registry: Registry, token: Token, interest: Interest): void {
    this.#io.reregister(registry, token, interest);
  }
  /** Source: stops delivering events. */
  deregister(registry: Registry): void {
    this.#io.deregister(registry);
  }

  /** Deregisters, stops catching the signals (their default action returns unless caught elsewhere). Closing twice is harmless. */
  close(): void {
    this.#io.close();
  }

  /** `using`: closes. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** For util.inspect: `Signals { signals: [ 'SIGTERM' ], fd: 12 }`. */
  [inspect.custom](): string {
    return `Signals { signals: ${inspect(this.#signals)}, ${this.closed ? 'closed' : `fd: ${this.fd}`} }`;
  }
}
