// The socket calls the net types make, one shape for both families: BSD sockets through libc on
// Unix, Winsock (ws2_32) on Windows. Which one is the only thing that differs between them; the
// net types above it have no platform code.
import { constant, fn, mod } from '../sys/os.js';
import { errno as unixErrno } from '../sys/ffi.js';
import { setNonblocking, setCloexec, closeFd } from '../sys/unix/fd.js';
import { systemError } from '../errors.js';
import { recvBatch, sendBatch, sendSegmented, gsoAvailable } from '../sys/unix/mmsg.js';
import { addressOf } from '../sys/ffi.js';
import { bufferOf } from '../validators.js';
import type { DatagramBatch, PeerAddress } from './datagram.js';

type Buf = ArrayBufferView | null;
export interface SockApi {
  readonly windows: boolean;
  /** errno(3), or WSAGetLastError() */
  errno(): number;
  readonly EINTR: number; readonly EAGAIN: number; readonly EINPROGRESS: number;
  /** A non-blocking socket that child processes do not inherit. */
  socket(domain: number, type: number): number;
  close(s: number): void;
  /** A second descriptor for the same socket, close-on-exec (ERR_METAL_IO_UNSUPPORTED on Windows). */
  duplicate(s: number): number;
  setNonblocking(s: number): void;
  accept(s: number, addr: Buffer, len: Uint32Array): number;
  bind(s: number, addr: Buffer, len: number): number;
  listen(s: number, backlog: number): number;
  connect(s: number, addr: Buffer, len: number): number;
  recv(s: number, b: ArrayBufferView, n: number, flags: number): number;
  send(s: number, b: ArrayBufferView, n: number, flags: number): number;
  recvfrom(s: number, b: ArrayBufferView, n: number, flags: number, addr: Buffer, len: Uint32Array): number;
  sendto(s: number, b: ArrayBufferView, n: number, flags: number, addr: Buffer, len: number): number;
  getsockopt(s: number, level: number, name: number, v: Buf, len: Uint32Array): number;
  setsockopt(s: number, level: number, name: number, v: Buf, len: number): number;
  getsockname(s: number, addr: Buffer, len: Uint32Array): number;
  getpeername(s: number, addr: Buffer, len: Uint32Array): number;
  shutdown(s: number, how: number): number;
  /** Receives up to batch.capacity datagrams into `batch`: the count, or -1 with errno() set. */
  recvBatch(s: number, batch: DatagramBatch): number;
  /** Sends slots 0..count-1 of `batch`: how many went (maybe fewer), or -1 with errno() set when none did. */
  sendBatch(s: number, batch: DatagramBatch, count: number, flags: number): number;
  /** One send of `count` bytes at `view` as `segment`-byte datagrams (UDP GSO), or null where the OS has none. */
  sendSegmented: ((s: number, view: ArrayBufferView, count: number, segment: number, peer: PeerAddress | null, flags: number) => number) | null;
}

let api: SockApi | null = null;
export function sock(): SockApi { return api ??= mod.target.os === 'win32' ? winsock() : bsd(); }

function bsd(): SockApi {
  const C = mod.constants;
  const recvfrom = fn('recvfrom'); const sendto = fn('sendto'); // per-datagram calls: bound once
  const flags = (C.SOCK_NONBLOCK ?? 0) | (C.SOCK_CLOEXEC ?? 0);
  return {
    windows: false, errno: unixErrno, EINTR: constant('EINTR'), EAGAIN: constant('EAGAIN'), EINPROGRESS: constant('EINPROGRESS'),
    socket(domain, type) {
      const fd = fn('socket')(domain, type | flags, 0);
      if (fd === -1) throw systemError('socket', unixErrno());
      if (!C.SOCK_NONBLOCK || !C.SOCK_CLOEXEC) { try { setCloexec(fd); setNonblocking(fd, true); } catch (e) { closeFd(fd); throw e; } }
      return fd;
    },
    close: closeFd,
    duplicate(s) {
      const d = fn('fcntl')(s, constant('F_DUPFD_CLOEXEC'), 'int', 0);
      if (d === -1) throw systemError('fcntl', unixErrno());
      return d;
    },
    setNonblocking(s) { setNonblocking(s, true); setCloexec(s); },
    accept(s, addr, len) {
      if (flags && mod.functions.accept4) return fn('accept4')(s, addr, len, flags);
      const fd = fn('accept')(s, addr, len);
      if (fd >= 0) { try { setCloexec(fd); setNonblocking(fd, true); } catch (e) { closeFd(fd); throw e; } }
      return fd;
    },
    bind: (s, a, l) => fn('bind')(s, a, l),
    listen: (s, b) => fn('listen')(s, b),
    connect: (s, a, l) => fn('connect')(s, a, l),
    recv: fn('recv') as never,
    send: fn('send') as never,
    recvfrom: (s, b, n, f, a, l) => Number(recvfrom(s, b, n, f, a, l)),
    sendto: (s, b, n, f, a, l) => Number(sendto(s, b, n, f, a, l)),
    getsockopt: (s, lv, nm, v, l) => fn('getsockopt')(s, lv, nm, v, l),
    setsockopt: (s, lv, nm, v, l) => fn('setsockopt')(s, lv, nm, v, l),
    getsockname: (s, a, l) => fn('getsockname')(s, a, l),
    getpeername: (s, a, l) => fn('getpeername')(s, a, l),
    shutdown: (s, h) => fn('shutdown')(s, h),
    recvBatch: recvBatch,
    sendBatch: sendBatch,
    sendSegmented: gsoAvailable() ? (s, view, count, segment, peer, flags) => {
      bufferOf(view); // moves a small on-heap array's bytes off the V8 heap: its address stays put for the call
      return sendSegmented(s, addressOf(view), count, segment, peer, flags);
    } : null,
  };
}

function winsock(): SockApi {
  const data = Buffer.alloc(mod.structs.WSADATA!.size);
  const rc = fn('WSAStartup')(0x202, data);
  if (rc !== 0) throw systemError('WSAStartup', rc);
  const err = () => fn('WSAGetLastError')();
  const one = new Uint32Array([1]);
  const nonblocking = (s: number) => { if (fn('ioctlsocket')(s, constant('FIONBIO') | 0, one) !== 0) throw systemError('ioctlsocket', err()); };
  const invalid = (s: number | bigint) => typeof s === 'bigint' || s === -1 || s > 0xffffffff;
  return {
    windows: true, errno: err, EINTR: constant('WSAEINTR'), EAGAIN: constant('WSAEWOULDBLOCK'), EINPROGRESS: constant('WSAEWOULDBLOCK'),
    socket(domain, type) {
      const s = fn('WSASocketW')(domain, type, 0, null, 0, constant('WSA_FLAG_OVERLAPPED') | constant('WSA_FLAG_NO_HANDLE_INHERIT'));
      if (invalid(s)) throw systemError('socket', err());
      try { nonblocking(Number(s)); } catch (e) { fn('closesocket')(s); throw e; }
      return Number(s);
    },
    close(s) { if (fn('closesocket')(s) !== 0) throw systemError('closesocket', err()); },
    duplicate() {
      // WSADuplicateSocketW is for handing a socket to another process; one process's threads share its SOCKETs.
      throw Object.assign(new Error('metal-io: duplicating a socket is not available on Windows (threads of one process can share the SOCKET itself)'), { code: 'ERR_METAL_IO_UNSUPPORTED' });
    },
    setNonblocking: nonblocking,
    accept(s, addr, len) {
      const a = fn('ws_accept')(s, addr, len);
      if (invalid(a)) return -1;
      try {
        nonblocking(Number(a));
        // Accepted sockets are inheritable; child processes must not get them (as std does).
        if (!fn('SetHandleInformation')(Number(a), constant('HANDLE_FLAG_INHERIT'), 0)) throw systemError('SetHandleInformation', fn('GetLastError')());
      } catch (e) { fn('closesocket')(a); throw e; }
      return Number(a);
    },
    bind: (s, a, l) => fn('ws_bind')(s, a, l),
    listen: (s, b) => fn('ws_listen')(s, b),
    connect: (s, a, l) => fn('ws_connect')(s, a, l),
    recv: fn('ws_recv') as never,
    send: fn('ws_send') as never,
    recvfrom: (s, b, n, f, a, l) => fn('ws_recvfrom')(s, b, n, f, a, l),
    sendto: (s, b, n, f, a, l) => fn('ws_sendto')(s, b, n, f, a, l),
    getsockopt: (s, lv, nm, v, l) => fn('ws_getsockopt')(s, lv, nm, v, l),
    setsockopt: (s, lv, nm, v, l) => fn('ws_setsockopt')(s, lv, nm, v, l),
    getsockname: (s, a, l) => fn('ws_getsockname')(s, a, l),
    getpeername: (s, a, l) => fn('ws_getpeername')(s, a, l),
    shutdown: (s, h) => fn('ws_shutdown')(s, h),
    // Winsock has WSARecvMsg/WSASendMsg but no batch call: a loop of recvfrom/sendto. A datagram
    // longer than its slot is WSAEMSGSIZE here (the slot holds its first bytes): truncated.
    recvBatch(s, b) {
      const recvfrom = fn('ws_recvfrom');
      let got = 0;
      for (; got < b.capacity; got++) {
        const peer = b.peers[got]!;
        batchLen[0] = peer.bytes.length;
        let n = recvfrom(s, b.views[got]!, b.datagramSize, 0, peer.bytes, batchLen);
        let trunc = 0;
        if (n < 0) {
          if (err() !== constant('WSAEMSGSIZE')) { if (got === 0) return -1; break; }
          n = b.datagramSize; trunc = 1;
        }
        peer.filled(batchLen[0]!);
        b.lengths[got] = n; b.flags[got] = trunc; b.strides[got] = n;
      }
      return got;
    },
    sendBatch(s, b, count, flags) {
      const sendto = fn('ws_sendto');
      let sent = 0;
      for (; sent < count; sent++) {
        const peer = b.peers[sent]!; const len = b.lengths[sent]!;
        if (sendto(s, b.views[sent]!, len < b.datagramSize ? len : b.datagramSize, flags, peer.len ? peer.bytes : null, peer.len) < 0) return sent === 0 ? -1 : sent;
      }
      return sent;
    },
    sendSegmented: null,
  };
}

const batchLen = new Int32Array(1);
