// The fds a worker's objects own, where the thread that started the worker can see them, so that a
// worker stopped by worker.terminate() (which runs no JavaScript on the way out) does not leave them
// open. Each worker keeps its open fds in SharedArrayBuffer tables (an fd per slot, -1 when free)
// and announces each table on a BroadcastChannel. Every thread that has loaded metal-io hears of the
// workers it starts (process 'worker'); when one exits, it closes whatever the dead worker's tables
// still hold. A slot is filled after the fd exists and emptied before the fd is closed or handed
// away, so a worker stopped anywhere in between leaves at worst one fd open, never one closed twice.
//
// What it cannot reach: a worker started by a thread that never loaded metal-io, and fds that are
// not the library's to close (SourceFd, an fd given away with intoRawFd or to node:net).
import { BroadcastChannel, isMainThread, threadId, type Worker } from 'node:worker_threads';
import { sock } from './sys/net.js';
import { debug } from './debug.js';

const SLOTS = 1024; // fds per table; a worker adds tables as it needs them
const channel = new BroadcastChannel('metal-io:orphans');
channel.unref();

// ---- this thread's own fds (workers only) ------------------------------------------------------

const tables: Int32Array[] = [];
const freeSlots: number[] = [];
const tracking = !isMainThread && sock().fds;

/** Records `fd` as owned by this thread; returns its slot (-1: nothing recorded). */
export function track(fd: number): number {
  if (!tracking) return -1;
  if (freeSlots.length === 0) {
    const table = new Int32Array(new SharedArrayBuffer(SLOTS * 4)).fill(-1);
    const base = tables.length * SLOTS;
    tables.push(table);
    for (let i = SLOTS - 1; i >= 0; i--) freeSlots.push(base + i);
    channel.postMessage({ thread: threadId, table: table.buffer });
  }
  const slot = freeSlots.pop()!;
  Atomics.store(tables[(slot / SLOTS) | 0]!, slot % SLOTS, fd);
  return slot;
}

/** The fd in `slot` is about to be closed or given away: forget it. */
export function untrack(slot: number): void {
  if (slot < 0) return;
  Atomics.store(tables[(slot / SLOTS) | 0]!, slot % SLOTS, -1);
  freeSlots.push(slot);
}

// ---- the workers this thread starts ------------------------------------------------------------

const known = new Map<number, Int32Array[]>(); // worker threadId -> its tables
const dead = new Set<number>();                 // exited, tables may still be on their way
/** What this thread closed for ended workers, and closes that failed (a failure would be a bug: an fd closed twice). */
export const reaped: { closed: number; failed: number } = ((globalThis as Record<symbol, unknown>)[Symbol.for('metal-io.orphans.reaped')] ??= { closed: 0, failed: 0 }) as never; // one count per thread, however many copies of the library it loaded

function reap(table: Int32Array): number {
  let n = 0;
  for (let i = 0; i < table.length; i++) {
    const fd = Atomics.exchange(table, i, -1);
    if (fd < 0) continue;
    try { sock().close(fd); n++; reaped.closed++; } catch (e) { reaped.failed++; debug('closing fd %d of an ended worker: %s', fd, (e as Error).message); }
  }
  return n;
}

channel.onmessage = (m: MessageEvent) => {
  const { thread, table, gone } = m.data as { thread: number; table?: SharedArrayBuffer; gone?: boolean };
  if (gone) { known.delete(thread); return; }
  if (!table) return;
  const t = new Int32Array(table);
  if (dead.has(thread)) { reap(t); return; } // announced before the worker died, heard after
  const list = known.get(thread);
  if (list) list.push(t); else known.set(thread, [t]);
};

process.on('worker', (w: Worker) => {
  const id = w.threadId;
  w.once('exit', () => {
    let n = 0;
    for (const t of known.get(id) ?? []) n += reap(t);
    known.delete(id);
    dead.add(id);
    // Tables announced just before the end may still be queued; after that the id is done with.
    setTimeout(() => dead.delete(id), 5000).unref();
    channel.postMessage({ thread: id, gone: true });
    if (n) debug('worker %d ended holding %d fds: closed them', id, n);
  });
});
