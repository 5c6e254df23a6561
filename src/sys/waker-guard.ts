// The cross-thread guard of a waker's fd or handle (see WakerHandle in selector.ts): a waking thread
// announces itself in `inflight` and gives up if `closed` is set; close() sets `closed`, then waits
// for `inflight` to reach zero before the fd is released, so no wake ever writes to a reused fd.
const CLOSED = 0;
const INFLIGHT = 1;

export function newGuard(): SharedArrayBuffer { return new SharedArrayBuffer(8); }

/** Runs `write` unless the waker is closed; returns false when it was closed. */
export function guardedWake(state: SharedArrayBuffer, write: () => void): boolean {
  const s = new Int32Array(state);
  Atomics.add(s, INFLIGHT, 1);
  try {
    if (Atomics.load(s, CLOSED) !== 0) return false;
    write();
    return true;
  } finally {
    Atomics.sub(s, INFLIGHT, 1);
  }
}

/** Marks the waker closed and waits (briefly) for wakes in flight on other threads. */
export function closeGuard(state: SharedArrayBuffer): boolean {
  const s = new Int32Array(state);
  if (Atomics.exchange(s, CLOSED, 1) !== 0) return false;
  while (Atomics.load(s, INFLIGHT) !== 0) Atomics.wait(s, INFLIGHT, Atomics.load(s, INFLIGHT), 1);
  return true;
}

export function isClosed(state: SharedArrayBuffer): boolean { return Atomics.load(new Int32Array(state), CLOSED) !== 0; }
