// The pipe waker, for backends without a native one (poll(2); kqueue without EVFILT_USER): wake()
// writes one byte to the write end; the selector drains the read end when it reports it.

import { Interest } from '../../interest.js';
import type { Token } from '../../token.js';
import { errorByName, systemError } from '../errors.js';
import { fn, mod } from '../os.js';
import type { SysWaker, WakerHandle } from '../selector.js';
import { closeGuard, guardedWake, issueGuard } from '../waker-guard.js';
import { closeFd, errno, makePipe } from './fd.js';

/** What a pipe waker needs from its selector: registration flagged as a waker (drained on report). */
export interface WakerHost {
  readonly backend: 'poll' | 'kqueue';
  readonly closed: boolean;
  register(fd: number, token: Token, interest: Interest, owned: boolean, waker: boolean): void;
  deregister(fd: number): void;
}

export class PipeWaker implements SysWaker {
  readonly handle: WakerHandle;
  private readonly r: number;
  private readonly w: number;
  constructor(
    private readonly selector: WakerHost,
    token: Token,
  ) {
    [this.r, this.w] = makePipe();
    try {
      selector.register(this.r, token, Interest.READABLE, true, true);
    } catch (e) {
      closeFd(this.r);
      closeFd(this.w);
      throw e;
    }
    this.handle = {
      type: 'metal-io-waker',
      backend: selector.backend,
      target: mod.target.name,
      kind: 'pipe',
      fd: this.w,
      token,
      ...issueGuard(this.w, token),
    };
  }
  wake(): void {
    wakePipe(this.handle);
  }
  get fds(): readonly number[] {
    return [this.r, this.w];
  }
  close(): void {
    const g = closeGuard(this.handle);
    if (g === 'closed') return;
    if (!this.selector.closed) {
      try {
        this.selector.deregister(this.r);
      } catch {
        /* already gone */
      }
    }
    closeFd(this.r);
    if (g === 'close') closeFd(this.w); // the write end is what other threads use
  }
}

const wakeByte = Buffer.from([1]);

/** Writes one byte to a waker pipe; a full pipe already means "woken". */
export function wakePipe(h: WakerHandle): void {
  const ok = guardedWake(h, () => {
    for (;;) {
      if (Number(fn('write')(h.fd, wakeByte, 1)) === 1) return;
      const e = errno();
      if (e === mod.constants.EINTR) continue;
      if (e === mod.constants.EAGAIN) return;
      throw systemError('write', e);
    }
  });
  if (!ok) throw errorByName('write', 'EBADF', 'the Waker is closed');
}
