// The waker kinds, by how a wake is delivered: the one place that knows every backend's waker, so
// that Waker (src/waker.ts) can wake from a posted handle without knowing any backend.
import type { BackendName, WakerHandle } from './selector.js';
import { wakeFd } from './unix/selector/epoll.js';
import { wakePipe } from './unix/waker.js';
import { wakeUserEvent } from './unix/selector/kqueue.js';
import { wakeIocp } from './windows/selector.js';
import { wakePort } from './unix/selector/eventports.js';

const WAKE: Record<WakerHandle['kind'], (h: WakerHandle) => void> = { eventfd: wakeFd, pipe: wakePipe, kqueue: wakeUserEvent, iocp: wakeIocp, port: wakePort };

/** Wakes the Poll a handle names (its kind says how). */
export function wakeHandle(h: WakerHandle): void { WAKE[h.kind](h); }

/** Which backends make each kind, and its largest fd. */
export const WAKER_KINDS: Readonly<Record<WakerHandle['kind'], { backends: readonly BackendName[]; fdMax: number }>> = {
  eventfd: { backends: ['epoll'], fdMax: 0x7fffffff },
  pipe: { backends: ['poll', 'kqueue'], fdMax: 0x7fffffff },
  kqueue: { backends: ['kqueue'], fdMax: 0x7fffffff },
  iocp: { backends: ['iocp'], fdMax: Number.MAX_SAFE_INTEGER }, // a port HANDLE's value
  port: { backends: ['eventports'], fdMax: 0x7fffffff },
};
