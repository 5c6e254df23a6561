// Picks a backend: the target's default (syscalls.yaml, `oses:` and the target's own `backends`, the
// first one), or one forced with METAL_IO_BACKEND among those the target runs (a testing and fallback
// switch: `poll` runs the poll(2) backend on any Unix; `kqueue` with METAL_IO_LIBKQUEUE runs kqueue on
// Linux through libkqueue, the linux-libkqueue-x64 target).

import { isMainThread } from 'node:worker_threads';
import { debug } from '../debug.js';
import { invalidArg } from '../validators.js';
import { mod } from './os.js';
import type { BackendName, Selector } from './selector.js';
import { EpollSelector } from './unix/selector/epoll.js';
import { EventPortSelector } from './unix/selector/eventports.js';
import { KqueueSelector } from './unix/selector/kqueue.js';
import { PollSelector } from './unix/selector/poll.js';
import { ThreadWaitSelector } from './unix/selector/threadwait.js';
import { unsupportedError } from './unsupported.js';
import { IocpSelector } from './windows/selector.js';

const BACKENDS: Record<BackendName, () => Selector> = {
  epoll: () => new EpollSelector(),
  poll: () => new PollSelector(),
  kqueue: () => new KqueueSelector(),
  iocp: () => new IocpSelector(),
  eventports: () => new EventPortSelector(),
};

export function backendName(env: NodeJS.ProcessEnv = process.env): BackendName {
  const forced = env.METAL_IO_BACKEND;
  if (forced) {
    if (!(forced in BACKENDS)) throw invalidArg(`METAL_IO_BACKEND must be one of ${Object.keys(BACKENDS).join(', ')}, got '${forced}'`);
    return forced as BackendName;
  }
  const b = mod.target.backends[0];
  if (!b) throw new Error(`metal-io: no event-queue backend for ${mod.target.name}`);
  return b;
}

export function createSelector(name: BackendName = backendName()): Selector {
  if (name === 'kqueue' && mod.target.os === 'linux' && !mod.target.kqueue) {
    throw unsupportedError(
      'metal-io: METAL_IO_BACKEND=kqueue on Linux needs METAL_IO_LIBKQUEUE=/path/to/libkqueue.so.0 (the linux-libkqueue-x64 target)',
    );
  }
  if (!mod.target.backends.includes(name))
    throw unsupportedError(`metal-io: the ${name} backend does not run on ${mod.target.name} (it runs ${mod.target.backends.join(', ')})`);
  if (debug.enabled) debug('backend %s on %s%s', name, mod.target.name, process.env.METAL_IO_BACKEND ? ' (METAL_IO_BACKEND)' : '');
  const sel = BACKENDS[name]();
  // On a worker, a libuv watch of the selector fd would crash the process when the worker is
  // terminated (unix/selector/threadwait.ts): wait on a koffi thread instead.
  return !isMainThread && sel.wait.kind === 'fd' ? new ThreadWaitSelector(sel, sel.wait.fd) : sel;
}
