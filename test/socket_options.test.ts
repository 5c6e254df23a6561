// Socket options, set and read back: buffer sizes, linger, keepalive (and its tuning), reusePort,
// backlog and onlyV6 at bind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { constants as C } from '../src/sys/index.js';
import { assertCode, onWine } from './_util/events.js';
import { haveIPv6Loopback, tcpPair } from './_util/net.js';

test('receive and send buffer sizes: set, then read back at least as much', () => {
  const u = UdpSocket.bind('127.0.0.1:0');
  try {
    u.setRecvBufferSize(96 * 1024);
    u.setSendBufferSize(80 * 1024);
    assert.ok(u.recvBufferSize() >= 96 * 1024, `SO_RCVBUF ${u.recvBufferSize()}`); // Linux doubles it
    assert.ok(u.sendBufferSize() >= 80 * 1024, `SO_SNDBUF ${u.sendBufferSize()}`);
    assert.throws(
      () => u.setRecvBufferSize(0),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => u.setSendBufferSize(-5),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
  } finally {
    u.close();
  }
});

test('linger: off by default, set in whole seconds, off again', () => {
  const p = tcpPair();
  try {
    assert.is(p.client.linger(), null);
    p.client.setLinger(2000);
    assert.is(p.client.linger(), 2000);
    p.client.setLinger(1500);
    assert.is(p.client.linger(), 2000, 'rounded up to whole seconds');
    p.client.setLinger(0);
    assert.is(p.client.linger(), 0);
    p.client.setLinger(null);
    assert.is(p.client.linger(), null);
    assert.throws(
      () => p.client.setLinger(-1),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
  } finally {
    p.close();
  }
});

test('keepalive: on and off; time, interval and retries read back', () => {
  const p = tcpPair();
  try {
    assert.is(p.client.keepalive(), false);
    p.client.setKeepalive(true);
    assert.is(p.client.keepalive(), true);
    p.client.setKeepalive(false);
    assert.is(p.client.keepalive(), false);
    if (C.TCP_KEEPINTVL === undefined) {
      assert.throws(
        () => p.client.setTcpKeepalive({ interval: 1000 }),
        (e: { code?: string }) => e.code === 'ERR_METAL_IO_UNSUPPORTED',
      );
      console.log(`  SKIP keepalive tuning: no TCP_KEEPIDLE/INTVL/CNT on ${process.platform}-${process.arch}`);
      return;
    }
    p.client.setTcpKeepalive({ time: 30_000, interval: 5_000, retries: 4 });
    assert.is(p.client.keepalive(), true);
    assert.is(p.client.keepaliveTime(), 30_000);
    assert.is(p.client.keepaliveInterval(), 5_000);
    assert.is(p.client.keepaliveRetries(), 4);
    p.client.setTcpKeepalive({ time: 1 });
    assert.is(p.client.keepaliveTime(), 1000, 'rounded up to a second');
    assert.throws(
      () => p.client.setTcpKeepalive({ retries: 0 }),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => p.client.setTcpKeepalive(null as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
  } finally {
    p.close();
  }
});

test('reusePort: two listeners and two UDP sockets on one port; without it EADDRINUSE', () => {
  if (C.SO_REUSEPORT === undefined) {
    assert.throws(
      () => TcpListener.bind('127.0.0.1:0', { reusePort: true }),
      (e: { code?: string }) => e.code === 'ERR_METAL_IO_UNSUPPORTED',
    );
    console.log(`  SKIP reusePort: no SO_REUSEPORT on ${process.platform}-${process.arch}`);
    return;
  }
  const a = TcpListener.bind('127.0.0.1:0', { reusePort: true });
  const port = a.localAddr().port;
  const b = TcpListener.bind(`127.0.0.1:${port}`, { reusePort: true });
  const u1 = UdpSocket.bind('127.0.0.1:0', { reusePort: true });
  const u2 = UdpSocket.bind(`127.0.0.1:${u1.localAddr().port}`, { reusePort: true });
  try {
    assert.is(b.localAddr().port, port);
    assert.is(u2.localAddr().port, u1.localAddr().port);
    assertCode(() => TcpListener.bind(`127.0.0.1:${port}`), 'EADDRINUSE', 'bind');
    assert.throws(
      () => TcpListener.bind('127.0.0.1:0', { reusePort: 'yes' } as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
  } finally {
    a.close();
    b.close();
    u1.close();
    u2.close();
  }
});

test('backlog and onlyV6 at bind', () => {
  const l = TcpListener.bind('127.0.0.1:0', { backlog: 8 });
  l.close();
  assert.throws(
    () => TcpListener.bind('127.0.0.1:0', { backlog: -1 }),
    (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
  );
  if (!haveIPv6Loopback()) {
    console.log('  SKIP onlyV6: ::1 is not configured here');
    return;
  }
  // The wildcard address: Linux makes any socket bound to a specific IPv6 address IPv6-only anyway.
  for (const v of [true, false]) {
    const u = UdpSocket.bind('[::]:0', { onlyV6: v });
    try {
      if (onWine && !v) {
        console.log('  SKIP onlyV6 false read-back under Wine');
        continue;
      }
      assert.is(u.onlyV6(), v);
    } finally {
      u.close();
    }
  }
});

test('tryClone: a second object on the same socket, each registered and closed on its own', () => {
  const listener = TcpListener.bind('127.0.0.1:0');
  if (process.platform === 'win32') {
    try {
      assert.throws(
        () => listener.tryClone(),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_METAL_IO_UNSUPPORTED',
      );
    } finally {
      listener.close();
    }
    return;
  }
  const clone = listener.tryClone();
  const p1 = new Poll();
  const p2 = new Poll();
  const events = new Events(4);
  try {
    assert.ok(clone instanceof TcpListener);
    assert.is.not(clone.fd, listener.fd);
    assert.equal(clone.localAddr(), listener.localAddr());
    // One accept queue, two Polls: a connection is seen by both, taken by one.
    p1.registry().register(listener, 1, Interest.READABLE);
    p2.registry().register(clone, 2, Interest.READABLE);
    const c = TcpStream.connect(`127.0.0.1:${listener.localAddr().port}`);
    p2.poll(events, 2000);
    assert.equal(
      [...events].map((e) => e.token),
      [2],
    );
    const got = clone.accept();
    assert.ok(got, 'the clone accepts');
    assert.is(listener.accept(), null, 'taken: the queue is shared');
    // Closing the original leaves the clone listening.
    listener.close();
    const c2 = TcpStream.connect(`127.0.0.1:${clone.localAddr().port}`);
    p2.poll(events, 2000);
    const got2 = clone.accept();
    assert.ok(got2, 'still listening after the original closed');
    // A stream clone writes into the same connection.
    const [server] = got!;
    const w = server.tryClone();
    assert.is(w.write(Buffer.from('via the clone')), 13);
    const buf = Buffer.alloc(64);
    let n: number | null = null;
    for (let i = 0; i < 200 && n === null; i++) {
      n = c.read(buf);
      if (n === null) p1.poll(events, 10);
    }
    assert.is(buf.toString('utf8', 0, n!), 'via the clone');
    for (const x of [w, server, got2![0], c, c2]) x.close();
    assertCode(() => listener.tryClone(), 'EBADF');
  } finally {
    clone.close();
    listener.close();
    p1.close();
    p2.close();
  }
});

test.run();
