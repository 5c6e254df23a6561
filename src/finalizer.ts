// Closes what the caller dropped without close() (mio closes on drop). Each library object that
// owns an fd or handle is registered with the small object that holds its OS state (an IoSource, a
// Poll's selector, a waker): that object never points back at its owner, so the owner can be
// collected, and when it is, the held object is closed here (deregistered first where the backend
// keeps per-source state: poll(2), IOCP). close() and handing the fd away unregister it.
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

/** Closes `held` when `owner` is garbage-collected. `held` must not reference `owner`. */
export function closeOnCollect(owner: object, held: Reapable): void { reaper.register(owner, held, held); }

/** `held` was closed or handed away: nothing to do at collection. */
export function forget(held: Reapable): void { reaper.unregister(held); }
