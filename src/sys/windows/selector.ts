// Bindings to I/O completion ports (Windows): CreateIoCompletionPort, GetQueuedCompletionStatusEx,
// PostQueuedCompletionStatus.
//
// Design (mio's and wepoll's): sockets will be polled through the AFD driver, each poll request an
// IOCTL_AFD_POLL whose completion arrives on this port; the AFD request, with the buffers the kernel
// owns until it completes (AFD_POLL_INFO, IO_STATUS_BLOCK), is issue #5's next step, and
// test/afd.test.ts already drives one through the generated layer under Wine. What is here: the
// port, the wait (GetQueuedCompletionStatusEx: the completion list is a pinned buffer the selector
// owns and keeps referenced, so no garbage collection can move or free it while a worker thread's
// wait writes into it), the Waker (PostQueuedCompletionStatus with the token as completion key and
// no OVERLAPPED, coalesced through a flag in shared memory), and pollAsync on a worker thread,
// interrupted by a post with a key no token can be (2^53).
import type { EventSink, Selector, SysWaker, WakerHandle } from '../selector.js';
import type { Token } from '../../token.js';
import { Ready } from '../../event.js';
import { constant, fn, layout, mod } from '../os.js';
import { addressOf, pinnedBuffer } from '../ffi.js';
import { systemError, errorByName } from '../../errors.js';
import { newGuard, guardedWake, closeGuard } from '../waker-guard.js';

const INTERRUPT = 2 ** 53;
const TWO32 = 4294967296;
const PENDING = 2; // Int32 index in the waker's shared state: a wake is queued and not yet reported

type AsyncGqcs = { async(port: number, ent: number, n: number, removed: number, ms: number, alertable: number, cb: (err: Error | null, ok: number) => void): void };

function lastError(syscall: string): Error { return systemError(syscall, fn('GetLastError')()); }

export class IocpSelector implements Selector {
  readonly backend = 'iocp' as const;
  readonly wait = { kind: 'thread' } as const;
  private port: number;
  private entries: Buffer;
  private entriesAddr: number;
  private readonly removed = pinnedBuffer(4);
  private readonly removedAddr = addressOf(this.removed);
  private readonly gqcs = fn('GetQueuedCompletionStatusEx');
  private readonly oe = layout('OVERLAPPED_ENTRY');
  private inflight = false;
  private closeWhenBack = false;
  /** Wakers by token: their shared state holds the coalescing flag the wait clears. */
  private readonly wakers = new Map<number, WakerHandle>();

  constructor() {
    const port = Number(fn('CreateIoCompletionPort')(BigInt.asUintN(mod.target.pointerSize * 8, -1n), 0, 0, 0));
    if (port === 0) throw lastError('CreateIoCompletionPort');
    this.port = port;
    this.entries = pinnedBuffer(0);
    this.entriesAddr = 0;
  }

  get closed(): boolean { return this.port === 0; }

  private check(syscall: string): void {
    if (this.port === 0) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  register(): void { this.notYet(); }
  reregister(): void { this.notYet(); }
  deregister(): void { this.notYet(); }
  rearm(): void { /* nothing registered yet */ }

  private notYet(): never {
    this.check('register');
    throw Object.assign(new Error(`metal-io: registering sockets with the Windows (AFD) backend is not built yet (${mod.target.name}); Poll, Waker and pollAsync work`), { code: 'ERR_METAL_IO_UNSUPPORTED' });
  }

  private ensure(capacity: number): void {
    if (this.entries.length >= capacity * this.oe.size) return;
    this.entries = pinnedBuffer(capacity * this.oe.size);
    this.entriesAddr = addressOf(this.entries);
  }

  private ms(timeoutMs: number): number { return timeoutMs < 0 ? constant('INFINITE') : Math.ceil(timeoutMs); }

  select(sink: EventSink, timeoutMs: number): number {
    this.check('GetQueuedCompletionStatusEx');
    if (this.inflight) throw errorByName('GetQueuedCompletionStatusEx', 'EBUSY', 'a pollAsync is in progress on this Poll');
    this.ensure(sink.capacity);
    const ok = this.gqcs(this.port, this.entriesAddr, sink.capacity, this.removedAddr, this.ms(timeoutMs), 0);
    return this.finish(sink, ok);
  }

  selectAsync(sink: EventSink, timeoutMs: number, done: (err: Error | null, n: number) => void): void {
    this.check('GetQueuedCompletionStatusEx');
    if (this.inflight) throw errorByName('GetQueuedCompletionStatusEx', 'EBUSY', 'a pollAsync is in progress on this Poll');
    this.ensure(sink.capacity);
    this.inflight = true;
    (this.gqcs as unknown as AsyncGqcs).async(this.port, this.entriesAddr, sink.capacity, this.removedAddr, this.ms(timeoutMs), 0, (err, ok) => {
      this.inflight = false;
      if (this.closeWhenBack) { this.finishClose(); done(errorByName('GetQueuedCompletionStatusEx', 'EBADF', 'the Poll was closed while waiting'), 0); return; }
      if (err) { done(err, 0); return; }
      try { done(null, this.finish(sink, ok)); } catch (e) { done(e as Error, 0); }
    });
  }

  /** Turns the completion list into events; a FALSE return with WAIT_TIMEOUT is no event. */
  private finish(sink: EventSink, ok: number): number {
    if (!ok) {
      const e = fn('GetLastError')();
      if (e === constant('WAIT_TIMEOUT')) return 0;
      throw systemError('GetQueuedCompletionStatusEx', e);
    }
    const n = this.removed.readUInt32LE(0);
    const oe = this.oe;
    const key = oe.fields.lpCompletionKey!; const ov = oe.fields.lpOverlapped!;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const b = i * oe.size;
      const k = this.entries.readUInt32LE(b + key.offset) + (key.size === 8 ? this.entries.readUInt32LE(b + key.offset + 4) * TWO32 : 0);
      const overlapped = ov.size === 8 ? this.entries.readBigUInt64LE(b + ov.offset) : BigInt(this.entries.readUInt32LE(b + ov.offset));
      if (overlapped !== 0n) continue; // AFD completions: with socket registration (issue #5)
      if (k === INTERRUPT) continue;
      const w = this.wakers.get(k);
      if (w) Atomics.store(new Int32Array(w.state), PENDING, 0);
      sink.tokens[count] = k;
      sink.flags[count] = Ready.READABLE;
      count++;
    }
    return count;
  }

  interrupt(): void { if (this.port !== 0) post(this.port, INTERRUPT); }

  createWaker(token: Token): SysWaker {
    this.check('CreateIoCompletionPort');
    const handle: WakerHandle = { type: 'metal-io-waker', backend: 'iocp', target: mod.target.name, kind: 'iocp', fd: this.port, token, state: newGuard(12) };
    this.wakers.set(token, handle);
    return {
      handle,
      wake: () => wakeIocp(handle),
      close: () => { if (closeGuard(handle.state) !== 'closed') this.wakers.delete(token); },
    };
  }

  close(): void {
    if (this.port === 0) return;
    for (const w of this.wakers.values()) closeGuard(w.state);
    if (this.inflight) { this.interrupt(); this.closeWhenBack = true; this.portToClose = this.port; this.port = 0; return; }
    this.portToClose = this.port;
    this.port = 0;
    this.finishClose();
  }

  private portToClose = 0;
  private finishClose(): void {
    if (this.portToClose !== 0) { fn('CloseHandle')(this.portToClose); this.portToClose = 0; }
  }
}

function post(port: number, key: number): void {
  if (!fn('PostQueuedCompletionStatus')(port, 0, key, null)) throw lastError('PostQueuedCompletionStatus');
}

/** Posts the waker's token, from any thread; wakes before the next report coalesce into one. */
export function wakeIocp(h: WakerHandle): void {
  const ok = guardedWake(h.state, () => {
    const s = new Int32Array(h.state);
    if (Atomics.compareExchange(s, PENDING, 0, 1) !== 0) return; // one already queued
    try { post(h.fd, h.token); } catch (e) { Atomics.store(s, PENDING, 0); throw e; }
  });
  if (!ok) throw errorByName('PostQueuedCompletionStatus', 'EBADF', 'the Waker is closed');
}
