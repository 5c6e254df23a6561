// Closes what the caller dropped without close() (mio closes on drop). Each library object that
// owns an fd or handle is registered with the small object that holds its OS state (an IoSource, a
// Poll's selector, a waker): that object never points back at its owner, so the owner can be
// collected, and when it is, the held object is closed here (deregistered first where the backend
// keeps per-source state: poll(2), IOCP). close() and handing the fd away unregister it.
//
// A worker that ends normally (its loop empties, or process.exit()) closes what it still holds at
// 'exit', newest first (sources before the Poll they are registered with): its fds are the
// process's, and nothing else would close them. (worker.terminate() runs no JavaScript: what must
// not outlive the thread is released by the system layer itself, as Signals does.)
import { isMainThread } from 'node:worker_threads';
import { debug } from './debug.js';

/** What the finalizer keeps and closes: the OS side of a dropped object. */
export interface Reapable {
  /** Releases the OS resource; must tolerate having been closed already. */
  close(): void;
  /** For the debug log: "TcpStream fd 12". */
  describe(): string;
}

const reaper = new FinalizationRegistry<Reapable>((held) => {
  const what = debug.enabled ? held.describe() : '';
  try {
    held.close();
    debug('finalizer: closed %s, dropped without close()', what);
  } catch (e) {
    debug('finalizer: closing %s failed: %s', what, (e as Error).message);
  }
});

const live: Set<Reapable> | null = isMainThread ? null : new Set();
let exitHooked = false;
function closeAtExit(): void {
  for (const held of [...live!].reverse()) {
    try { held.close(); } catch (e) { debug('worker exit: closing %s failed: %s', held.describe(), (e as Error).message); }
  }
  live!.clear();
}

/** Closes `held` when `owner` is garbage-collected (or, on a worker, when the worker exits). `held` must not reference `owner`. */
export function closeOnCollect(owner: object, held: Reapable): void {
  reaper.register(owner, held, held);
  if (live) {
    live.add(held);
    if (!exitHooked) { exitHooked = true; process.once('exit', closeAtExit); }
  }
}

/** `held` was closed or handed away: nothing to do at collection. */
export function forget(held: Reapable): void {
  reaper.unregister(held);
  live?.delete(held);
}
