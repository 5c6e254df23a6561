// BSD sockets through libc: non-blocking and close-on-exec at creation where the OS can
// (SOCK_NONBLOCK | SOCK_CLOEXEC, accept4), else with fcntl; batches and GSO through sys/unix/mmsg.ts.

import { bufferOf } from '../../validators.js';
import { systemError } from '../errors.js';
import { addressOf, errno as unixErrno } from '../ffi.js';
import { constant, fn, mod } from '../os.js';
import type { SockApi } from '../sock-api.js';
import { closeFd, setCloexec, setNonblocking } from './fd.js';
import { gsoAvailable, recvBatch, sendBatch, sendSegmented } from './mmsg.js';

export function bsd(): SockApi {
  const C = mod.constants;
  const recvfrom = fn('recvfrom');
  const sendto = fn('sendto'); // per-datagram calls: bound once
  const flags = (C.SOCK_NONBLOCK ?? 0) | (C.SOCK_CLOEXEC ?? 0);
  const atomic = C.SOCK_NONBLOCK !== undefined && C.SOCK_CLOEXEC !== undefined; // both set by socket(2) itself
  const one = new Int32Array([1]);
  /** What socket(2) could not set at once: close-on-exec, non-blocking, SO_NOSIGPIPE. Closes `fd` when it fails. */
  const finish = (fd: number, fresh: boolean): number => {
    try {
      if (!fresh || !atomic) {
        setCloexec(fd);
        setNonblocking(fd, true);
      }
      if (
        C.MSG_NOSIGNAL === undefined &&
        C.SO_NOSIGPIPE !== undefined &&
        fn('setsockopt')(fd, constant('SOL_SOCKET'), C.SO_NOSIGPIPE, one, 4) !== 0
      )
        throw systemError('setsockopt', unixErrno());
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return fd;
  };
  return {
    fds: true,
    soErrorClearsOnRead: true,
    vectoredCalls: true,
    reuseAddrForListeners: true,
    errno: unixErrno,
    EINTR: constant('EINTR'),
    EAGAIN: constant('EAGAIN'),
    EINPROGRESS: constant('EINPROGRESS'),
    EINVAL: constant('EINVAL'),
    acceptAborted: (e) => e === C.ECONNABORTED || e === C.EPROTO,
    SHUT_RD: constant('SHUT_RD'),
    SHUT_WR: constant('SHUT_WR'),
    SHUT_RDWR: constant('SHUT_RDWR'),
    sendFlags: C.MSG_NOSIGNAL ?? 0,
    socket(domain, type) {
      const fd = fn('socket')(domain, type | flags, 0);
      if (fd === -1) throw systemError('socket', unixErrno());
      return finish(fd, true);
    },
    socketpair(type) {
      const sv = new Int32Array(2);
      if (fn('socketpair')(constant('AF_UNIX'), type | flags, 0, sv) === -1) throw systemError('socketpair', unixErrno());
      try {
        finish(sv[0]!, true);
      } catch (e) {
        closeFd(sv[1]!);
        throw e;
      } // finish closes the fd it fails on
      try {
        finish(sv[1]!, true);
      } catch (e) {
        closeFd(sv[0]!);
        throw e;
      }
      return [sv[0]!, sv[1]!];
    },
    close: closeFd,
    duplicate(s) {
      const d = fn('fcntl')(s, constant('F_DUPFD_CLOEXEC'), 'int', 0);
      if (d === -1) throw systemError('fcntl', unixErrno());
      return d;
    },
    setNonblocking(s) {
      setNonblocking(s, true);
      setCloexec(s);
    },
    accept(s, addr, len) {
      const fresh = atomic && !!mod.functions.accept4;
      const fd = fresh ? fn('accept4')(s, addr, len, flags) : fn('accept')(s, addr, len);
      return fd < 0 ? fd : finish(fd, fresh);
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
    sendSegmented: gsoAvailable()
      ? (s, view, count, segment, peer, flags) => {
          bufferOf(view); // moves a small on-heap array's bytes off the V8 heap: its address stays put for the call
          return sendSegmented(s, addressOf(view), count, segment, peer, flags);
        }
      : null,
  };
}
