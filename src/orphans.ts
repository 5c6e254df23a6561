// The fds a worker's objects own, where the thread that started the worker can see them, so that a
// worker stopped by worker.terminate() (which runs no JavaScript on the way out) does not leave them
// open. Each worker keeps its open fds in SharedArrayBuffer tables (an fd per slot, -1 when free)
// and announces each table on a BroadcastChannel. Every thread that has loaded metal-io hears of the
// workers it starts (process 'worker'); when one exits, it closes whatever the dead worker's tables
// still hold. A slot is filled after the fd exists and emptied before the fd is closed or handed
// away, so a worker stopped anywhere in between leaves at worst one fd open, never one closed twice.
//
// A worker's Wakers are recorded too (their slot and nonce in the waker table, and the fd a wake
// writes to): the reaping thread first closes each of them in the table, waiting for wakes in
// flight from other threads, so that a handle posted elsewhere throws EBADF instead of writing into
// the fd once its number is reused; only then are the fds closed. A Waker whose slot a dead wake
// still holds keeps its fd open (one fd leaked rather than a stray write).
//
// A worker's Signals are announced as records (src/sys/signals.ts): the reaping thread finishes
// each private libuv loop still open, which closes its fds.
//
// What it cannot reach: a worker started by a thread that never loaded metal-io, and fds that are
// not the library's to close (SourceFd, an fd given away with intoRawFd or to node:net).
import { BroadcastChannel, isMainThread, threadId, type Worker } from 'node:worker_threads';
import { debug } from './debug.js';
import { hi32, join32, lo32 } from './sys/ffi.js';
import { sock } from './sys/net.js';
import { reapSignalSet } from './sys/signals.js';
import { closeSlot } from './sys/waker-guard.js';

const channel = new BroadcastChannel('metal-io:orphans');
channel.unref();

// ---- this thread's own fds and Wakers (workers only) -------------------------------------------

const tracking = !isMainThread && sock().fds;

/**
 * Entries of `width` words in SharedArrayBuffer tables of `per` entries, added as needed, each
 * announced on the channel as `{ thread, [kind]: buffer }`. Word 0 of an entry is -1 when it is free
 * and is written last when it is filled (a reaper reads it first).
 */
class SharedTables {
  readonly #tables: Int32Array[] = [];
  readonly #free: number[] = [];
  constructor(
    readonly per: number,
    readonly width: 1 | 4,
    readonly kind: 'table' | 'guards',
  ) {}

  /** Fills a free entry with words w0..w3 (as many as its width; word 0 last); returns its index. */
  add(w0: number, w1 = 0, w2 = 0, w3 = 0): number {
    if (this.#free.length === 0) {
      const table = new Int32Array(new SharedArrayBuffer(this.per * this.width * 4)).fill(-1);
      const base = this.#tables.length * this.per;
      this.#tables.push(table);
      for (let i = this.per - 1; i >= 0; i--) this.#free.push(base + i);
      channel.postMessage({ thread: threadId, [this.kind]: table.buffer });
    }
    const e = this.#free.pop()!;
    const t = this.#tables[(e / this.per) | 0]!;
    const b = (e % this.per) * this.width;
    if (this.width > 1) {
      Atomics.store(t, b + 1, w1);
      Atomics.store(t, b + 2, w2);
      Atomics.store(t, b + 3, w3);
    }
    Atomics.store(t, b, w0);
    return e;
  }

  /** Empties entry `e` (-1: nothing recorded). */
  remove(e: number): void {
    if (e < 0) return;
    Atomics.store(this.#tables[(e / this.per) | 0]!, (e % this.per) * this.width, -1);
    this.#free.push(e);
  }
}

const fdTables = new SharedTables(1024, 1, 'table'); // an fd per entry
// Wakers: [waker-table slot, nonce low, nonce high, the fd a wake writes to] per entry.
const GW = 4;
const guardTables = new SharedTables(256, GW, 'guards');

/** Records `fd` as owned by this thread; returns its slot (-1: nothing recorded). */
export function track(fd: number): number {
  return tracking ? fdTables.add(fd) : -1;
}

/** The fd in `slot` is about to be closed or given away: forget it. */
export function untrack(slot: number): void {
  fdTables.remove(slot);
}

/** Records a Waker of this thread (its waker-table slot and nonce, and the fd its wakes write to); returns the entry (-1: nothing recorded). */
export function trackGuard(slot: number, nonce: number, fd: number): number {
  return tracking ? guardTables.add(slot, lo32(nonce) | 0, hi32(nonce) | 0, fd) : -1;
}

/** The Waker of entry `e` is about to be closed: forget it. */
export function untrackGuard(e: number): void {
  guardTables.remove(e);
}

/**
 * Announces a Signals' record (src/sys/signals.ts): when this worker ends, the thread that started
 * it finishes the private libuv loop the record names, if it is still open, closing its fds.
 */
export function trackSignals(record: Int32Array): void {
  if (tracking) channel.postMessage({ thread: threadId, signals: record.buffer });
}

// ---- the workers this thread starts ------------------------------------------------------------

const known = new Map<number, { fds: Int32Array[]; guards: Int32Array[]; signals: Int32Array[] }>(); // worker threadId -> its tables and records
const dead = new Set<number>(); // exited, tables may still be on their way
/** What this thread closed for ended workers (fds, and Signals' loops with theirs), and closes that failed (a failure would be a bug: an fd closed twice). */
export const reaped: { closed: number; loops: number; failed: number } = ((globalThis as Record<symbol, unknown>)[
  Symbol.for('metal-io.orphans.reaped')
] ??= { closed: 0, loops: 0, failed: 0 }) as never; // one count per thread, however many copies of the library it loaded

/** Closes the dead worker's Wakers in the waker table (waiting for wakes in flight); returns the fds that must stay open. */
function closeGuards(table: Int32Array, keep: Set<number>): void {
  for (let b = 0; b < table.length; b += GW) {
    const slot = Atomics.exchange(table, b, -1);
    if (slot < 0) continue;
    const nonce = join32(Atomics.load(table, b + 1), Atomics.load(table, b + 2));
    if (closeSlot(slot, nonce) === 'keep') keep.add(Atomics.load(table, b + 3));
  }
}

function reap(table: Int32Array, keep: ReadonlySet<number> = noFds): number {
  let n = 0;
  for (let i = 0; i < table.length; i++) {
    const fd = Atomics.exchange(table, i, -1);
    if (fd < 0 || keep.has(fd)) continue;
    try {
      sock().close(fd);
      n++;
      reaped.closed++;
    } catch (e) {
      reaped.failed++;
      debug('closing fd %d of an ended worker: %s', fd, (e as Error).message);
    }
  }
  return n;
}

const noFds: ReadonlySet<number> = new Set();

/** Finishes a dead worker's Signals (libuv closes its loop's fds); returns 1 if it did. */
function reapSignals(record: Int32Array): number {
  try {
    if (!reapSignalSet(record)) return 0;
    reaped.loops++;
    return 1;
  } catch (e) {
    reaped.failed++;
    debug('finishing a Signals of an ended worker: %s', (e as Error).message);
    return 0;
  }
}

channel.onmessage = (m: MessageEvent) => {
  const { thread, table, guards, signals, gone } = m.data as {
    thread: number;
    table?: SharedArrayBuffer;
    guards?: SharedArrayBuffer;
    signals?: SharedArrayBuffer;
    gone?: boolean;
  };
  if (gone) {
    known.delete(thread);
    return;
  }
  const buffer = table ?? guards ?? signals;
  if (!buffer) return;
  const t = new Int32Array(buffer);
  if (dead.has(thread)) {
    if (table) reap(t);
    else if (guards) closeGuards(t, new Set());
    else reapSignals(t);
    return;
  } // announced before the worker died, heard after
  let k = known.get(thread);
  if (!k) known.set(thread, (k = { fds: [], guards: [], signals: [] }));
  (table ? k.fds : guards ? k.guards : k.signals).push(t);
};

process.on('worker', (w: Worker) => {
  const id = w.threadId;
  w.once('exit', () => {
    let n = 0;
    const k = known.get(id);
    const keep = new Set<number>();
    for (const t of k?.guards ?? []) closeGuards(t, keep); // before any fd: no wake may reach a reused number
    for (const t of k?.fds ?? []) n += reap(t, keep);
    let loops = 0;
    for (const t of k?.signals ?? []) loops += reapSignals(t);
    known.delete(id);
    dead.add(id);
    // Tables announced just before the end may still be queued; after that the id is done with.
    setTimeout(() => dead.delete(id), 5000).unref();
    channel.postMessage({ thread: id, gone: true });
    if (n || loops) debug('worker %d ended holding %d fds and %d Signals: closed them', id, n, loops);
  });
});
