// Winsock (ws2_32): overlapped-capable, non-inheritable SOCKETs made non-blocking with FIONBIO;
// datagram batches as loops of recvfrom/sendto (Winsock has no batch call).

import { systemError } from '../errors.js';
import { constant, fn, mod } from '../os.js';
import type { SockApi } from '../sock-api.js';
import { unsupportedError } from '../unsupported.js';

export function winsock(): SockApi {
  const data = Buffer.alloc(mod.structs.WSADATA!.size);
  const rc = fn('WSAStartup')(0x202, data);
  if (rc !== 0) throw systemError('WSAStartup', rc);
  const err = () => fn('WSAGetLastError')();
  const one = new Uint32Array([1]);
  const nonblocking = (s: number) => {
    if (fn('ioctlsocket')(s, constant('FIONBIO') | 0, one) !== 0) throw systemError('ioctlsocket', err());
  };
  const invalid = (s: number | bigint) => typeof s === 'bigint' || s === -1 || s > 0xffffffff;
  return {
    fds: false,
    soErrorClearsOnRead: false,
    vectoredCalls: false,
    reuseAddrForListeners: false,
    errno: err,
    EINTR: constant('WSAEINTR'),
    EAGAIN: constant('WSAEWOULDBLOCK'),
    EINPROGRESS: constant('WSAEWOULDBLOCK'),
    EINVAL: constant('WSAEINVAL'),
    acceptAborted: (e) => e === constant('WSAECONNABORTED'),
    SHUT_RD: constant('SD_RECEIVE'),
    SHUT_WR: constant('SD_SEND'),
    SHUT_RDWR: constant('SD_BOTH'),
    sendFlags: 0,
    socketpair() {
      throw unsupportedError('metal-io: socketpair is not available on Windows');
    },
    socket(domain, type) {
      const s = fn('WSASocketW')(domain, type, 0, null, 0, constant('WSA_FLAG_OVERLAPPED') | constant('WSA_FLAG_NO_HANDLE_INHERIT'));
      if (invalid(s)) throw systemError('socket', err());
      try {
        nonblocking(Number(s));
      } catch (e) {
        fn('closesocket')(s);
        throw e;
      }
      return Number(s);
    },
    close(s) {
      if (fn('closesocket')(s) !== 0) throw systemError('closesocket', err());
    },
    duplicate() {
      // WSADuplicateSocketW is for handing a socket to another process; one process's threads share its SOCKETs.
      throw unsupportedError(
        'metal-io: duplicating a socket is not available on Windows (threads of one process can share the SOCKET itself)',
      );
    },
    setNonblocking: nonblocking,
    accept(s, addr, len) {
      const a = fn('ws_accept')(s, addr, len);
      if (invalid(a)) return -1;
      try {
        nonblocking(Number(a));
        // Accepted sockets are inheritable; child processes must not get them (as std does).
        if (!fn('SetHandleInformation')(Number(a), constant('HANDLE_FLAG_INHERIT'), 0))
          throw systemError('SetHandleInformation', fn('GetLastError')());
      } catch (e) {
        fn('closesocket')(a);
        throw e;
      }
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
    recvBatch(s, b, max) {
      const recvfrom = fn('ws_recvfrom');
      const n = max < b.capacity ? max : b.capacity;
      let got = 0;
      for (; got < n; got++) {
        const peer = b.peers[got]!;
        batchLen[0] = peer.capacity; // a number: no `length` getter a caller could patch decides it
        let n = recvfrom(s, b.views[got]!, b.datagramSize, 0, peer.bytes, batchLen);
        let trunc = 0;
        if (n < 0) {
          if (err() !== constant('WSAEMSGSIZE')) {
            if (got === 0) return -1;
            break;
          }
          n = b.datagramSize;
          trunc = 1;
        }
        peer.filled(batchLen[0]!);
        b.lengths[got] = n;
        b.flags[got] = trunc;
        b.strides[got] = n;
      }
      return got;
    },
    sendBatch(s, b, start, count, flags) {
      const sendto = fn('ws_sendto');
      let sent = 0;
      for (; sent < count; sent++) {
        const i = start + sent;
        const peer = b.peers[i]!;
        const len = b.lengths[i]!;
        if (sendto(s, b.views[i]!, len < b.datagramSize ? len : b.datagramSize, flags, peer.len ? peer.bytes : null, peer.len) < 0)
          return sent === 0 ? -1 : sent;
      }
      return sent;
    },
    sendSegmented: null,
  };
}

const batchLen = new Int32Array(1);
