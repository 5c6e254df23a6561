import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream } from '../src/net.js';
import { constants as C, structs } from '../src/sys/index.js';
import { assertCode, expectEvents, expectNoEvents, isCloexec, onLibkqueue, onWine, setsockopt } from './_util/events.js';
import { haveIPv6Loopback, readExactly, tcpPair } from './_util/net.js';

test('connect, write, read, peek; addresses on both sides', () => {
  const p = tcpPair();
  try {
    assert.is(p.client.peerAddr().port, p.listener.localAddr().port);
    assert.equal(p.server.peerAddr(), p.client.localAddr());
    assert.is(p.client.write(Buffer.from('hello world')), 11);
    const peekBuf = Buffer.alloc(5);
    const deadline = Date.now() + 1000;
    let n: number | null = null;
    while ((n = p.server.peek(peekBuf)) === null && Date.now() < deadline) {
      /* wait for the bytes */
    }
    assert.is(n, 5);
    assert.is(peekBuf.toString(), 'hello');
    assert.is(readExactly(p.server, 11).toString(), 'hello world', 'peek left the bytes queued');
    assert.ok(isCloexec(p.client.fd) && isCloexec(p.server.fd));
  } finally {
    p.close();
  }
});

test('would-block is null; readiness comes back after would-block', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    assert.is(p.server.read(Buffer.alloc(16)), null);
    expectNoEvents(poll, events);
    p.client.write(Buffer.from('abc'));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    assert.is(readExactly(p.server, 3).toString(), 'abc');
    assert.is(p.server.read(Buffer.alloc(16)), null);
    p.client.write(Buffer.from('d'));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
  } finally {
    poll.close();
    p.close();
  }
});

test('writes fill the send buffer to null, then writable comes back after the peer reads', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.client, 2, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 2, writable: true }]);
    const chunk = Buffer.alloc(256 * 1024, 7);
    let total = 0;
    let n: number | null;
    while ((n = p.client.write(chunk)) !== null) total += n;
    assert.ok(total > 0);
    const sink = Buffer.alloc(256 * 1024);
    let read = 0;
    const deadline = Date.now() + 5000;
    while (read < total && Date.now() < deadline) {
      const r = p.server.read(sink);
      if (r) read += r;
    }
    assert.is(read, total);
    expectEvents(poll, events, [{ token: 2, writable: true }]);
  } finally {
    poll.close();
    p.close();
  }
});

test('readv and writev', () => {
  const p = tcpPair();
  try {
    assert.is(p.client.writev([Buffer.from('ab'), Buffer.from('cde'), new Uint8Array([0x66])]), 6);
    const a = Buffer.alloc(2);
    const b = Buffer.alloc(10);
    const deadline = Date.now() + 1000;
    let n: number | null = null;
    while ((n = p.server.readv([a, b])) === null && Date.now() < deadline) {
      /* wait */
    }
    assert.is(n, 6);
    assert.is(a.toString() + b.subarray(0, 4).toString(), 'abcdef');
    assert.throws(
      () => p.client.writev('x' as never),
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    p.close();
  }
});

test('shutdown(write): the peer reads 0 and sees read-closed', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    p.client.shutdown('write');
    expectEvents(poll, events, [{ token: 1, readable: true, readClosed: true }]);
    assert.is(p.server.read(Buffer.alloc(4)), 0);
    assert.throws(
      () => p.client.shutdown('sideways' as never),
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    poll.close();
    p.close();
  }
});

test('shutdown(read) of our own side: read-closed where the OS reports it (Linux: POLLRDHUP/EPOLLRDHUP)', () => {
  if (process.platform !== 'linux' || onLibkqueue) {
    console.log(
      `  SKIP shutdown(read) read-closed: only Linux reports it for one's own SHUT_RD [${process.platform}-${process.arch}${onLibkqueue ? ', libkqueue' : ''}]`,
    );
    return;
  }
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    p.server.shutdown('read');
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
    assert.is(p.server.read(Buffer.alloc(4)), 0, 'reads end');
  } finally {
    poll.close();
    p.close();
  }
});

test('shutdown(read) after a readable event left undrained: still read-closed (mio tcp_shutdown_client_read_close_event; poll(2) keeps POLLRDHUP armed)', () => {
  if (process.platform !== 'linux' || onLibkqueue) {
    console.log(
      `  SKIP shutdown(read) after undrained data: only Linux reports it for one's own SHUT_RD [${process.platform}-${process.arch}${onLibkqueue ? ', libkqueue' : ''}]`,
    );
    return;
  }
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE | Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 1, writable: true }]);
    p.client.write(Buffer.from('not read yet'));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    p.server.shutdown('read');
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
  } finally {
    poll.close();
    p.close();
  }
});

test('close by the peer: read-closed, then 0', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE | Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 1, writable: true }]);
    p.client.close();
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
    assert.is(p.server.read(Buffer.alloc(4)), 0);
  } finally {
    poll.close();
    p.close();
  }
});

test('reset by the peer: a read-closed event, then read throws ECONNRESET', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    const l = structs.linger!;
    const lin = Buffer.alloc(l.size);
    lin.writeIntLE(1, l.fields.l_onoff!.offset, l.fields.l_onoff!.size);
    assert.is(setsockopt(p.client.fd, C.SOL_SOCKET!, C.SO_LINGER!, lin, l.size), 0);
    p.client.close(); // linger 0: RST
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
    if (onLibkqueue) {
      console.log(
        '  SKIP ECONNRESET on read: libkqueue consumes the socket error to fill the event (real kqueue does not) [linux-libkqueue-x64]',
      );
      return;
    }
    if (onWine) {
      console.log("  SKIP ECONNRESET on read: Wine's AFD emulation consumes the socket error (Windows does not) [win32-x64 under Wine]");
      return;
    }
    assertCode(() => p.server.read(Buffer.alloc(4)), 'ECONNRESET', 'read');
  } finally {
    poll.close();
    p.close();
  }
});

test('connection refused: a writable event, then takeError gives ECONNREFUSED naming the target', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  const port = l.localAddr().port;
  l.close(); // nothing listens there now
  const s = TcpStream.connect(`127.0.0.1:${port}`);
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(s, 3, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 3, writable: true }]);
    if (onLibkqueue) {
      assert.ok(events.get(0)!.isError(), 'the event carries the error');
      console.log(
        '  SKIP takeError after a refused connect: libkqueue reads SO_ERROR (clearing it) to fill the event [linux-libkqueue-x64]',
      );
      return;
    }
    const err = s.takeError()!;
    assert.is(err.code, 'ECONNREFUSED');
    assert.is(err.syscall, 'connect');
    assert.is(err.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
    assert.is(err.address, '127.0.0.1');
    assert.is(err.port, port);
    if (onWine) console.log('  SKIP takeError clearing the error: Wine keeps SO_ERROR set [win32-x64 under Wine]');
    else assert.is(s.takeError(), null, 'taking it clears it');
    assertCode(() => s.peerAddr(), 'ENOTCONN', 'getpeername');
  } finally {
    poll.close();
    s.close();
  }
});

test('deregister: no more events; closed stream is EBADF on use', () => {
  const p = tcpPair();
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    poll.registry().deregister(p.server);
    p.client.write(Buffer.from('x'));
    expectNoEvents(poll, events);
    p.server.close();
    p.server.close();
    for (const f of [
      () => p.server.read(Buffer.alloc(1)),
      () => p.server.write(Buffer.alloc(1)),
      () => p.server.peerAddr(),
      () => p.server.takeError(),
      () => p.server.setNodelay(true),
    ])
      assertCode(f, 'EBADF');
  } finally {
    poll.close();
    p.close();
  }
});

test('options: nodelay, ttl; tryIo re-arms on would-block', () => {
  const p = tcpPair();
  try {
    p.client.setNodelay(true);
    assert.is(p.client.nodelay(), true);
    p.client.setNodelay(false);
    assert.is(p.client.nodelay(), false);
    p.client.setTtl(12);
    assert.is(p.client.ttl(), 12);
    assert.is(
      p.server.tryIo(() => p.server.read(Buffer.alloc(4))),
      null,
    );
    assert.is(
      p.client.tryIo(() => 5),
      5,
    );
  } finally {
    p.close();
  }
});

test('bad input: TypeErrors, nothing sent', () => {
  const p = tcpPair();
  try {
    for (const bad of ['x', 5, null, [1, 2], {}]) {
      assert.throws(
        () => p.client.write(bad as never),
        (e: Error) => e instanceof TypeError,
      );
      assert.throws(
        () => p.client.read(bad as never),
        (e: Error) => e instanceof TypeError,
      );
    }
    assert.is(p.client.write(new Uint8Array(0)), 0);
    assert.throws(
      () => TcpStream.connect('nope'),
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    p.close();
  }
});

/** A 16-byte view into a larger arena whose bytes after the view are a canary. */
function guarded(size = 16): { view: Uint8Array; intact(): boolean } {
  const arena = new Uint8Array(size + 4096).fill(0xa5);
  const view = arena.subarray(0, size);
  return { view, intact: () => arena.subarray(size).every((b) => b === 0xa5) };
}

test('a lying length (own property, subclass getter) cannot overflow a read or disclose memory on a write', () => {
  const p = tcpPair();
  try {
    // Read: the peer has 4 KiB queued; the buffer is 16 bytes that claim to be 16 MiB.
    p.client.write(Buffer.alloc(4096, 7));
    const g = guarded();
    Object.defineProperty(g.view, 'length', { value: 16 << 20 });
    Object.defineProperty(g.view, 'byteLength', { value: 16 << 20 });
    let n: number | null = null;
    const deadline = Date.now() + 2000;
    while ((n = p.server.read(g.view)) === null && Date.now() < deadline) {
      /* wait for the bytes */
    }
    assert.is(n, 16, 'read at most the 16 bytes the buffer really has');
    assert.ok(g.intact(), 'nothing written past the buffer');
    class Liar extends Uint8Array {
      override get length() {
        return 1 << 20;
      }
      override get byteLength() {
        return 1 << 20;
      }
    }
    assert.is(p.server.read(new Liar(8)), 8);
    // Write: 16 real bytes that claim to be 256 KiB: 16 bytes leave, nothing of the heap.
    const w = new Uint8Array(16).fill(1);
    Object.defineProperty(w, 'length', { value: 256 * 1024 });
    assert.is(p.client.write(w), 16);
    assert.is(p.client.write(new Liar(4)), 4);
    readExactly(p.server, 4096 - 24);
    const got = readExactly(p.server, 20, 500);
    assert.is(got.length, 20, 'exactly 16 + 4 bytes arrived');
    assert.is(p.server.read(Buffer.alloc(64)), null, 'and no more');
  } finally {
    p.close();
  }
});

test('offset and length: integers in range, checked the same way on read and write', () => {
  const p = tcpPair();
  try {
    const buf = Buffer.alloc(8);
    for (const [off, len] of [
      [0, 1.5],
      [1, 1.5],
      [0.5, 1],
      [-1, 1],
      [0, 9],
      [9, 0],
      [4, 5],
      [NaN, 1],
      [0, Infinity],
      [2 ** 53, 1],
    ] as const) {
      for (const op of ['read', 'write'] as const) {
        assert.throws(
          () => p.client[op](buf, off, len),
          (e: { code?: string }) => e instanceof RangeError && e.code === 'ERR_OUT_OF_RANGE',
          `${op}(buf, ${off}, ${len})`,
        );
      }
    }
    for (const op of ['read', 'write'] as const) {
      assert.throws(
        () => p.client[op](buf, '1' as never, 1),
        (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE',
      );
      assert.throws(
        () => p.client[op](buf, null as never),
        (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE',
      );
    }
    assert.is(p.client.write(Buffer.from('abcdefgh'), 2, 3), 3);
    const into = Buffer.alloc(8, 0x2e);
    assert.is(readExactly({ read: (b) => p.server.read(into, 4, Math.min(3, b.length)) }, 3).length, 3);
    assert.is(into.toString(), '....cde.', 'read wrote at offset 4, 3 bytes');
  } finally {
    p.close();
  }
});

test('detached and empty buffers: TypeError where bytes are needed; DataView and other typed arrays count bytes', () => {
  const p = tcpPair();
  try {
    const ab = new ArrayBuffer(16);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    for (const op of ['read', 'write', 'peek'] as const)
      assert.throws(
        () => p.client[op](view),
        (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
        `${op} of a detached buffer`,
      );
    assert.throws(
      () => p.server.read(Buffer.alloc(0)),
      (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
      'no room to read',
    );
    assert.is(p.client.write(Buffer.alloc(0)), 0, 'writing nothing is fine');
    assert.is(p.client.write(new Uint32Array([0x64636261])), 4);
    assert.is(p.client.write(new DataView(new TextEncoder().encode('xyz').buffer)), 3);
    assert.is(readExactly(p.server, 7).toString(), 'abcdxyz');
    const shared = new Uint8Array(new SharedArrayBuffer(3));
    p.client.write(Buffer.from('sab'));
    assert.is(readExactly({ read: () => p.server.read(shared) }, 3).length, 3);
    assert.is(Buffer.from(shared).toString(), 'sab');
  } finally {
    p.close();
  }
});

test('IPv6 loopback round trip', () => {
  if (!haveIPv6Loopback()) {
    console.log('  SKIP IPv6 stream: ::1 is not configured here');
    return;
  }
  const p = tcpPair('::1');
  try {
    assert.is(p.client.peerAddr().address, '::1');
    p.client.write(Buffer.from('six'));
    assert.is(readExactly(p.server, 3).toString(), 'six');
  } finally {
    p.close();
  }
});

test.run();
