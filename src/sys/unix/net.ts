// BSD sockets through libc: non-blocking and close-on-exec at creation where the OS can
// (SOCK_NONBLOCK | SOCK_CLOEXEC, accept4), else with fcntl; batches and GSO through sys/unix/mmsg.ts.
import { constant, fn, mod } from '../os.js';
import { errno as unixErrno, addressOf } from '../ffi.js';
import { setNonblocking, setCloexec, closeFd } from './fd.js';
import { systemError } from '../../errors.js';
import { recvBatch, sendBatch, sendSegmented, gsoAvailable } from './mmsg.js';
import { bufferOf } from '../../validators.js';
import type { SockApi } from '../sock-api.js';

export function bsd(): SockApi {
  const C = mod.constants;
  const recvfrom = fn('recvfrom'); const sendto = fn('sendto'); // per-datagram calls: bound once
  const flags = (C.SOCK_NONBLOCK ?? 0) | (C.SOCK_CLOEXEC ?? 0);
  return {
    fds: true, soErrorClearsOnRead: true, vectoredCalls: true, reuseAddrForListeners: true, errno: unixErrno, EINTR: constant('EINTR'), EAGAIN: constant('EAGAIN'), EINPROGRESS: constant('EINPROGRESS'),
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
