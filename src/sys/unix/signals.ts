// Signals on Unix, through the running Node's libuv, which owns the process's signal handlers.
//
// libuv installs one handler per signal for the whole process and hands each caught signal to every
// loop that has a uv_signal_t for it, by writing to that loop's signal pipe. Node's own loop gets
// it (process.on listeners keep working), and so does a private loop made here: its backend fd
// (epoll on Linux, kqueue on the BSDs and macOS) turns readable, which any Poll backend can watch.
// Draining runs the private loop once without blocking (UV_RUN_NOWAIT); its signal callbacks,
// made synchronously on this thread during that call, record the signal numbers.
//
// Nothing here depends on when the signal comes: one caught while JavaScript runs stays in the
// pipe until drained, so a blocking loop cannot miss it between two waits (the self-pipe trick,
// done by libuv). The private loop belongs to the thread that made it (a worker can have its own).
//
// A worker can end at any moment (worker.terminate() runs no JavaScript on the way out), while
// libuv's process-wide signal list still holds this loop's handles; a signal or another thread's
// uv_signal_start then reads them. So the loop and handles live in native memory (calloc) that no
// garbage collector or isolate teardown frees, and each handle has a thread-exit destructor
// (pthread_key_create with uv_signal_stop): when the thread ends, however it ends, the C library
// takes the handles out of libuv's list, which gives the signal its default action back. The
// loop, its handles and their keys are also written to a record in a SharedArrayBuffer
// (signalRecord()), which the thread that started a worker holds (src/orphans.ts): once that worker
// has ended (its thread joined, so every destructor has run), reapSignalSet() finishes the dead
// loop there, as close() would have: keys deleted, handles closed (uv_close stops a handle first,
// and a stopped handle's callback is never called, so the dead worker's callback is not reached),
// the loop run until they are closed, closed (its fds: on Linux the epoll fd, both ends of the
// signal pipe and the async eventfd) and freed. Whichever side closes the loop first takes it out
// of the record before it starts.

import { systemError } from '../errors.js';
import { getWord, hi32, join32, lo32, makeCallback, releaseCallback } from '../ffi.js';
import { address, constant, fn } from '../os.js';

/** A set of caught signals, readable as an fd. */
export interface SignalSet {
  /** The fd to watch for readability. */
  readonly fd: number;
  /** Signal numbers caught since the last drain, each once, in the order first caught. */
  drain(): number[];
  /** Stops catching (libuv restores the default action when no other loop watches a signal). */
  close(): void;
}

function check(call: string, r: number): void {
  if (r < 0) throw systemError(call, -r);
}

/** `size` zeroed bytes of native memory (never moved, never freed but by free()). */
function nativeAlloc(size: number): bigint {
  const p = fn('calloc')(1, size) as bigint | null;
  if (!p) throw systemError('calloc', constant('ENOMEM'));
  return p;
}

/** A handle and the thread-specific key whose destructor stops it at thread exit (-1: none yet). */
interface Handle {
  ptr: bigint;
  key: number;
}

// The record: [state, handles recorded, loop low, loop high, then per handle: address low, high, key].
// state: 0 nothing to finish (not made yet, or closed or finished already), 1 a live loop.
const LIVE = 1;
const TAKEN = 2;
const MAX_HANDLES = 64; // Signals catches at most 64 signals
const HEAD = 4;
const PER = 3;
const toBig = BigInt;
const toNum = Number;

/** A record of a signal set, in memory another thread can read after this one has ended. */
export function signalRecord(): Int32Array {
  return new Int32Array(new SharedArrayBuffer((HEAD + MAX_HANDLES * PER) * 4));
}

const putPtr = (rec: Int32Array, at: number, p: bigint): void => {
  const n = toNum(p);
  Atomics.store(rec, at, lo32(n) | 0);
  Atomics.store(rec, at + 1, hi32(n) | 0);
};
const getPtr = (rec: Int32Array, at: number): bigint => toBig(join32(Atomics.load(rec, at), Atomics.load(rec, at + 1)));

/** Closes `handles` (their keys deleted first), runs `loop` until they are closed and closes it; frees the memory only if it closed. */
function finish(loop: bigint, handles: readonly Handle[]): boolean {
  for (const h of handles) {
    disarm(h);
    fn('uv_close')(h.ptr, null);
  }
  // Closing handles finish at the end of a loop iteration; then the loop can close (and its fds).
  let closed = false;
  for (let i = 0; i < 4 && !closed; i++) {
    fn('uv_run')(loop, constant('UV_RUN_NOWAIT'));
    closed = fn('uv_loop_close')(loop) === 0;
  }
  // Memory libuv may still reach is kept (a few hundred bytes) rather than freed under it.
  if (!closed) return false;
  for (const h of handles) fn('free')(h.ptr);
  fn('free')(loop);
  return true;
}

/**
 * Finishes the signal set of `record` if it is still live: called by the thread that started a
 * worker, once that worker has ended. Returns whether a loop was closed.
 */
export function reapSignalSet(record: Int32Array): boolean {
  if (Atomics.compareExchange(record, 0, LIVE, TAKEN) !== LIVE) return false;
  const loop = getPtr(record, 2);
  const handles: Handle[] = [];
  const n = Atomics.load(record, 1);
  for (let i = 0; i < n; i++) {
    const at = HEAD + i * PER;
    handles.push({ ptr: getPtr(record, at), key: Atomics.load(record, at + 2) });
  }
  return finish(loop, handles);
}

/** Arms `h`: when this thread exits with it still set, the C library calls uv_signal_stop(h). */
function stopAtThreadExit(h: Handle): void {
  // pthread_key_t is 4 bytes, or 8 (Apple's unsigned long, little-endian): word 0 holds the key.
  const out = new Uint32Array(2);
  const r = fn('pthread_key_create')(out, address('uv_signal_stop'));
  if (r !== 0) throw systemError('pthread_key_create', r);
  h.key = getWord(out, 0, 8);
  const s = fn('pthread_setspecific')(h.key, h.ptr);
  if (s !== 0) throw systemError('pthread_setspecific', s);
}

/** Disarms `h` before it is closed here. */
function disarm(h: Handle): void {
  if (h.key < 0) return;
  fn('pthread_setspecific')(h.key, null);
  fn('pthread_key_delete')(h.key);
  h.key = -1;
}

class UvSignalSet implements SignalSet {
  readonly fd: number;
  #loop: bigint | null;
  #handles: Handle[] = [];
  #caught: number[] = [];
  #cb: bigint;
  #record: Int32Array;

  constructor(signums: readonly number[], record: Int32Array) {
    if (signums.length > MAX_HANDLES) throw new Error(`metal-io internal error: a signal set holds at most ${MAX_HANDLES} signals`);
    this.#record = record;
    const loop = nativeAlloc(Number(fn('uv_loop_size')()));
    const r = fn('uv_loop_init')(loop);
    if (r < 0) {
      fn('free')(loop);
      throw systemError('uv_loop_init', -r);
    }
    this.#loop = loop;
    putPtr(record, 2, loop);
    Atomics.store(record, 0, LIVE); // from here on a thread outliving this one can finish the loop
    const caught = this.#caught;
    this.#cb = makeCallback('void metal_io_uv_signal_cb(void *handle, int signum)', (_h: unknown, signum: number) => {
      if (!caught.includes(signum)) caught.push(signum);
    });
    try {
      const size = Number(fn('uv_handle_size')(constant('UV_SIGNAL')));
      for (const signum of signums) {
        const h: Handle = { ptr: nativeAlloc(size), key: -1 };
        const init = fn('uv_signal_init')(loop, h.ptr);
        if (init < 0) {
          fn('free')(h.ptr);
          throw systemError('uv_signal_init', -init);
        }
        // Initialized: closed by close() (or the reaper) from here on; recorded before it is counted.
        const at = HEAD + this.#handles.length * PER;
        this.#handles.push(h);
        putPtr(record, at, h.ptr);
        Atomics.store(record, at + 2, -1);
        Atomics.store(record, 1, this.#handles.length);
        stopAtThreadExit(h); // armed before libuv's signal list can hold it
        Atomics.store(record, at + 2, h.key);
        check('uv_signal_start', fn('uv_signal_start')(h.ptr, this.#cb, signum));
      }
      // libuv adds the signal pipe to its epoll/kqueue set on the first run, not at init.
      this.#run();
      this.fd = fn('uv_backend_fd')(loop);
      if (this.fd < 0) throw systemError('uv_backend_fd', constant('EBADF'));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #run(): void {
    fn('uv_run')(this.#loop!, constant('UV_RUN_NOWAIT'));
  }

  drain(): number[] {
    if (!this.#loop) return [];
    this.#run();
    return this.#caught.splice(0);
  }

  close(): void {
    const loop = this.#loop;
    if (!loop) return;
    this.#loop = null;
    // Taken from the record first: a thread that ends in the middle leaves the rest undone (its
    // fds open) rather than have the reaper close a handle twice.
    Atomics.store(this.#record, 0, 0);
    const handles = this.#handles;
    this.#handles = [];
    finish(loop, handles);
    releaseCallback(this.#cb);
  }
}

/** Catches `signums` in a set this thread can watch as an fd. */
export function createSignalSet(signums: readonly number[], record: Int32Array): SignalSet {
  return new UvSignalSet(signums, record);
}
