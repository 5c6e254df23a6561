// The one table that picks a backend: by OS, or forced with METAL_IO_BACKEND (a testing and fallback
// switch: `poll` runs the poll(2) backend on any Unix; `kqueue` with METAL_IO_LIBKQUEUE runs kqueue on
// Linux through libkqueue).
import type { BackendName, Selector } from './selector.js';
import { EpollSelector } from './unix/selector/epoll.js';
import { PollSelector } from './unix/selector/poll.js';
import { KqueueSelector } from './unix/selector/kqueue.js';
import { IocpSelector } from './windows/selector.js';
import { mod } from './os.js';
import { debug } from '../debug.js';
import { invalidArg } from '../validators.js';

const DEFAULT: Record<string, BackendName> = {
  linux: 'epoll', android: 'epoll', darwin: 'kqueue', freebsd: 'kqueue', openbsd: 'kqueue', win32: 'iocp',
};

const BACKENDS: Record<BackendName, { create(): Selector; os: readonly string[] }> = {
  epoll: { create: () => new EpollSelector(), os: ['linux', 'android'] },
  poll: { create: () => new PollSelector(), os: ['linux', 'android', 'darwin', 'freebsd', 'openbsd'] },
  // Linux: only as the linux-libkqueue-x64 target (METAL_IO_BACKEND=kqueue with METAL_IO_LIBKQUEUE).
  kqueue: { create: () => new KqueueSelector(), os: ['darwin', 'freebsd', 'openbsd', 'linux'] },
  iocp: { create: () => new IocpSelector(), os: ['win32'] },
};

export function backendName(env: NodeJS.ProcessEnv = process.env): BackendName {
  const forced = env.METAL_IO_BACKEND;
  if (forced) {
    if (!(forced in BACKENDS)) throw invalidArg(`METAL_IO_BACKEND must be one of ${Object.keys(BACKENDS).join(', ')}, got '${forced}'`);
    return forced as BackendName;
  }
  const b = DEFAULT[mod.target.os];
  if (!b) throw new Error(`metal-io: no event-queue backend for ${mod.target.name}`);
  return b;
}

export function createSelector(name: BackendName = backendName()): Selector {
  const b = BACKENDS[name];
  if (name === 'kqueue' && mod.target.os === 'linux' && !mod.target.kqueue) {
    throw Object.assign(new Error('metal-io: METAL_IO_BACKEND=kqueue on Linux needs METAL_IO_LIBKQUEUE=/path/to/libkqueue.so.0 (the linux-libkqueue-x64 target)'), { code: 'ERR_METAL_IO_UNSUPPORTED' });
  }
  if (!b.os.includes(mod.target.os)) throw Object.assign(new Error(`metal-io: the ${name} backend does not run on ${mod.target.name}`), { code: 'ERR_METAL_IO_UNSUPPORTED' });
  if (debug.enabled) debug('backend %s on %s%s', name, mod.target.name, process.env.METAL_IO_BACKEND ? ' (METAL_IO_BACKEND)' : '');
  return b.create();
}
