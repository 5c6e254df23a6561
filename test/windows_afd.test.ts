// Windows only (under Wine by test/platform/wine.sh): sockets registered with the IOCP backend
// through AFD, driven with raw Winsock calls (below the net types, which windows_net.test.ts covers).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, type Registry, type Source } from '../src/index.js';
import { selectorOf } from '../src/poll.js';
import sys, { constants as C, platform, structs as S } from '../src/sys/index.js';
import { assertCode, expectEvents, expectNoEvents } from './_util/events.js';

const windows = platform.os === 'win32';
const skip = (what: string) => {
  console.log(`  SKIP ${what}: Windows-only (test/platform/wine.sh runs it under Wine), this is ${platform.name}`);
};

/** A raw non-blocking Winsock socket as a Source (a custom Source over the backend, as a user's own would be). */
class Raw implements Source {
  constructor(readonly s: number) {
    const nb = new Uint32Array([1]);
    assert.is(sys.ioctlsocket!(s, C.FIONBIO! | 0, nb), 0);
  }
  register(r: Registry, t: number, i: number) {
    selectorOf(r).register(this.s, t, i, true);
  }
  reregister(r: Registry, t: number, i: number) {
    selectorOf(r).reregister(this.s, t, i);
  }
  deregister(r: Registry) {
    selectorOf(r).deregister(this.s);
  }
  close() {
    sys.closesocket!(this.s);
  }
}

function setup() {
  assert.is(sys.WSAStartup!(0x202, Buffer.alloc(S.WSADATA!.size)), 0);
  const sin = S.sockaddr_in!;
  const addr = Buffer.alloc(sin.size);
  addr.writeUInt16LE(C.AF_INET!, sin.fields.sin_family!.offset);
  addr.writeUInt32BE(0x7f000001, sin.fields.sin_addr!.offset);
  const l = new Raw(Number(sys.ws_socket!(C.AF_INET!, C.SOCK_STREAM!, C.IPPROTO_TCP!)));
  assert.is(sys.ws_bind!(l.s, addr, sin.size), 0);
  assert.is(sys.ws_listen!(l.s, 16), 0);
  assert.is(sys.ws_getsockname!(l.s, addr, new Int32Array([sin.size])), 0);
  return { l, addr, sin };
}

test('accept readiness, connect completion, data edges, rearm, deregister, reregister', () => {
  if (!windows) return skip('AFD registration');
  const { l, addr, sin } = setup();
  const poll = new Poll();
  const events = new Events(8);
  const reg = poll.registry();
  try {
    reg.register(l, 1, Interest.READABLE);
    assertCode(() => reg.register(l, 1, Interest.READABLE), 'EEXIST');
    expectNoEvents(poll, events);
    const c = new Raw(Number(sys.ws_socket!(C.AF_INET!, C.SOCK_STREAM!, C.IPPROTO_TCP!)));
    sys.ws_connect!(c.s, addr, sin.size);
    reg.register(c, 2, Interest.WRITABLE | Interest.READABLE);
    expectEvents(poll, events, [
      { token: 1, readable: true },
      { token: 2, writable: true },
    ]);
    const a = new Raw(Number(sys.ws_accept!(l.s, null, null)));
    reg.register(a, 3, Interest.READABLE);
    assert.is(sys.ws_send!(c.s, Buffer.from('afd'), 3, 0), 3);
    expectEvents(poll, events, [{ token: 3, readable: true }]);
    expectNoEvents(poll, events); // edge: not again until would-block
    const buf = Buffer.alloc(16);
    assert.is(sys.ws_recv!(a.s, buf, 16, 0), 3);
    assert.is(sys.ws_recv!(a.s, buf, 16, 0), -1);
    assert.is(sys.WSAGetLastError!(), C.WSAEWOULDBLOCK);
    selectorOf(reg).rearm(a.s, Interest.READABLE); // what the net types do on would-block
    assert.is(sys.ws_send!(c.s, Buffer.from('more'), 4, 0), 4);
    expectEvents(poll, events, [{ token: 3, readable: true }]);
    reg.reregister(a, 4, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 4, writable: true }]);
    reg.deregister(a);
    assertCode(() => reg.deregister(a), 'ENOENT');
    sys.ws_send!(c.s, Buffer.from('x'), 1, 0);
    expectNoEvents(poll, events);
    c.close();
    a.close();
  } finally {
    poll.close();
    l.close();
  }
});

test('pollAsync sees a socket registered while it waits', async () => {
  if (!windows) return skip('AFD pollAsync');
  const { l, addr, sin } = setup();
  const poll = new Poll();
  const events = new Events(8);
  try {
    const pending = poll.pollAsync(events, 5000);
    await new Promise((r) => setTimeout(r, 20));
    poll.registry().register(l, 9, Interest.READABLE);
    const c = new Raw(Number(sys.ws_socket!(C.AF_INET!, C.SOCK_STREAM!, C.IPPROTO_TCP!)));
    sys.ws_connect!(c.s, addr, sin.size);
    await pending;
    assert.is(events.get(0)?.token, 9);
    c.close();
  } finally {
    poll.close();
    l.close();
  }
});

test.run();
