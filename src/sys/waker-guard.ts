// The process's table of live wakers: what makes a Waker handle a capability. Each Waker takes a
// slot here when it is made, holding what its handle may name (fd or port, token, kqueue ident)
// and a random 53-bit nonce; the handle carries the slot and the nonce, plain numbers. A wake from
// any thread first counts itself in the slot (`inflight`), then checks that the slot is live and
// holds exactly the handle's fd, token, ident and nonce, and only then writes. So a handle edited
// into another fd or token, one made by hand, or one whose Waker was closed never writes anywhere:
// the table is not reachable from any handle, and a nonce cannot be guessed. close() marks the
// slot closed, then waits for the wakes in flight before the fd is released, so no wake ever
// writes into a reused fd.
//
// One table per process, shared by its threads through worker_threads' environment data (under a
// key no handle names): the thread that loads metal-io first makes it, and every Worker started
// after that from a thread that has it inherits it. A handle is honoured in the threads that share
// the table of the thread that issued it; in a thread outside that family (for example a worker
// started before its parent loaded metal-io, that loaded metal-io itself) fromHandle refuses it.

import { getRandomValues } from 'node:crypto';
import { types } from 'node:util';
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import { errorByName } from './errors.js';
import { hi32, join32, lo32 } from './ffi.js';

const KEY = 'metal-io:waker-table:v1';
/** Slots in the table: the most Wakers alive at once in a process (mio has one per Poll). */
export const SLOTS = 4096;
const W = 12; // Int32 words per slot
const STATE = 0,
  INFLIGHT = 1,
  PENDING = 2,
  FD_LO = 3,
  FD_HI = 4,
  TOKEN_LO = 5,
  TOKEN_HI = 6,
  IDENT = 7,
  NONCE_LO = 8,
  NONCE_HI = 9;
const FREE = 0,
  INIT = 1,
  LIVE = 2,
  CLOSED = 3;

const table: Int32Array = (() => {
  const got: unknown = getEnvironmentData(KEY);
  if (types.isSharedArrayBuffer(got) && (got as SharedArrayBuffer).byteLength === SLOTS * W * 4)
    return new Int32Array(got as SharedArrayBuffer);
  const sab = new SharedArrayBuffer(SLOTS * W * 4);
  setEnvironmentData(KEY, sab);
  return new Int32Array(sab);
})();

/** What a handle names: the table is checked against all of it before a wake writes. */
export interface Guarded {
  readonly fd: number;
  readonly token: number;
  readonly ident?: number;
  readonly slot: number;
  readonly nonce: number;
}

const lo = (n: number): number => lo32(n) | 0;
const hi = (n: number): number => hi32(n) | 0;

let cursor = Math.floor(Math.random() * SLOTS);
const rnd = new Uint32Array(2);

/**
 * Takes a slot for a waker that writes to `fd` with `token` (and `ident`, kqueue): returns the
 * slot and its nonce for the handle. ENFILE when SLOTS Wakers are alive in the process.
 */
export function issueGuard(fd: number, token: number, ident = 0): { slot: number; nonce: number } {
  // Round robin from where this thread left off: a closed slot is taken again as late as possible,
  // so a late copy of a closed Waker's handle still reads as closed (EBADF) rather than unknown.
  for (let i = 0; i < SLOTS; i++) {
    const s = (cursor + i) % SLOTS;
    const b = s * W;
    const st = Atomics.load(table, b + STATE);
    if (st !== FREE && !(st === CLOSED && Atomics.load(table, b + INFLIGHT) === 0)) continue;
    if (Atomics.compareExchange(table, b + STATE, st, INIT) !== st) continue;
    getRandomValues(rnd);
    const nlo = rnd[0]! | 0;
    const nhi = (rnd[1]! & 0x1fffff) | (rnd[0] === 0 && (rnd[1]! & 0x1fffff) === 0 ? 1 : 0);
    Atomics.store(table, b + FD_LO, lo(fd));
    Atomics.store(table, b + FD_HI, hi(fd));
    Atomics.store(table, b + TOKEN_LO, lo(token));
    Atomics.store(table, b + TOKEN_HI, hi(token));
    Atomics.store(table, b + IDENT, ident | 0);
    Atomics.store(table, b + NONCE_LO, nlo);
    Atomics.store(table, b + NONCE_HI, nhi);
    Atomics.store(table, b + PENDING, 0);
    Atomics.store(table, b + STATE, LIVE);
    cursor = s + 1;
    return { slot: s, nonce: join32(nlo, nhi) };
  }
  throw errorByName('waker', 'ENFILE', `${SLOTS} Wakers are open in this process; close some first`);
}

/** Whether slot `b` holds exactly what `h` names. */
function holds(b: number, h: Guarded): boolean {
  return (
    Atomics.load(table, b + NONCE_LO) === lo(h.nonce) &&
    Atomics.load(table, b + NONCE_HI) === hi(h.nonce) &&
    Atomics.load(table, b + FD_LO) === lo(h.fd) &&
    Atomics.load(table, b + FD_HI) === hi(h.fd) &&
    Atomics.load(table, b + TOKEN_LO) === lo(h.token) &&
    Atomics.load(table, b + TOKEN_HI) === hi(h.token) &&
    Atomics.load(table, b + IDENT) === ((h.ident ?? 0) | 0)
  );
}

/** 'live', 'closed' (issued here, closed since), or 'foreign' (edited, made by hand, another family's, or its slot reused). */
export function guardState(h: Guarded): 'live' | 'closed' | 'foreign' {
  const b = h.slot * W;
  const st = Atomics.load(table, b + STATE);
  if ((st !== LIVE && st !== CLOSED) || !holds(b, h)) return 'foreign';
  return st === LIVE ? 'live' : 'closed';
}

/** Runs `write` only while `h`'s slot is live and holds exactly `h`; returns false otherwise. */
export function guardedWake(h: Guarded, write: () => void): boolean {
  const b = h.slot * W;
  Atomics.add(table, b + INFLIGHT, 1);
  try {
    if (Atomics.load(table, b + STATE) !== LIVE || !holds(b, h)) return false;
    write();
    return true;
  } finally {
    Atomics.sub(table, b + INFLIGHT, 1);
  }
}

/**
 * Marks `h`'s slot closed and waits for wakes in flight on other threads. Returns 'close' when the
 * fd may be closed, 'keep' when a wake stayed in flight past the bound (a worker terminated in the
 * middle of wake() never counts itself out): then the fd must stay open, one fd leaked rather than
 * a stray write into a reused one (and the slot is never taken again). 'closed' when it was closed before.
 */
export function closeGuard(h: Guarded, boundMs = 100): 'close' | 'keep' | 'closed' {
  return holds(h.slot * W, h) ? closeSlot(h.slot, h.nonce, boundMs) : 'closed';
}

/**
 * closeGuard for a thread that reaps an ended worker's Waker (src/orphans.ts), knowing only the
 * slot and nonce it recorded: closes the slot if it still holds `nonce`.
 */
export function closeSlot(slot: number, nonce: number, boundMs = 100): 'close' | 'keep' | 'closed' {
  const b = slot * W;
  if (Atomics.load(table, b + NONCE_LO) !== lo(nonce) || Atomics.load(table, b + NONCE_HI) !== hi(nonce)) return 'closed';
  if (Atomics.compareExchange(table, b + STATE, LIVE, CLOSED) !== LIVE) return 'closed';
  const deadline = Date.now() + boundMs;
  while (Atomics.load(table, b + INFLIGHT) !== 0) {
    if (Date.now() >= deadline) return 'keep';
    Atomics.wait(table, b + INFLIGHT, Atomics.load(table, b + INFLIGHT), 1);
  }
  return 'close';
}

/** Whether `h` can no longer wake (closed, or never issued here). */
export function isClosed(h: Guarded): boolean {
  return guardState(h) !== 'live';
}

/** IOCP: marks a wake of `h` queued; false when one already was (wakes coalesce). */
export function setPending(h: Guarded): boolean {
  return Atomics.compareExchange(table, h.slot * W + PENDING, 0, 1) === 0;
}
/** IOCP: the queued wake of `h` was reported (or failed to queue). */
export function clearPending(h: Guarded): void {
  Atomics.store(table, h.slot * W + PENDING, 0);
}
