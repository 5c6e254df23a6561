// Events and Event: the readiness a poll returned. Backends decode their native records into two
// typed arrays (tokens, normalized readiness bits) during the poll itself, so reading an Event is
// plain array access: no FFI call, no allocation. Event objects are preallocated, one per slot, and
// describe the latest poll (like mio's `&Event`, valid until the next poll on the same Events).
import { inspect } from 'node:util';
import type { Token } from './token.js';

/** Normalized readiness bits every backend writes (src/sys/selector.ts). */
export const Ready = Object.freeze({
  READABLE: 1, WRITABLE: 2, ERROR: 4, READ_CLOSED: 8, WRITE_CLOSED: 16, PRIORITY: 32, AIO: 64, LIO: 128,
});

/** One readiness event. Valid until the Events it came from is polled or cleared again. */
export class Event {
  /** @internal */ constructor(private readonly events: Events, private readonly slot: number) {}
  /** The token the source was registered with. */
  get token(): Token { return this.events.tokens[this.slot]!; }
  /** Readable, or a read-side condition to notice (data, EOF, error). */
  isReadable(): boolean { return (this.events.flags[this.slot]! & Ready.READABLE) !== 0; }
  isWritable(): boolean { return (this.events.flags[this.slot]! & Ready.WRITABLE) !== 0; }
  /** An error condition (EPOLLERR, EV_ERROR, POLLERR, AFD_POLL_CONNECT_FAIL); read it with takeError(). */
  isError(): boolean { return (this.events.flags[this.slot]! & Ready.ERROR) !== 0; }
  /** The read half is closed: the peer shut down writing or hung up. */
  isReadClosed(): boolean { return (this.events.flags[this.slot]! & Ready.READ_CLOSED) !== 0; }
  /** The write half is closed: writes will fail (peer hung up or reset). Not reported on every OS. */
  isWriteClosed(): boolean { return (this.events.flags[this.slot]! & Ready.WRITE_CLOSED) !== 0; }
  /** Priority (out-of-band) data is ready: EPOLLPRI / POLLPRI. */
  isPriority(): boolean { return (this.events.flags[this.slot]! & Ready.PRIORITY) !== 0; }
  /** An AIO completion (kqueue EVFILT_AIO: FreeBSD, macOS); false elsewhere. */
  isAio(): boolean { return (this.events.flags[this.slot]! & Ready.AIO) !== 0; }
  /** A LIO completion (kqueue EVFILT_LIO: FreeBSD); false elsewhere. */
  isLio(): boolean { return (this.events.flags[this.slot]! & Ready.LIO) !== 0; }
  [inspect.custom](): string {
    const f = this.events.flags[this.slot]!;
    const on = Object.entries(Ready).filter(([, bit]) => (f & bit) !== 0).map(([n]) => n.toLowerCase());
    return `Event { token: ${this.token}, ${on.join(', ') || 'none'} }`;
  }
}

/** A reusable buffer of events, filled by Poll.poll(). */
export class Events implements Iterable<Event> {
  /** @internal */ readonly tokens: Float64Array;
  /** @internal */ readonly flags: Uint32Array;
  /** @internal */ len = 0;
  private readonly slots: Event[];
  private iterIndex = 0;
  private readonly result: IteratorResult<Event, undefined> = { done: false, value: undefined as unknown as Event };
  private readonly iterator: Iterator<Event, undefined>;

  static withCapacity(capacity: number): Events { return new Events(capacity); }

  constructor(readonly capacity: number) {
    if (typeof capacity !== 'number') throw new TypeError(`capacity must be a number, got ${typeof capacity}`);
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 1 << 20) throw new RangeError(`capacity must be an integer from 1 to 1048576, got ${capacity}`);
    this.tokens = new Float64Array(capacity);
    this.flags = new Uint32Array(capacity);
    this.slots = Array.from({ length: capacity }, (_, i) => new Event(this, i));
    // One iterator object and one result object, reused: `for (const ev of events)` allocates nothing.
    const self = this;
    this.iterator = {
      next(): IteratorResult<Event, undefined> {
        const r = self.result as { done: boolean; value: Event | undefined };
        if (self.iterIndex < self.len) { r.done = false; r.value = self.slots[self.iterIndex++]!; } else { r.done = true; r.value = undefined; }
        return r as IteratorResult<Event, undefined>;
      },
    };
  }

  /** Number of events from the last poll. */
  get length(): number { return this.len; }
  isEmpty(): boolean { return this.len === 0; }
  clear(): void { this.len = 0; }
  /** The i-th event of the last poll, or undefined past the end. */
  get(i: number): Event | undefined { return i >= 0 && i < this.len ? this.slots[i] : undefined; }
  [Symbol.iterator](): Iterator<Event, undefined> { this.iterIndex = 0; return this.iterator; }
  [inspect.custom](): string { return `Events(${this.len}/${this.capacity}) [${this.slots.slice(0, this.len).map((e) => e[inspect.custom]()).join(', ')}]`; }
}
