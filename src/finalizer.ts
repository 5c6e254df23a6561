// Closes what the caller dropped without close() (mio closes on drop). Each library object that
// owns an fd or handle is registered with the small object that holds its OS state (an IoSource, a
// Poll's selector, a waker): that object never points back at its owner, so the owner can be
// collected, and when it is, the held object is closed here (deregistered first where the backend
// keeps per-source state: poll(2), IOCP). close() and handing the fd away unregister it.
//
// A worker that ends normally (its loop empties, or process.exit()) closes what it still holds at
// 'exit', newest first (sources before the Poll they are registered with): its fds are the
// process's, and nothing else would close them. worker.terminate() runs no JavaScript: the thread
// that started the worker closes the fds it left (src/orphans.ts), and what must not outlive the
// thread at all is released by the system layer itself, as Signals does.
import { isMainThread } from 'node:worker_threads';
import { debug } from './debug.js';
import { track, trackGuard, untrack, untrackGuard } from './orphans.js';

/** What the finalizer keeps and closes: the OS side of a dropped object. */
export interface Reapable {
  /** Releases the OS resource; must tolerate having been closed already. */
  close(): void;
  /** For the debug log: "TcpStream fd 12". */
  describe(): string;
  /** The fds it owns that the process may close from another thread once this one is gone. */
  readonly ownedFds?: readonly number[];
  /** A Waker's entry in the waker table and the fd its wakes write to: closed there before any fd is (src/orphans.ts). */
  readonly guard?: { readonly slot: number; readonly nonce: number; readonly fd: number };
}

const reaper = new FinalizationRegistry<Reapable>((held) => {
  const what = debug.enabled ? held.describe() : '';
  untrackAll(held); // before its fds close: a terminate must never close their numbers again
  try {
    held.close();
    debug('finalizer: closed %s, dropped without close()', what);
  } catch (e) {
    debug('finalizer: closing %s failed: %s', what, (e as Error).message);
  }
});

const live: Set<Reapable> | null = isMainThread ? null : new Set();
const slots = new Map<Reapable, number[]>(); // held -> its slots in this worker's fd tables
const guards = new Map<Reapable, number>(); // held -> its entry in this worker's Waker tables
let exitHooked = false;
function closeAtExit(): void {
  for (const held of [...live!].reverse()) {
    untrackAll(held);
    try {
      held.close();
    } catch (e) {
      debug('worker exit: closing %s failed: %s', held.describe(), (e as Error).message);
    }
  }
  live!.clear();
}

/** Closes `held` when `owner` is garbage-collected (or, on a worker, when the worker exits). `held` must not reference `owner`. */
export function closeOnCollect(owner: object, held: Reapable): void {
  reaper.register(owner, held, held);
  if (live) {
    live.add(held);
    if (!exitHooked) {
      exitHooked = true;
      process.once('exit', closeAtExit);
    }
    const g = held.guard;
    if (g) {
      const e = trackGuard(g.slot, g.nonce, g.fd);
      if (e >= 0) guards.set(held, e);
    }
    const fds = held.ownedFds;
    if (fds?.length) {
      const taken: number[] = [];
      for (const fd of fds) {
        const slot = track(fd);
        if (slot >= 0) taken.push(slot);
      }
      if (taken.length) slots.set(held, taken);
    }
  }
}

/** `held` was closed or handed away: nothing to do at collection (nor at a terminate: src/orphans.ts). */
export function forget(held: Reapable): void {
  reaper.unregister(held);
  untrackAll(held);
}

/** `held`'s fds leave this worker's tables (src/orphans.ts), before they are closed or given away. */
function untrackAll(held: Reapable): void {
  if (!live) return;
  live.delete(held);
  const g = guards.get(held);
  if (g !== undefined) {
    guards.delete(held);
    untrackGuard(g);
  }
  const taken = slots.get(held);
  if (taken) {
    slots.delete(held);
    for (const slot of taken) untrack(slot);
  }
}
