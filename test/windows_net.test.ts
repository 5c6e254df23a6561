// Windows only (under Wine by test/platform/wine.sh): metal-io/net on Winsock and the IOCP/AFD
// backend: the same TcpListener, TcpStream and UdpSocket as on Unix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { platform } from '../src/sys/index.js';
import { assertCode, expectEvents, expectNoEvents, handleCount, onWine } from './_util/events.js';

const windows = platform.os === 'win32';
const skip = (what: string) => {
  console.log(`  SKIP ${what}: Windows-only (test/platform/wine.sh runs it under Wine), this is ${platform.name}`);
};

function readSome(s: TcpStream, n: number, poll: Poll, events: Events, token: number): string {
  const out = Buffer.alloc(n);
  let got = 0;
  const deadline = Date.now() + 3000;
  while (got < n && Date.now() < deadline) {
    const r = s.read(out.subarray(got));
    if (r === null) {
      expectEvents(poll, events, [{ token, readable: true }], 2000);
      continue;
    }
    if (r === 0) break;
    got += r;
  }
  return out.subarray(0, got).toString();
}

test('TCP: accept readiness, connect, echo both ways with events, shutdown, deregister', () => {
  if (!windows) return skip('Winsock TCP');
  const poll = new Poll();
  const events = new Events(8);
  const reg = poll.registry();
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    assert.is(l.localAddr().address, '127.0.0.1');
    assert.is(l.accept(), null);
    reg.register(l, 1, Interest.READABLE);
    const c = TcpStream.connect(l.localAddr());
    reg.register(c, 2, Interest.READABLE | Interest.WRITABLE);
    expectEvents(poll, events, [
      { token: 1, readable: true },
      { token: 2, writable: true },
    ]);
    const [s, peer] = l.accept()!;
    assert.is(peer.port, c.localAddr().port);
    assert.equal(c.peerAddr(), l.localAddr());
    reg.register(s, 3, Interest.READABLE);
    assert.is(c.write(Buffer.from('hello windows')), 13);
    assert.is(readSome(s, 13, poll, events, 3), 'hello windows');
    assert.is(s.write(Buffer.from('back')), 4);
    assert.is(readSome(c, 4, poll, events, 2), 'back');
    c.setNodelay(true);
    assert.is(c.nodelay(), true);
    assert.is(c.writev([Buffer.from('ve'), Buffer.from('ctor')]), 6);
    assert.is(readSome(s, 6, poll, events, 3), 'vector');
    c.shutdown('write');
    expectEvents(poll, events, [{ token: 3, readClosed: true }]);
    assert.is(s.read(Buffer.alloc(4)), 0);
    reg.deregister(s);
    s.close();
    c.close();
    assertCode(() => c.write(Buffer.from('x')), 'EBADF');
  } finally {
    poll.close();
    l.close();
  }
});

test('TCP: connection refused reaches takeError as ECONNREFUSED', () => {
  if (!windows) return skip('Winsock connect refusal');
  const l = TcpListener.bind('127.0.0.1:0');
  const port = l.localAddr().port;
  l.close();
  const poll = new Poll();
  const events = new Events(4);
  const c = TcpStream.connect(`127.0.0.1:${port}`);
  try {
    poll.registry().register(c, 5, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 5, error: true }], 5000);
    const err = c.takeError();
    assert.is(err?.code, 'ECONNREFUSED');
    assert.is(err?.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
  } finally {
    poll.close();
    c.close();
  }
});

test('UDP: sendTo and recvFrom with readiness', () => {
  if (!windows) return skip('Winsock UDP');
  const poll = new Poll();
  const events = new Events(4);
  const a = UdpSocket.bind('127.0.0.1:0');
  const b = UdpSocket.bind('127.0.0.1:0');
  try {
    poll.registry().register(b, 1, Interest.READABLE);
    assert.is(b.recvFrom(Buffer.alloc(4)), null);
    assert.is(a.sendTo(Buffer.from('dgram'), b.localAddr()), 5);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    const buf = Buffer.alloc(16);
    const [n, from] = b.recvFrom(buf)!;
    assert.is(n, 5);
    assert.equal(from, a.localAddr());
    expectNoEvents(poll, events);
  } finally {
    poll.close();
    a.close();
    b.close();
  }
});

test('1000 open/register/close cycles leak no handle (GetProcessHandleCount)', () => {
  if (!windows) return skip('Winsock handle leak check');
  const poll = new Poll();
  const events = new Events(8);
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    for (let i = 0; i < 20; i++) {
      const s = UdpSocket.bind('127.0.0.1:0');
      poll.registry().register(s, i, Interest.READABLE);
      s.close();
    }
    poll.poll(events, 10); // warm: the AFD handle and Winsock's own handles exist from here on
    const before = handleCount();
    const probe = UdpSocket.bind('127.0.0.1:0');
    const withOne = handleCount();
    probe.close();
    if (withOne === before) {
      console.log(
        `  SKIP Winsock handle leak check: GetProcessHandleCount does not count sockets here (${before} with and without one)${onWine ? ' [win32-x64 under Wine]' : ''}`,
      );
      return;
    }
    for (let i = 0; i < 1000; i++) {
      const s = UdpSocket.bind('127.0.0.1:0');
      poll.registry().register(s, i, Interest.READABLE);
      s.close();
      if (i % 100 === 0) poll.poll(events, 0); // collect the cancelled polls as an application would
    }
    poll.poll(events, 10);
    const after = handleCount();
    assert.ok(after - before <= 5, `handles before ${before}, after ${after}`);
  } finally {
    l.close();
    poll.close();
  }
});

test.run();
