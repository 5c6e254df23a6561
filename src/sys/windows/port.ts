// The completion-port side of the IOCP backend: posting a completion (the waker, pollAsync's
// interrupt) and the keys that are not tokens.

import { errorByName, systemError } from '../errors.js';
import { fn } from '../os.js';
import type { WakerHandle } from '../selector.js';
import { clearPending, guardedWake, setPending } from '../waker-guard.js';

/** The completion key of pollAsync's interrupt: no token can be 2^53. */
export const INTERRUPT = 2 ** 53;

export function lastError(syscall: string): Error {
  return systemError(syscall, fn('GetLastError')());
}

/** Queues a completion carrying `key` and no OVERLAPPED. */
export function post(port: number, key: number): void {
  if (!fn('PostQueuedCompletionStatus')(port, 0, key, null)) throw lastError('PostQueuedCompletionStatus');
}

/** Posts the waker's token, from any thread; wakes before the next report coalesce into one. */
export function wakeIocp(h: WakerHandle): void {
  const ok = guardedWake(h, () => {
    if (!setPending(h)) return; // one already queued
    try {
      post(h.fd, h.token);
    } catch (e) {
      clearPending(h);
      throw e;
    }
  });
  if (!ok) throw errorByName('PostQueuedCompletionStatus', 'EBADF', 'the Waker is closed');
}
