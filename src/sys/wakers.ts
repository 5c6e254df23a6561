// The waker kinds, by how a wake is delivered: the one place that knows every backend's waker, so
// that Waker (src/waker.ts) can wake from a posted handle without knowing any backend.
import type { BackendName, WakerHandle } from './selector.js';
import { wakeFd } from './unix/selector/epoll.js';
import { wakePort } from './unix/selector/eventports.js';
import { wakeUserEvent } from './unix/selector/kqueue.js';
import { wakePipe } from './unix/waker.js';
import { wakeIocp } from './windows/selector.js';

const WAKE: Record<WakerHandle['kind'], (h: WakerHandle) => void> = {
  eventfd: wakeFd,
  pipe: wakePipe,
  kqueue: wakeUserEvent,
  iocp: wakeIocp,
  port: wakePort,
};

/** Wakes the Poll a handle names (its kind says how). */
export function wakeHandle(h: WakerHandle): void {
  WAKE[h.kind](h);
}

/** Which backends make each kind, its smallest and largest fd, and whether its handle needs an `ident` (the kevent's). */
export const WAKER_KINDS: Readonly<
  Record<WakerHandle['kind'], { backends: readonly BackendName[]; fdMin: number; fdMax: number; ident: boolean }>
> = {
  eventfd: { backends: ['epoll'], fdMin: 0, fdMax: 0x7fffffff, ident: false },
  pipe: { backends: ['poll', 'kqueue'], fdMin: 0, fdMax: 0x7fffffff, ident: false },
  kqueue: { backends: ['kqueue'], fdMin: 0, fdMax: 0x7fffffff, ident: true },
  iocp: { backends: ['iocp'], fdMin: 1, fdMax: Number.MAX_SAFE_INTEGER, ident: false }, // a port HANDLE's value (never 0)
  port: { backends: ['eventports'], fdMin: 0, fdMax: 0x7fffffff, ident: false },
};
