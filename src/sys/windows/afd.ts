// The AFD side of the IOCP backend: mio's translation of interests to AFD poll events and back,
// the base socket AFD knows, and the per-socket state whose buffers the kernel owns while a poll
// request is pending.

import { Interest } from '../../interest.js';
import type { Token } from '../../token.js';
import { systemError } from '../errors.js';
import { addressOf, getUint, pinnedBuffer, putUint } from '../ffi.js';
import { constant, fn, layout, mod } from '../os.js';
import { Ready } from '../selector.js';

let AFD: Record<string, number> | null = null;
function afd(): Record<string, number> {
  return (AFD ??= {
    RECEIVE: constant('AFD_POLL_RECEIVE'),
    RECEIVE_EXPEDITED: constant('AFD_POLL_RECEIVE_EXPEDITED'),
    SEND: constant('AFD_POLL_SEND'),
    DISCONNECT: constant('AFD_POLL_DISCONNECT'),
    ABORT: constant('AFD_POLL_ABORT'),
    LOCAL_CLOSE: constant('AFD_POLL_LOCAL_CLOSE'),
    ACCEPT: constant('AFD_POLL_ACCEPT'),
    CONNECT_FAIL: constant('AFD_POLL_CONNECT_FAIL'),
  });
}

/** Always asked for: conditions every registration must hear of (mio's base set). */
export function alwaysEvents(): number {
  const a = afd();
  return a.ABORT! | a.LOCAL_CLOSE! | a.CONNECT_FAIL!;
}

/** mio's interest translation: readable is receive, accept, disconnect; writable is send. */
export function afdEvents(interest: Interest): number {
  const a = afd();
  let e = 0;
  if (interest & Interest.READABLE) e |= a.RECEIVE! | a.ACCEPT! | a.DISCONNECT!;
  if (interest & Interest.PRIORITY) e |= a.RECEIVE_EXPEDITED!;
  if (interest & Interest.WRITABLE) e |= a.SEND!;
  return e;
}

/** mio's event translation for AFD, limited to what was asked for. */
export function readiness(events: number, interest: Interest): number {
  const a = afd();
  let r = 0;
  const readable = Interest.isReadable(interest);
  const writable = Interest.isWritable(interest);
  if (readable && events & (a.RECEIVE! | a.ACCEPT! | a.DISCONNECT! | a.ABORT! | a.CONNECT_FAIL!)) r |= Ready.READABLE;
  if (writable && events & (a.SEND! | a.ABORT! | a.CONNECT_FAIL!)) r |= Ready.WRITABLE;
  if (events & a.CONNECT_FAIL!) r |= Ready.ERROR;
  if (events & (a.DISCONNECT! | a.ABORT! | a.CONNECT_FAIL!)) r |= Ready.READ_CLOSED;
  if (events & (a.ABORT! | a.CONNECT_FAIL!)) r |= Ready.WRITE_CLOSED;
  if (Interest.isPriority(interest) && events & a.RECEIVE_EXPEDITED!) r |= Ready.PRIORITY;
  return r;
}

// Element writes and reads only (putUint/getUint), never a Buffer or BigInt method a caller could
// patch: nothing of the caller's runs while an AFD request is being built (the boundary rule).
/** A pointer-sized value at `base + field.offset` of `buf` (little-endian). */
export function writePtr(buf: Uint8Array, field: { offset: number; size: number }, v: number | bigint, base = 0): void {
  const n = typeof v === 'bigint' ? Number(v) : v; // user-space addresses and handles fit in 2^53
  const at = base + field.offset;
  putUint(buf, at, n, field.size, false);
}
/** The pointer-sized value at `off` of `buf` (little-endian), as a number. */
export function readPtr(buf: Uint8Array, off: number, size: number): number {
  return getUint(buf, off, size, false);
}

/** The base service provider's socket (SIO_BASE_HANDLE): AFD only knows that one. */
export function baseSocket(sock: number): bigint {
  const out = Buffer.alloc(8);
  const ret = new Uint32Array(1);
  for (const code of [constant('SIO_BASE_HANDLE'), constant('SIO_BSP_HANDLE_POLL')]) {
    if (fn('WSAIoctl')(sock, code, null, 0, out, mod.target.pointerSize, ret, null, null) === 0) {
      return BigInt(readPtr(out, 0, mod.target.pointerSize));
    }
  }
  throw systemError('WSAIoctl', fn('WSAGetLastError')());
}

/** An overlapped operation's completion: returns the Ready bits to report for `token` (0: none). */
export interface OverlappedOp {
  token: number | undefined;
  complete(): number;
}

/** One registered socket: its interests, and the AFD request buffers the kernel owns while pending. */
export class SockState {
  armed: number;
  pending = 0;
  cancelling = false;
  deleted = false;
  readonly info = pinnedBuffer(layout('AFD_POLL_INFO').size);
  readonly infoAddr = addressOf(this.info);
  readonly iosb = pinnedBuffer(layout('IO_STATUS_BLOCK').size);
  readonly iosbAddr = addressOf(this.iosb);
  constructor(
    readonly sock: number,
    readonly base: bigint,
    public token: Token,
    public interest: Interest,
  ) {
    this.armed = afdEvents(interest);
  }
}
