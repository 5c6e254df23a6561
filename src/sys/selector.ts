// The selector contract: what every backend (epoll, kqueue, poll(2), AFD + IOCP) provides to Poll,
// Registry and Waker. The public types hold no platform code; this is the only seam.
//
// A Selector owns one OS event queue (an epoll fd, a kqueue fd, a pollfd set, an I/O completion port).
//
// - register(fd, token, interest, owned): start watching `fd`. `owned` is true for sources the
//   library itself owns (sockets, pipes, wakers); those call rearm() when an operation reports
//   would-block, which backends that emulate edge-triggering (poll(2), AFD) need. Already registered
//   here: throws EEXIST. reregister() changes token and interest; deregister() stops watching; both
//   throw ENOENT when `fd` is not registered here. Interest bits the backend cannot watch (AIO, LIO
//   off kqueue) throw TypeError.
// - select(sink, timeoutMs): waits until at least one event is ready or the timeout passes, and
//   writes at most sink.capacity events into sink.tokens / sink.flags (Ready bits), returning the
//   count. timeoutMs is -1 to wait forever, 0 to return at once, or milliseconds, fractional where
//   the OS allows it (otherwise rounded up, never down, so a wait is never shorter than asked). An
//   interrupted wait (EINTR) returns 0; Poll then waits out the rest of the timeout. Events are
//   edge-triggered: a source is reported again only
//   after new readiness arrives, or for owned sources after rearm() following would-block.
//   Spurious events are allowed.
// - wait: how Poll.pollAsync waits without blocking Node's loop. { kind: 'fd', fd }: libuv watches
//   that fd for readability, then select(sink, 0) collects. { kind: 'thread' }: selectAsync runs the
//   blocking wait on a worker thread and interrupt() cuts it short; while it runs, register and
//   friends still work (the backend interrupts and retries the wait to pick them up).
// - createWaker(token): a Waker source: wake() may be called from any thread (through
//   WakerHandle); several wakes before a poll coalesce into at least one readable event for `token`.
// - close(): releases the OS queue; afterwards every call throws EBADF. Closing twice is harmless.

import type { BackendName } from '../../generated/types.js';
import type { Interest } from '../interest.js';
import type { Token } from '../token.js';

/** Normalized readiness bits every backend writes into an EventSink's flags (Event reads them). */
export const Ready = Object.freeze({
  READABLE: 1,
  WRITABLE: 2,
  ERROR: 4,
  READ_CLOSED: 8,
  WRITE_CLOSED: 16,
  PRIORITY: 32,
  AIO: 64,
  LIO: 128,
});

/** The backends' names: generated from `backends:` of syscalls.yaml, the one list of them. */
export type { BackendName };

/** Where a backend writes events: one slot per event. */
export interface EventSink {
  readonly capacity: number;
  readonly tokens: Float64Array;
  readonly flags: Uint32Array;
}

/**
 * How pollAsync waits without blocking Node's loop. `fd`: libuv watches the backend's fd (epoll,
 * kqueue) and the events are collected with a zero timeout. `thread`: the blocking wait runs on a
 * koffi worker thread (poll(2), IOCP, libkqueue), and `interrupt` makes a running one return soon.
 */
export type WaitStrategy =
  | { readonly kind: 'fd'; readonly fd: number }
  | {
      readonly kind: 'thread';
      /** The selector's wait on a worker thread; `done` runs on the JS thread. */
      selectAsync(sink: EventSink, timeoutMs: number, done: (err: Error | null, n: number) => void): void;
      /** Makes a running selectAsync return soon. */
      interrupt(): void;
    };

/** What a Waker needs from a backend; `handle` is structured-cloneable for worker threads. */
export interface SysWaker {
  wake(): void;
  close(): void;
  readonly handle: WakerHandle;
  /** The fds it owns (closed by close(); the selector's own fd is not among them), for a thread that outlives this one (src/orphans.ts). */
  readonly fds: readonly number[];
}

/**
 * A waker's cross-thread handle: plain, structured-cloneable data. `slot` and `nonce` name its entry
 * in the process's waker table (waker-guard.ts), which records the fd, token and ident it was issued
 * for: a wake writes only while that entry is live and matches the handle exactly, so an edited,
 * hand-made or closed handle never writes, and close() waits for wakes in flight before the fd goes.
 */
export interface WakerHandle {
  /** The tag every handle carries. */
  readonly type: 'metal-io-waker';
  /** The backend of the Poll it wakes. */
  readonly backend: BackendName;
  /** The target it was made on (a handle works only in the same process). */
  readonly target: string;
  /** How a wake is delivered. */
  readonly kind: 'eventfd' | 'pipe' | 'kqueue' | 'iocp' | 'port';
  /** The fd (or port HANDLE) a wake writes to. */
  readonly fd: number;
  /** The token the event carries. */
  readonly token: number;
  /** kqueue: the EVFILT_USER ident. */
  readonly ident?: number;
  /** Its entry in the process's waker table. */
  readonly slot: number;
  /** The entry's random nonce (53 bits): a handle cannot be made by hand. */
  readonly nonce: number;
}

export interface Selector {
  readonly backend: BackendName;
  readonly wait: WaitStrategy;
  register(fd: number, token: Token, interest: Interest, owned: boolean): void;
  reregister(fd: number, token: Token, interest: Interest): void;
  deregister(fd: number): void;
  /** An owned source's operation hit would-block: watch its `interest` again (poll(2), AFD). */
  rearm(fd: number, interest: Interest): void;
  select(sink: EventSink, timeoutMs: number): number;
  createWaker(token: Token): SysWaker;
  close(): void;
  readonly closed: boolean;
  /** The fds it owns (closed by close()), for a thread that outlives this one to close (src/orphans.ts). */
  readonly fds: readonly number[];
}
