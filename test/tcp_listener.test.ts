import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream } from '../src/net.js';
import { assertCode, expectEvents, expectNoEvents, isCloexec, leakedSince, openFds } from './_util/events.js';
import { haveIPv6Loopback } from './_util/net.js';

test('bind to port 0, localAddr, accept returns null when nothing is pending', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    const a = l.localAddr();
    assert.is(a.family, 'IPv4');
    assert.is(a.address, '127.0.0.1');
    assert.ok(a.port > 0);
    assert.is(l.accept(), null);
    assert.ok(isCloexec(l.fd));
  } finally {
    l.close();
  }
});

test('accept readiness: an event per new connection after would-block', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  const poll = new Poll();
  const events = new Events(8);
  const clients: TcpStream[] = [];
  const accepted: TcpStream[] = [];
  try {
    poll.registry().register(l, 1, Interest.READABLE);
    expectNoEvents(poll, events);
    clients.push(TcpStream.connect(l.localAddr()));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    let r;
    while ((r = l.accept()) !== null) {
      accepted.push(r[0]);
      assert.is(r[1].port, clients[0]!.localAddr().port);
    }
    assert.is(accepted.length, 1);
    assert.ok(isCloexec(accepted[0]!.fd), 'accepted sockets are close-on-exec');
    clients.push(TcpStream.connect(l.localAddr()));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    while ((r = l.accept()) !== null) accepted.push(r[0]);
    assert.is(accepted.length, 2);
  } finally {
    poll.close();
    l.close();
    for (const s of [...clients, ...accepted]) s.close();
  }
});

test('bind errors name the address; bad addresses are TypeErrors', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    const port = l.localAddr().port;
    const e = assertCode(() => TcpListener.bind(`127.0.0.1:${port}`), 'EADDRINUSE', 'bind');
    assert.is(e.message, `bind EADDRINUSE 127.0.0.1:${port}`);
    assert.ok(e.errno < 0, 'errno is negative, as Node reports it');
    assert.is((e as { address?: string }).address, '127.0.0.1', 'address, as node:net sets it');
    assert.is((e as { port?: number }).port, port, 'port, as node:net sets it');
  } finally {
    l.close();
  }
  assert.throws(
    () => TcpListener.bind('localhost:0'),
    (e: Error) => e instanceof TypeError && /localhost/.test(e.message),
  );
  for (const bad of ['127.0.0.1:0080', '127.0.0.1:00', '[::1]:08', '127.0.0.1:65536', '127.0.0.1:+1', '127.0.0.1: 1']) {
    assert.throws(
      () => TcpListener.bind(bad),
      (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
      bad,
    );
  }
  assert.throws(
    () => TcpListener.bind(80 as never),
    (e: Error) => e instanceof TypeError,
  );
});

test('ttl, takeError, closed listener is EBADF, close twice harmless, dispose', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  l.setTtl(33);
  assert.is(l.ttl(), 33);
  assert.throws(
    () => l.setTtl(0),
    (e: Error) => e instanceof RangeError,
  );
  assert.is(l.takeError(), null);
  l.close();
  l.close();
  assertCode(() => l.accept(), 'EBADF', 'accept');
  assertCode(() => l.localAddr(), 'EBADF');
  const l2 = TcpListener.bind('127.0.0.1:0');
  l2[Symbol.dispose]();
  assertCode(() => l2.accept(), 'EBADF');
});

test('fromFd adopts a listening socket', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  const port = l.localAddr().port;
  const adopted = TcpListener.fromFd(l.intoRawFd()); // the fd moves: one owner at a time
  assert.is(adopted.localAddr().port, port);
  assert.ok(l.fd < 0, 'the old owner is closed');
  adopted.close();
  assert.throws(
    () => TcpListener.fromFd(-1),
    (e: Error) => e instanceof RangeError,
  );
});

test('IPv6 loopback', () => {
  if (!haveIPv6Loopback()) {
    console.log('  SKIP IPv6 listener: ::1 is not configured here');
    return;
  }
  const l = TcpListener.bind('[::1]:0');
  const poll = new Poll();
  const events = new Events(4);
  try {
    const a = l.localAddr();
    assert.is(a.family, 'IPv6');
    assert.is(a.address, '::1');
    poll.registry().register(l, 1, Interest.READABLE);
    const c = TcpStream.connect(`[::1]:${a.port}`);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    const [s, peer] = l.accept()!;
    assert.is(peer.family, 'IPv6');
    assert.is(peer.address, '::1');
    assert.type(peer.scopeId, 'number');
    s.close();
    c.close();
  } finally {
    poll.close();
    l.close();
  }
});

test('1000 listen/connect/accept/close cycles leak no fd', async () => {
  const before = openFds();
  if (!before) {
    console.log('  SKIP fd leak check: no /proc/self/fd here');
    return;
  }
  const l = TcpListener.bind('127.0.0.1:0');
  const addr = l.localAddr();
  for (let i = 0; i < 1000; i++) {
    const c = TcpStream.connect(addr);
    let a: ReturnType<typeof l.accept> = null;
    const deadline = Date.now() + 1000;
    while (!(a = l.accept()) && Date.now() < deadline) {
      /* loopback connects at once */
    }
    a?.[0].close();
    c.close();
  }
  l.close();
  const leaked = await leakedSince(before);
  assert.ok(leaked.length <= 1, `leaked ${leaked.length}`);
});

test.run();
