// UnixListener, UnixStream, UnixDatagram and UnixSocketAddress; pathnames in a temp dir.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { UnixDatagram, UnixListener, UnixSocketAddress, UnixStream } from '../src/unix.js';
import { assertCode, expectEvents, isCloexec, leakedSince, onLibkqueue, openFds } from './_util/events.js';
import { readExactly, tempDir } from './_util/net.js';

const linux = process.platform === 'linux' || process.platform === 'android';

test('pathname listener: connect, accept, echo, addresses', () => {
  const t = tempDir();
  const path = t.path('s.sock');
  const l = UnixListener.bind(path);
  const poll = new Poll();
  const events = new Events(4);
  try {
    assert.is(l.localAddr().asPathname(), path);
    poll.registry().register(l, 1, Interest.READABLE);
    const c = UnixStream.connect(path);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    const [s, peer] = l.accept()!;
    assert.ok(peer.isUnnamed());
    assert.is(s.localAddr().asPathname(), path);
    assert.is(c.peerAddr().asPathname(), path);
    assert.ok(isCloexec(s.fd) && isCloexec(c.fd) && isCloexec(l.fd));
    c.write(Buffer.from('unix'));
    assert.is(readExactly(s, 4).toString(), 'unix');
    c.shutdown('write');
    assert.is(readExactly(s, 1).length, 0, 'end of stream');
    assert.is(l.accept(), null);
    s.close();
    c.close();
  } finally {
    poll.close();
    l.close();
    t.remove();
  }
});

test('shutdown(read) after a readable event left undrained: still read-closed (mio unix_stream_shutdown_read; poll(2) keeps POLLRDHUP armed)', () => {
  if (!linux || onLibkqueue) {
    console.log(
      `  SKIP shutdown(read) after undrained data: only Linux reports it for one's own SHUT_RD [${process.platform}${onLibkqueue ? ', libkqueue' : ''}]`,
    );
    return;
  }
  const [a, b] = UnixStream.pair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(a, 1, Interest.READABLE | Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 1, writable: true }]);
    b.write(Buffer.from('not read yet'));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    a.shutdown('read');
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
    assert.is(readExactly(a, 12).toString(), 'not read yet', 'the queued bytes are still there');
  } finally {
    poll.close();
    a.close();
    b.close();
  }
});

test('abstract names (Linux)', () => {
  if (!linux) {
    console.log(`  SKIP abstract Unix names: Linux-only, this is ${process.platform}`);
    return;
  }
  const name = `metal-io-test-${process.pid}-${Date.now()}`;
  const l = UnixListener.bindAddr(UnixSocketAddress.fromAbstractName(name));
  try {
    assert.is(l.localAddr().asAbstractName()!.toString(), name);
    assert.is(l.localAddr().asPathname(), null);
    const c = UnixStream.connectAddr(UnixSocketAddress.fromAbstractName(name));
    const deadline = Date.now() + 1000;
    let a: ReturnType<typeof l.accept> = null;
    while (!(a = l.accept()) && Date.now() < deadline) {
      /* wait */
    }
    assert.ok(a);
    a![0].close();
    c.close();
  } finally {
    l.close();
  }
});

test('UnixStream.pair: read, write, hang-up event', () => {
  const [a, b] = UnixStream.pair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(b, 2, Interest.READABLE);
    a.write(Buffer.from('pair'));
    expectEvents(poll, events, [{ token: 2, readable: true }]);
    assert.is(readExactly(b, 4).toString(), 'pair');
    assert.is(b.read(Buffer.alloc(4)), null);
    a.close();
    expectEvents(poll, events, [{ token: 2, readClosed: true }]);
    assert.is(b.read(Buffer.alloc(4)), 0);
  } finally {
    poll.close();
    a.close();
    b.close();
  }
});

test('UnixDatagram: bind, sendTo, recvFrom with the sender path; unbound; pair; connect', () => {
  const t = tempDir();
  const d1 = UnixDatagram.bind(t.path('d1'));
  const d2 = UnixDatagram.bind(t.path('d2'));
  const u = UnixDatagram.unbound();
  const [p1, p2] = UnixDatagram.pair();
  try {
    assert.is(d1.sendTo(Buffer.from('dg'), t.path('d2')), 2);
    const buf = Buffer.alloc(8);
    const [n, from] = d2.recvFrom(buf)!;
    assert.is(n, 2);
    assert.is(from.asPathname(), t.path('d1'));
    assert.is(u.sendTo(Buffer.from('anon'), t.path('d2')), 4);
    const [, anon] = d2.recvFrom(buf)!;
    assert.ok(anon.isUnnamed());
    assert.is(d2.recvFrom(buf), null);
    p1.send(Buffer.from('x'));
    assert.is(p2.recv(buf), 1);
    d1.connect(t.path('d2'));
    assert.is(d1.send(Buffer.from('c')), 1);
    assert.is(d2.recv(buf), 1);
    assert.is(d1.peerAddr().asPathname(), t.path('d2'));
  } finally {
    for (const s of [d1, d2, u, p1, p2]) s.close();
    t.remove();
  }
});

test('errors: connect to nothing is ENOENT naming the path; bind twice EADDRINUSE; bad paths', () => {
  const t = tempDir();
  try {
    const e = assertCode(() => UnixStream.connect(t.path('missing')), 'ENOENT', 'connect');
    assert.match(e.message, /missing/);
    const l = UnixListener.bind(t.path('x'));
    assertCode(() => UnixListener.bind(t.path('x')), 'EADDRINUSE', 'bind');
    l.close();
    l.close();
    assertCode(() => l.accept(), 'EBADF');
    assert.throws(
      () => UnixSocketAddress.fromPathname('a'.repeat(200)),
      (err: Error) => err instanceof RangeError,
    );
    assert.throws(
      () => UnixSocketAddress.fromPathname('a\0b'),
      (err: Error) => err instanceof TypeError,
    );
    assert.throws(
      () => UnixStream.connect(5 as never),
      (err: Error) => err instanceof TypeError,
    );
  } finally {
    t.remove();
  }
});

test('1000 pair open/close cycles leak no fd', async () => {
  const before = openFds();
  if (!before) {
    console.log('  SKIP fd leak check: no /proc/self/fd here');
    return;
  }
  for (let i = 0; i < 1000; i++) {
    const [a, b] = UnixStream.pair();
    a.close();
    b.close();
  }
  assert.ok((await leakedSince(before)).length <= 1);
});

test('metal-io/net has the Unix types too (mio keeps them in net)', async () => {
  const net = await import('../src/net.js');
  const unix = await import('../src/unix.js');
  assert.is(net.UnixStream, unix.UnixStream);
  assert.is(net.UnixListener, unix.UnixListener);
  assert.is(net.UnixDatagram, unix.UnixDatagram);
  assert.is(net.UnixSocketAddress, unix.UnixSocketAddress);
});

test.run();
