// Bindings to AFD and I/O completion ports (Windows): the wepoll strategy, as mio uses it.
//
// Sockets have no readiness API on Windows, but the AFD driver under Winsock answers a poll
// request: IOCTL_AFD_POLL, issued with NtDeviceIoControlFile on a handle to \Device\Afd, names a
// socket (its base handle, SIO_BASE_HANDLE, below any layered provider) and the events wanted, and
// completes, through the I/O completion port the AFD handle is associated with, when one of them
// happens. So: one port per Poll; one AFD handle per Poll, associated with the port; one poll
// request in flight per registered socket; GetQueuedCompletionStatusEx collects completions (and
// the waker's and pollAsync's interrupt posts, which carry no OVERLAPPED).
//
// Who owns the kernel's memory: each registered socket has a SockState with a pinned AFD_POLL_INFO
// (the request and the answer) and a pinned IO_STATUS_BLOCK (whose address is the request's
// identity: it comes back as the completion's lpOverlapped). Both are ArrayBuffer-backed, so V8
// never moves them, and while a request is in flight the selector holds its SockState in `byIosb`,
// so they cannot be collected, whatever the user does: deregister and close only cancel
// (NtCancelIoFileEx) and mark the state deleted; it leaves `byIosb`, and becomes collectable, when
// the cancelled completion is dequeued. Named pipes' OVERLAPPEDs and buffers are held the same way
// (`ops`, by OVERLAPPED address).
//
// Edges: AFD reports levels, so as mio does, the events reported are disarmed until the socket's
// operation reports would-block (rearm) or it is reregistered; a changed interest cancels the
// request in flight and submits a new one when the cancellation completes. pollAsync waits on a
// koffi worker thread (a port cannot be watched by libuv) and is interrupted by a post with a
// completion key no token can be (2^53); registrations during the wait need no interrupt.

import { Interest } from '../../interest.js';
import type { Token } from '../../token.js';
import { invalidArg } from '../../validators.js';
import { errorByName, systemError } from '../errors.js';
import { addressOf, getUint, pinnedBuffer, putUint, zeroBytes } from '../ffi.js';
import { constant, fn, layout, mod } from '../os.js';
import { type EventSink, Ready, type Selector, type SysWaker, type WaitStrategy, type WakerHandle } from '../selector.js';
import { unsupportedError } from '../unsupported.js';
import { clearPending, closeGuard, issueGuard } from '../waker-guard.js';
import { afdEvents, alwaysEvents, baseSocket, type OverlappedOp, readiness, readPtr, SockState, writePtr } from './afd.js';
import { INTERRUPT, lastError, post, wakeIocp } from './port.js';

type AsyncGqcs = {
  async(
    port: number,
    ent: number,
    n: number,
    removed: number,
    ms: number,
    alertable: number,
    cb: (err: Error | null, ok: number) => void,
  ): void;
};

export class IocpSelector implements Selector {
  readonly backend = 'iocp' as const;
  readonly wait: WaitStrategy = {
    kind: 'thread',
    selectAsync: (sink, timeoutMs, done) => this.selectAsync(sink, timeoutMs, done),
    interrupt: () => this.interrupt(),
  };
  private port: number;
  private entries: Buffer;
  private entriesBytes = 0; // kept as a number: no `length` getter a caller could patch sizes the kernel's view
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

  get closed(): boolean {
    return this.port === 0;
  }
  /** None: the completion port is a HANDLE, not an fd. */
  get fds(): number[] {
    return [];
  }

  private check(syscall: string): void {
    if (this.port === 0) throw errorByName(syscall, 'EBADF', 'the Poll is closed');
  }

  // ---- other overlapped I/O (named pipes) -----------------------------------------------------

  /** Overlapped operations in flight, by OVERLAPPED address: the kernel writes into their buffers
   *  until the completion, so whoever started one keeps its buffers referenced till complete(). */
  private readonly ops = new Map<number, OverlappedOp>();

  /** @internal Routes `handle`'s completions to this port. */
  associate(handle: number): void {
    this.check('CreateIoCompletionPort');
    if (Number(fn('CreateIoCompletionPort')(handle, this.port, 0, 0)) === 0) throw lastError('CreateIoCompletionPort');
  }

  /** @internal An overlapped operation was started with the OVERLAPPED at `ovAddr`. */
  expect(ovAddr: number, op: OverlappedOp): void {
    this.ops.set(ovAddr, op);
  }

  // ---- sockets through AFD ------------------------------------------------------------------

  private afd = 0;
  private readonly socks = new Map<number, SockState>();
  /** Every state with a poll request in the kernel, by its IO_STATUS_BLOCK address: the kernel
   *  writes into that state's buffers until the completion arrives, so the state (and with it the
   *  pinned buffers) stays referenced here until then, even after deregister. */
  private readonly byIosb = new Map<number, SockState>();
  private readonly cancelIosb = pinnedBuffer(layout('IO_STATUS_BLOCK').size);
  private readonly cancelIosbAddr = addressOf(this.cancelIosb);

  /** \Device\Afd\Mio, opened on first use and associated with the port. */
  private afdHandle(): number {
    if (this.afd !== 0) return this.afd;
    const name = pinnedBuffer(64);
    const text = Buffer.from('\\Device\\Afd\\Mio', 'utf16le');
    text.copy(name);
    const us = layout('UNICODE_STRING');
    const oa = layout('OBJECT_ATTRIBUTES');
    const usb = pinnedBuffer(us.size);
    const oab = pinnedBuffer(oa.size);
    usb.writeUInt16LE(text.length, us.fields.Length!.offset);
    usb.writeUInt16LE(text.length, us.fields.MaximumLength!.offset);
    writePtr(usb, us.fields.Buffer!, addressOf(name));
    oab.writeUInt32LE(oa.size, oa.fields.Length!.offset);
    writePtr(oab, oa.fields.ObjectName!, addressOf(usb));
    const handle = mod.target.pointerSize === 8 ? new BigUint64Array(1) : new Uint32Array(1);
    const iosb = pinnedBuffer(layout('IO_STATUS_BLOCK').size);
    const st = fn('NtCreateFile')(
      handle,
      constant('SYNCHRONIZE'),
      oab,
      iosb,
      null,
      0,
      constant('FILE_SHARE_READ') | constant('FILE_SHARE_WRITE'),
      constant('FILE_OPEN'),
      0,
      null,
      0,
    );
    if (st !== constant('STATUS_SUCCESS')) throw systemError('NtCreateFile', fn('RtlNtStatusToDosError')(st));
    const h = Number(handle[0]);
    if (Number(fn('CreateIoCompletionPort')(h, this.port, 0, 0)) === 0) {
      const e = lastError('CreateIoCompletionPort');
      fn('CloseHandle')(h);
      throw e;
    }
    this.afd = h;
    return h;
  }

  register(fd: number, token: Token, interest: Interest): void {
    this.check('register');
    const i = interest;
    if (i & (Interest.AIO | Interest.LIO))
      throw invalidArg(`Interest.${i & Interest.AIO ? 'AIO' : 'LIO'} is not supported by the IOCP backend (${mod.target.name})`);
    if (this.socks.has(fd)) throw errorByName('register', 'EEXIST', `socket ${fd} is already registered with this Poll`);
    const st = new SockState(fd, baseSocket(fd), token, i);
    this.afdHandle();
    this.socks.set(fd, st);
    this.submit(st);
  }

  reregister(fd: number, token: Token, interest: Interest): void {
    this.check('reregister');
    const i = interest;
    const st = this.socks.get(fd);
    if (!st) throw errorByName('reregister', 'ENOENT', `socket ${fd} is not registered with this Poll`);
    st.token = token;
    st.interest = i;
    st.armed = afdEvents(i);
    this.resubmit(st);
  }

  deregister(fd: number): void {
    this.check('deregister');
    const st = this.socks.get(fd);
    if (!st) throw errorByName('deregister', 'ENOENT', `socket ${fd} is not registered with this Poll`);
    this.socks.delete(fd);
    st.deleted = true;
    if (st.pending) this.cancel(st); // released when the cancelled completion arrives
  }

  /** An owned socket's operation hit would-block: watch the interest's events again. */
  rearm(fd: number, interest: Interest): void {
    const st = this.socks.get(fd);
    if (!st || this.port === 0) return;
    const add = afdEvents(interest) & afdEvents(st.interest);
    if ((st.armed & add) === add) return;
    st.armed |= add;
    this.resubmit(st);
  }

  /** A poll request for what is armed; a request with another mask in flight is cancelled first. */
  private resubmit(st: SockState): void {
    if (st.pending) {
      if (st.pending !== (st.armed | alwaysEvents())) this.cancel(st);
      return;
    }
    this.submit(st);
  }

  private submit(st: SockState): void {
    if (st.armed === 0 || st.deleted) return;
    const mask = st.armed | alwaysEvents();
    const info = layout('AFD_POLL_INFO');
    const hi = layout('AFD_POLL_HANDLE_INFO');
    const h0 = info.fields.Handles!.offset;
    // Element writes only (no Buffer method a caller could patch runs while the request is built).
    zeroBytes(st.info, 0, info.size);
    const to = info.fields.Timeout!.offset; // LARGE_INTEGER 0x7fffffffffffffff: no timeout
    putUint(st.info, to, 0xffffffff, 4, false);
    putUint(st.info, to + 4, 0x7fffffff, 4, false);
    putUint(st.info, info.fields.NumberOfHandles!.offset, 1, 4, false);
    writePtr(st.info, hi.fields.Handle!, st.base, h0);
    putUint(st.info, h0 + hi.fields.Events!.offset, mask, 4, false);
    putUint(st.iosb, layout('IO_STATUS_BLOCK').fields.Status!.offset, constant('STATUS_PENDING') >>> 0, 4, false);
    const status = fn('NtDeviceIoControlFile')(
      this.afd,
      0,
      0,
      st.iosbAddr,
      st.iosbAddr,
      constant('IOCTL_AFD_POLL'),
      st.infoAddr,
      info.size,
      st.infoAddr,
      info.size,
    );
    if (status !== constant('STATUS_PENDING') && status !== constant('STATUS_SUCCESS'))
      throw systemError('NtDeviceIoControlFile', fn('RtlNtStatusToDosError')(status));
    st.pending = mask;
    this.byIosb.set(st.iosbAddr, st);
  }

  private cancel(st: SockState): void {
    if (st.cancelling) return;
    st.cancelling = true;
    // NTSTATUS is a signed 32-bit value and the header's constants are written unsigned
    // (STATUS_NOT_FOUND is 0xC0000225): compare them as unsigned.
    const s = fn('NtCancelIoFileEx')(this.afd, st.iosbAddr, this.cancelIosbAddr) >>> 0;
    // STATUS_NOT_FOUND: the request completed meanwhile; its completion is on its way.
    if (s !== constant('STATUS_SUCCESS') && s !== constant('STATUS_NOT_FOUND'))
      throw systemError('NtCancelIoFileEx', fn('RtlNtStatusToDosError')(s | 0));
  }

  /** A completed AFD poll: the event to report (Ready bits), or 0; re-submits what stays armed. */
  private completed(iosbAddr: number): number {
    const st = this.byIosb.get(iosbAddr);
    if (!st) return 0;
    this.byIosb.delete(iosbAddr);
    st.pending = 0;
    const wasCancelling = st.cancelling;
    st.cancelling = false;
    if (st.deleted) return 0;
    const status = getUint(st.iosb, layout('IO_STATUS_BLOCK').fields.Status!.offset, 4, false) | 0;
    let events = 0;
    if (!wasCancelling && status === constant('STATUS_SUCCESS')) {
      const info = layout('AFD_POLL_INFO');
      const hi = layout('AFD_POLL_HANDLE_INFO');
      if (getUint(st.info, info.fields.NumberOfHandles!.offset, 4, false) > 0)
        events = getUint(st.info, info.fields.Handles!.offset + hi.fields.Events!.offset, 4, false);
    } else if (!wasCancelling) {
      events = constant('AFD_POLL_ABORT'); // the poll itself failed: the socket is unusable
    }
    if (events & constant('AFD_POLL_LOCAL_CLOSE')) {
      this.socks.delete(st.sock);
      st.deleted = true;
      return 0;
    }
    const ready = readiness(events, st.interest);
    // Edge emulation, as mio: what was reported is not watched again until an operation reports
    // would-block (rearm) or the socket is reregistered.
    st.armed &= ~(events & afdEvents(st.interest));
    this.submit(st);
    this.readyToken = st.token;
    return ready;
  }
  private readyToken = 0;

  private ensure(capacity: number): void {
    if (this.entriesBytes >= capacity * this.oe.size) return;
    this.entriesBytes = capacity * this.oe.size;
    this.entries = pinnedBuffer(this.entriesBytes);
    this.entriesAddr = addressOf(this.entries);
  }

  private ms(timeoutMs: number): number {
    return timeoutMs < 0 ? constant('INFINITE') : Math.ceil(timeoutMs);
  }

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
    (this.gqcs as unknown as AsyncGqcs).async(
      this.port,
      this.entriesAddr,
      sink.capacity,
      this.removedAddr,
      this.ms(timeoutMs),
      0,
      (err, ok) => {
        this.inflight = false;
        if (this.closeWhenBack) {
          this.finishClose();
          done(errorByName('GetQueuedCompletionStatusEx', 'EBADF', 'the Poll was closed while waiting'), 0);
          return;
        }
        if (err) {
          done(err, 0);
          return;
        }
        try {
          done(null, this.finish(sink, ok));
        } catch (e) {
          done(e as Error, 0);
        }
      },
    );
  }

  /** Turns the completion list into events; a FALSE return with WAIT_TIMEOUT is no event. */
  private finish(sink: EventSink, ok: number): number {
    if (!ok) {
      const e = fn('GetLastError')();
      if (e === constant('WAIT_TIMEOUT')) return 0;
      throw systemError('GetQueuedCompletionStatusEx', e);
    }
    const n = getUint(this.removed, 0, 4, false);
    const oe = this.oe;
    const key = oe.fields.lpCompletionKey!;
    const ov = oe.fields.lpOverlapped!;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const b = i * oe.size;
      const k = readPtr(this.entries, b + key.offset, key.size);
      const overlapped = readPtr(this.entries, b + ov.offset, ov.size);
      if (overlapped !== 0 && this.ops.size && this.ops.has(overlapped)) {
        const op = this.ops.get(overlapped)!;
        this.ops.delete(overlapped);
        const r = op.complete();
        if (r === 0 || op.token === undefined) continue;
        sink.tokens[count] = op.token;
        sink.flags[count] = r;
        count++;
        continue;
      }
      if (overlapped !== 0) {
        const r = this.completed(overlapped);
        if (r === 0) continue;
        sink.tokens[count] = this.readyToken;
        sink.flags[count] = r;
        count++;
        continue;
      }
      if (k === INTERRUPT) continue;
      const w = this.wakers.get(k);
      if (w) clearPending(w);
      sink.tokens[count] = k;
      sink.flags[count] = Ready.READABLE;
      count++;
    }
    return count;
  }

  interrupt(): void {
    if (this.port !== 0) post(this.port, INTERRUPT);
  }

  createWaker(token: Token): SysWaker {
    this.check('CreateIoCompletionPort');
    const handle: WakerHandle = {
      type: 'metal-io-waker',
      backend: 'iocp',
      target: mod.target.name,
      kind: 'iocp',
      fd: this.port,
      token,
      ...issueGuard(this.port, token),
    };
    this.wakers.set(token, handle);
    return {
      handle,
      fds: [], // it posts to the selector's port
      wake: () => wakeIocp(handle),
      close: () => {
        if (closeGuard(handle) !== 'closed') this.wakers.delete(token);
      },
    };
  }

  close(): void {
    if (this.port === 0) return;
    for (const w of this.wakers.values()) closeGuard(w);
    if (this.inflight) {
      this.interrupt();
      this.closeWhenBack = true;
      this.portToClose = this.port;
      this.port = 0;
      return;
    }
    this.portToClose = this.port;
    this.port = 0;
    this.finishClose();
  }

  private portToClose = 0;
  private finishClose(): void {
    if (this.afd !== 0) {
      fn('CloseHandle')(this.afd);
      this.afd = 0;
    }
    if (this.portToClose !== 0) {
      fn('CloseHandle')(this.portToClose);
      this.portToClose = 0;
    }
    this.socks.clear();
    this.byIosb.clear();
  }
}

export { type OverlappedOp, wakeIocp };

/** `sel` as the IOCP selector a NamedPipe completes on; any other backend: ERR_METAL_IO_UNSUPPORTED naming `syscall`. */
export function iocpSelector(sel: Selector, syscall: string): IocpSelector {
  if (!(sel instanceof IocpSelector))
    throw unsupportedError(`${syscall}: a NamedPipe needs a Poll on the IOCP backend, not ${sel.backend}`);
  return sel;
}
