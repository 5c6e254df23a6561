// Events and Event: the readiness a poll returned. Backends decode their native records into two
// typed arrays (tokens, normalized readiness bits) during the poll itself, so reading an Event is
// plain array access: no FFI call, no allocation. Event objects are preallocated, one per slot, and
// describe the latest poll (like mio's `&Event`, valid until the next poll on the same Events).
import { inspect } from 'node:util';
import { type EventSink, Ready } from './sys/selector.js';
import type { Token } from './token.js';
import { guardThis, invalidThis, validInteger } from './validators.js';

export { Ready };

let flagsOf: (e: unknown) => number;
let tokenOf: (e: unknown) => Token;

/** One readiness event. Valid until the Events it came from is polled or cleared again. */
export class Event {
  readonly #sink: Sink;
  readonly #slot: number;
  /** @internal */ constructor(sink: Sink, slot: number) {
    this.#sink = sink;
    this.#slot = slot;
  }
  static {
    // The `this` check inline (not guardThis's wrapper, which V8 does not inline here): these run
    // once per event. The engine's own brand check of `e.#sink` decides (a plain object, a Proxy,
    // a primitive all fail it); only its TypeError is turned into ERR_INVALID_THIS.
    flagsOf = (e) => {
      try {
        return (e as Event).#sink.flags[(e as Event).#slot]!;
      } catch {
        throw invalidThis('Event');
      }
    };
    tokenOf = (e) => {
      try {
        return (e as Event).#sink.tokens[(e as Event).#slot]!;
      } catch {
        throw invalidThis('Event');
      }
    };
  }
  /** The token the source was registered with. */
  get token(): Token {
    return tokenOf(this);
  }
  /** Readable, or a read-side condition to notice (data, EOF, error). */
  isReadable(): boolean {
    return (flagsOf(this) & Ready.READABLE) !== 0;
  }
  /** Writable, or a write-side condition to notice (hang-up, error). */
  isWritable(): boolean {
    return (flagsOf(this) & Ready.WRITABLE) !== 0;
  }
  /** An error condition (EPOLLERR, EV_ERROR, POLLERR, AFD_POLL_CONNECT_FAIL); read it with takeError(). */
  isError(): boolean {
    return (flagsOf(this) & Ready.ERROR) !== 0;
  }
  /** The read half is closed: the peer shut down writing or hung up. */
  isReadClosed(): boolean {
    return (flagsOf(this) & Ready.READ_CLOSED) !== 0;
  }
  /** The write half is closed: writes will fail (peer hung up or reset). Not reported on every OS. */
  isWriteClosed(): boolean {
    return (flagsOf(this) & Ready.WRITE_CLOSED) !== 0;
  }
  /** Priority (out-of-band) data is ready: EPOLLPRI / POLLPRI. */
  isPriority(): boolean {
    return (flagsOf(this) & Ready.PRIORITY) !== 0;
  }
  /** An AIO completion (kqueue EVFILT_AIO: FreeBSD, macOS); false elsewhere. */
  isAio(): boolean {
    return (flagsOf(this) & Ready.AIO) !== 0;
  }
  /** A LIO completion (kqueue EVFILT_LIO: FreeBSD); false elsewhere. */
  isLio(): boolean {
    return (flagsOf(this) & Ready.LIO) !== 0;
  }
  /** How util.inspect shows it. */
  [inspect.custom](): string {
    const f = flagsOf(this);
    const on = Object.entries(Ready)
      .filter(([, bit]) => (f & bit) !== 0)
      .map(([n]) => n.toLowerCase());
    return `Event { token: ${this.token}, ${on.join(', ') || 'none'} }`;
  }
}
/**
 * The flags of an event dropped after the poll because its source was deregistered or closed
 * (Poll's dropEvents): no readiness bit, and iteration skips it. No backend writes this value.
 */
export const DROPPED = 0x80000000;

/**
 * What a backend fills (src/sys/selector.ts EventSink), plus the count and the Poll that filled it
 * last (`from`, so a close drops only that Poll's pending events); never visible to callers.
 */
export interface Sink extends EventSink {
  len: number;
  from: object | null;
  readonly slots: readonly Event[];
}

/**
 * An iterator over one Events. Each iteration has its own position and result object, so nested
 * and interleaved loops are complete and independent. The Events keeps one for plain for...of
 * loops (no allocation); a second iteration started while that one runs gets a new one.
 */
class EventsIterator implements IterableIterator<Event> {
  #i = 0;
  #active = false;
  static {
    guardThis(this, (o) => #i in o, 'an Events iterator', ['next']);
  }
  readonly #result = { done: false, value: undefined as Event | undefined };
  constructor(private readonly sink: Sink) {}
  /** @internal */ get active(): boolean {
    return this.#active;
  }
  /** @internal */ start(): this {
    this.#i = 0;
    this.#active = true;
    return this;
  }
  next(): IteratorResult<Event> {
    let r: { done: boolean; value: Event | undefined };
    try {
      r = this.#result;
    } catch {
      throw invalidThis('an Events iterator');
    } // inline: once per event

    const s = this.sink;
    if (this.#active) {
      const flags = s.flags;
      while (this.#i < s.len) {
        const k = this.#i++;
        if (flags[k] !== DROPPED) {
          r.done = false;
          r.value = s.slots[k];
          return r as IteratorResult<Event>;
        }
      }
    }
    this.#active = false;
    r.done = true;
    r.value = undefined;
    return r as IteratorResult<Event>;
  }
  /** Called by for...of on break or throw: the iteration is over. */
  return(): IteratorResult<Event> {
    this.#active = false;
    const r = this.#result;
    r.done = true;
    r.value = undefined;
    return r as IteratorResult<Event>;
  }
  [Symbol.iterator](): this {
    return this;
  }
}

let sinkOf: (events: unknown) => Sink | undefined;
let ownSink: (events: unknown) => Sink; // the `this` check inline for the per-event members (see Event)

/** A reusable buffer of events, filled by Poll.poll(). */
export class Events implements Iterable<Event> {
  readonly #sink: Sink;
  readonly #iterator: EventsIterator;

  /** Same as `new Events(capacity)`. */
  static withCapacity(capacity: number): Events {
    return new Events(capacity);
  }

  /** Room for `capacity` events per poll (1 to 2^20), allocated once. */
  constructor(capacity: number) {
    validInteger(capacity, 'capacity', 1, 1 << 20);
    const slots: Event[] = [];
    const sink: Sink = { capacity, tokens: new Float64Array(capacity), flags: new Uint32Array(capacity), len: 0, from: null, slots };
    for (let i = 0; i < capacity; i++) slots.push(new Event(sink, i));
    Object.freeze(slots);
    this.#sink = Object.seal(sink);
    this.#iterator = new EventsIterator(sink);
  }

  static {
    guardThis(this, (o) => #sink in o, 'Events', ['get', 'length', 'isEmpty']);
    ownSink = (e) => {
      try {
        return (e as Events).#sink;
      } catch {
        throw invalidThis('Events');
      }
    };
    sinkOf = (events) => (typeof events === 'object' && events !== null && #sink in events ? (events as Events).#sink : undefined);
  }

  /** How many events one poll can return (fixed at construction). */
  get capacity(): number {
    return this.#sink.capacity;
  }
  /**
   * Number of events from the last poll (events dropped since, because their source was closed or
   * deregistered, still count here; iteration skips them and `get` gives undefined for them).
   */
  get length(): number {
    return ownSink(this).len;
  }
  /** Whether the last poll returned no event. */
  isEmpty(): boolean {
    return ownSink(this).len === 0;
  }
  /** Forgets the events of the last poll. */
  clear(): void {
    this.#sink.len = 0;
  }
  /** The i-th event of the last poll; undefined past the end and for an event dropped since (see `length`). */
  get(i: number): Event | undefined {
    const s = ownSink(this);
    return Number.isInteger(i) && i >= 0 && i < s.len && s.flags[i] !== DROPPED ? s.slots[i] : undefined;
  }
  /** The events of the last poll; a plain for...of allocates nothing. */
  [Symbol.iterator](): IterableIterator<Event> {
    const it = this.#iterator;
    return it.active ? new EventsIterator(this.#sink).start() : it.start();
  }
  /** How util.inspect shows it. */
  [inspect.custom](): string {
    const s = this.#sink;
    return `Events(${s.len}/${s.capacity}) [${s.slots
      .slice(0, s.len)
      .filter((_, i) => s.flags[i] !== DROPPED)
      .map((e) => e[inspect.custom]())
      .join(', ')}]`;
  }
}

/** @internal The backend-facing sink of `events`, or undefined when `events` is not an Events. */
export function eventSink(events: unknown): Sink | undefined {
  return sinkOf(events);
}
