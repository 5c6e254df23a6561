// The cross-thread guard of a waker's fd or handle (see WakerHandle in selector.ts): a waking thread
// announces itself in `inflight` and gives up if `closed` is set; close() sets `closed`, then waits
// for `inflight` to reach zero before the fd is released, so no wake ever writes to a reused fd.
const CLOSED = 0;
const INFLIGHT = 1;

/**
 * [closed, inflight] and, for backends that coalesce wakes themselves (IOCP), room for a flag; then
 * the fd or handle the guard was issued for (two int32 words, low then high), so a handle edited
 * into another fd, or given another handle's guard, matches no guard and never writes.
 */
export function newGuard(fd: number, bytes = 8): SharedArrayBuffer {
  const state = new SharedArrayBuffer(bytes + 8);
  const w = new Int32Array(state);
  w[bytes >>> 2] = fd % 4294967296 | 0;
  w[(bytes >>> 2) + 1] = Math.floor(fd / 4294967296) | 0;
  return state;
}

/** Whether `state` is a guard issued for `fd` (`bytes` is the guard's flag area, as given to newGuard). */
export function guardMatches(state: SharedArrayBuffer, fd: number, bytes: number): boolean {
  if (state.byteLength !== bytes + 8) return false;
  const w = new Int32Array(state);
  return w[bytes >>> 2] === (fd % 4294967296 | 0) && w[(bytes >>> 2) + 1] === (Math.floor(fd / 4294967296) | 0);
}

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

/**
 * Marks the waker closed and waits for wakes in flight on other threads. Returns 'close' when the
 * fd may be closed, 'keep' when a wake stayed in flight past the bound (a worker terminated in the
 * middle of wake() never counts itself out): then the fd must stay open, one fd leaked rather than
 * a stray write into a reused one. Returns 'closed' when it was closed before.
 */
export function closeGuard(state: SharedArrayBuffer, boundMs = 100): 'close' | 'keep' | 'closed' {
  const s = new Int32Array(state);
  if (Atomics.exchange(s, CLOSED, 1) !== 0) return 'closed';
  const deadline = Date.now() + boundMs;
  while (Atomics.load(s, INFLIGHT) !== 0) {
    if (Date.now() >= deadline) return 'keep';
    Atomics.wait(s, INFLIGHT, Atomics.load(s, INFLIGHT), 1);
  }
  return 'close';
}

export function isClosed(state: SharedArrayBuffer): boolean { return Atomics.load(new Int32Array(state), CLOSED) !== 0; }
