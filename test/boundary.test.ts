// Regression tests for the boundary findings of issue 18 (linux-x64 epoll and poll(2); the
// Unix-only parts skip under Wine): fields callers write are checked at use, library-owned memory
// cannot be transferred away, encoders call no patchable builtin, Waker handles are capabilities,
// address parts are never coerced, and validation comes before any state is given up.

import { MessageChannel, receiveMessageOnPort } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Waker } from '../src/index.js';
import { DatagramBatch, PeerAddress, TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import sys from '../src/sys/index.js';
import { pipe } from '../src/unix.js';
import { leakedSince, openFds } from './_util/events.js';
import { readExactly, tcpPair } from './_util/net.js';

const unix = process.platform !== 'win32';

/** Everything the receiver has queued, as datagrams (waits up to `ms` for the first). */
function drain(rx: UdpSocket, ms = 200): Buffer[] {
  const out: Buffer[] = [];
  const buf = Buffer.alloc(65536);
  const deadline = Date.now() + ms;
  for (;;) {
    const r = rx.recvFrom(buf);
    if (r) {
      out.push(Buffer.from(buf.subarray(0, r[0])));
      continue;
    }
    if (out.length > 0 || Date.now() >= deadline) return out;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
  }
}

function udpPair(): { tx: UdpSocket; rx: UdpSocket; close(): void } {
  const rx = UdpSocket.bind('127.0.0.1:0');
  const tx = UdpSocket.bind('127.0.0.1:0');
  tx.connect(`127.0.0.1:${rx.localAddr().port}`);
  return {
    tx,
    rx,
    close() {
      tx.close();
      rx.close();
    },
  };
}

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

test('sendMany refuses a batch.length outside 0..capacity (RangeError ERR_OUT_OF_RANGE) and sends nothing', () => {
  const { tx, rx, close } = udpPair();
  try {
    const batch = new DatagramBatch(4, 64);
    for (let i = 0; i < 4; i++) {
      batch.slot(i).fill(0x41 + i);
      batch.setLength(i, 8);
    }
    for (const bad of [-1, 5, 1.5, 2 ** 32 + 1, NaN]) {
      batch.length = bad;
      assert.throws(
        () => tx.sendMany(batch),
        (e: unknown) => e instanceof RangeError && code('ERR_OUT_OF_RANGE')(e),
        `length ${bad}`,
      );
    }
    batch.length = '2' as never;
    assert.throws(
      () => tx.sendMany(batch),
      (e: unknown) => e instanceof TypeError && code('ERR_INVALID_ARG_TYPE')(e),
    );
    assert.equal(drain(rx, 50).length, 0, 'no datagram reached the peer');
    batch.length = 2;
    assert.is(tx.sendMany(batch), 2);
    const got = drain(rx);
    assert.equal(
      got.map((b) => b.toString()),
      ['AAAAAAAA', 'BBBBBBBB'],
    );
  } finally {
    close();
  }
});

test("a DatagramBatch's memory cannot be transferred away: structuredClone/postMessage refuse it and the batch still sends its own bytes", () => {
  const { tx, rx, close } = udpPair();
  try {
    const batch = new DatagramBatch(2, 32);
    for (const ab of [batch.buffer.buffer, batch.addrs.buffer]) {
      assert.throws(() => structuredClone(ab, { transfer: [ab as ArrayBuffer] }));
      const { port1, port2 } = new MessageChannel();
      try {
        assert.throws(() => port1.postMessage(null, [ab as ArrayBuffer]));
      } finally {
        port1.close();
        port2.close();
      }
    }
    (globalThis as { gc?: () => void }).gc?.();
    batch.slot(0).fill(0x5a);
    batch.setLength(0, 32);
    batch.length = 1;
    assert.is(tx.sendMany(batch), 1);
    const got = drain(rx);
    assert.equal(got.length, 1);
    assert.ok(got[0]!.equals(Buffer.alloc(32, 0x5a)), "the peer got the batch's bytes, nothing else");
    tx.send(Buffer.from('back'));
    const r = UdpSocket.bind('127.0.0.1:0');
    r.close();
  } finally {
    close();
  }
});

/** Runs `fn` with the Buffer, %TypedArray%, DataView and BigInt methods an encoder might call replaced by ones that throw. */
function withPatchedBuiltins(fn: () => void): string[] {
  const called: string[] = [];
  const TA = Object.getPrototypeOf(Uint8Array.prototype) as Record<string, unknown>;
  const targets: [Record<string, unknown>, string][] = [
    ...['writeBigUInt64LE', 'writeUInt32LE', 'writeUInt16LE', 'writeInt32LE', 'writeUInt8', 'fill', 'copy'].map(
      (k) => [Buffer.prototype as unknown as Record<string, unknown>, k] as [Record<string, unknown>, string],
    ),
    ...['fill', 'set', 'subarray'].map((k) => [TA, k] as [Record<string, unknown>, string]),
    ...['setUint32', 'setBigUint64'].map(
      (k) => [DataView.prototype as unknown as Record<string, unknown>, k] as [Record<string, unknown>, string],
    ),
    [Array.prototype as unknown as Record<string, unknown>, Symbol.iterator as unknown as string],
  ];
  const saved = targets.map(([o, k]) => Object.getOwnPropertyDescriptor(o, k)!);
  targets.forEach(([o, k], i) => {
    const orig = saved[i]!.value as (...a: unknown[]) => unknown;
    Object.defineProperty(o, k, {
      ...saved[i],
      value: function (this: unknown, ...a: unknown[]) {
        called.push(String(k));
        return orig.apply(this, a);
      },
    });
  });
  // (No destructuring here: that would itself call the patched Array iterator.)
  try {
    fn();
  } finally {
    for (let i = 0; i < targets.length; i++) Object.defineProperty(targets[i]![0], targets[i]![1], saved[i]!);
  }
  return called;
}

test('writev/readv build their iovecs without calling any Buffer, %TypedArray%, DataView or Array iterator method a caller can patch', () => {
  const p = tcpPair();
  try {
    const a = Buffer.from('hello ');
    const b = new Uint8Array(Buffer.from('world'));
    const out = Buffer.alloc(16, 0xee);
    const out2 = Buffer.alloc(16, 0xee);
    let wrote: number | null = null;
    let read: number | null = null;
    // Warm up once: the first call binds the functions (lazily, through koffi), which is not the boundary.
    p.client.writev([Buffer.alloc(0)]);
    const calls = withPatchedBuiltins(() => {
      wrote = p.client.writev([a, b]);
    });
    assert.is(wrote, 11);
    assert.equal(calls, [], `writev called ${calls.join(', ')}`);
    const deadline = Date.now() + 2000;
    const calls2 = withPatchedBuiltins(() => {
      while ((read = p.server.readv([out, out2])) === null && Date.now() < deadline)
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
    });
    assert.is(read, 11);
    assert.equal(calls2, [], `readv called ${calls2.join(', ')}`); // Winsock's copy path too (copyView)
    assert.is(out.subarray(0, 11).toString(), 'hello world');
    assert.is(out[11], 0xee, 'nothing past what was read');
  } finally {
    p.close();
  }
});

test('sendSegments encodes its msghdr and control message without calling a patchable builtin (Linux GSO)', () => {
  const { tx, rx, close } = udpPair();
  try {
    const data = Buffer.alloc(30, 0x33);
    let n: number | null = null;
    tx.sendSegments(Buffer.alloc(2), 1); // warm-up: binding and layouts, made once
    drain(rx);
    const calls = withPatchedBuiltins(() => {
      n = tx.sendSegments(data, 10);
    });
    assert.is(n, 30);
    const got = drain(rx);
    assert.equal(
      got.map((g) => g.length),
      [10, 10, 10],
    );
    if (sys.platform.os === 'linux') assert.equal(calls, [], `sendSegments called ${calls.join(', ')}`);
  } finally {
    close();
  }
});

test('waker.handle is frozen: its fd and guard cannot be edited, and an edited posted copy is refused before any write', () => {
  if (!unix) return; // (the other fd here is a pipe)
  const poll = new Poll();
  const [tx, rx] = pipe();
  try {
    const waker = new Waker(poll.registry(), 7);
    const h = waker.handle;
    assert.ok(Object.isFrozen(h));
    assert.throws(() => {
      (h as { fd: number }).fd = tx.fd;
    });
    assert.is(h.fd, waker.handle.fd);
    // A posted copy is a plain object again: editing its fd must not reach the pipe.
    const posted = structuredClone(h) as { fd: number };
    posted.fd = tx.fd;
    assert.throws(
      () => Waker.fromHandle(posted as never),
      (e: unknown) => e instanceof TypeError && code('ERR_INVALID_ARG_VALUE')(e),
    );
    // Another waker's guard with this waker's fd: refused too.
    const other = new Waker(new Poll().registry(), 1);
    const mixed = { ...structuredClone(other.handle), fd: h.fd } as never;
    other.close();
    assert.throws(() => Waker.fromHandle(mixed), code('ERR_INVALID_ARG_VALUE'));
    assert.is(rx.read(Buffer.alloc(16)), null, 'nothing was written into the pipe');
    // The genuine copy still wakes.
    Waker.fromHandle(structuredClone(h)).wake();
    const events = new Events(4);
    poll.poll(events, 1000);
    assert.equal(
      [...events].map((e) => e.token),
      [7],
    );
    waker.close();
  } finally {
    tx.close();
    rx.close();
    poll.close();
  }
});

test('scopeId/flowinfo are never coerced: valueOf is not called, Symbol/BigInt/out-of-range throw coded errors, and connect leaks no fd', async () => {
  const l = TcpListener.bind('[::1]:0');
  const before = openFds();
  let calledValueOf = 0;
  try {
    const hostile = {
      valueOf() {
        calledValueOf++;
        return 0;
      },
    };
    for (const v of [hostile, Symbol('s'), 1n, '0']) {
      assert.throws(
        () => TcpStream.connect({ address: '::1', port: l.localAddr().port, scopeId: v as never }),
        (e: unknown) => e instanceof TypeError && code('ERR_INVALID_ARG_TYPE')(e),
      );
      assert.throws(
        () => TcpStream.connect({ address: '::1', port: l.localAddr().port, flowinfo: v as never }),
        (e: unknown) => e instanceof TypeError && code('ERR_INVALID_ARG_TYPE')(e),
      );
    }
    for (const v of [2 ** 32, -1, 1.5]) {
      assert.throws(
        () => TcpStream.connect({ address: '::1', port: l.localAddr().port, scopeId: v }),
        (e: unknown) => e instanceof RangeError && code('ERR_OUT_OF_RANGE')(e),
      );
    }
    assert.throws(
      () => TcpStream.connect(`[::1%${2 ** 32}]:${l.localAddr().port}`),
      (e: unknown) => e instanceof RangeError && code('ERR_OUT_OF_RANGE')(e),
    );
    assert.is(calledValueOf, 0);
    if (before) assert.equal(await leakedSince(before), [], 'no fd left open');
  } finally {
    l.close();
  }
});

test('a getter on the address object is read once: it cannot hand a string to the check and something else to the encoder', () => {
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    let reads = 0;
    const addr = {
      get address() {
        reads++;
        return reads === 1 ? '127.0.0.1' : (42 as never as string);
      },
      port: l.localAddr().port,
    };
    const s = TcpStream.connect(addr);
    s.close();
    assert.is(reads, 1);
  } finally {
    l.close();
  }
});

test("IPv6 parsing is Node's: a dotted IPv4 only ends an address ([1.2.3.4::] is refused as net.isIPv6 refuses it)", async () => {
  const { isIPv6 } = await import('node:net');
  for (const h of ['1.2.3.4::', '1.2.3.4::1', '::1.2.3.4:1']) {
    assert.is(isIPv6(h), false);
    assert.throws(() => UdpSocket.bind(`[${h}]:0`), code('ERR_INVALID_ARG_VALUE'), h);
  }
  const s = UdpSocket.bind('[::1]:0');
  s.close();
});

test('intoNodeServer(42) throws ERR_INVALID_ARG_TYPE before the listener is given up: it still accepts', () => {
  if (!unix) return;
  const l = TcpListener.bind('127.0.0.1:0');
  try {
    assert.throws(
      () => l.intoNodeServer(42 as never),
      (e: unknown) => e instanceof TypeError && code('ERR_INVALID_ARG_TYPE')(e),
    );
    const port = l.localAddr().port;
    const c = TcpStream.connect(`127.0.0.1:${port}`);
    const deadline = Date.now() + 2000;
    let got = l.accept();
    while (!got && Date.now() < deadline) {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      got = l.accept();
    }
    assert.ok(got, 'the listener still accepts');
    got![0].write(Buffer.from('ok'));
    assert.is(readExactly(c, 2).toString(), 'ok');
    got![0].close();
    c.close();
  } finally {
    l.close();
  }
});

test('pollAsync rejects with the abort reason exactly, null included', async () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    for (const reason of [null, 0, 'why']) {
      const ac = new AbortController();
      const p = poll.pollAsync(events, 5000, ac.signal);
      ac.abort(reason);
      let got: unknown = Symbol('none');
      try {
        await p;
      } catch (e) {
        got = e;
      }
      assert.is(got, reason);
      const pre = new AbortController();
      pre.abort(reason);
      got = Symbol('none');
      try {
        await poll.pollAsync(events, 5000, pre.signal);
      } catch (e) {
        got = e;
      }
      assert.is(got, reason);
    }
  } finally {
    poll.close();
  }
});

test("metal-io/sys addressOf accepts a SharedArrayBuffer, as its signature says (the first byte's address)", () => {
  const sab = new SharedArrayBuffer(64);
  const a = sys.addressOf(sab);
  assert.type(a, 'number');
  assert.is(a, sys.addressOf(new Uint8Array(sab)));
  assert.throws(() => sys.addressOf({} as never), code('ERR_INVALID_ARG_TYPE'));
});

// Only Waker handles are meant to cross threads. Everything else keeps its state in private fields
// and brands, which structured cloning drops: a posted socket, Poll, Registry, Events, DatagramBatch
// or PeerAddress arrives as a plain object (no fd travels) that every entry point refuses.
test('objects other than Waker handles do not cross threads: posted copies are plain objects every entry point refuses', () => {
  const poll = new Poll();
  const events = new Events(4);
  const u = UdpSocket.bind('127.0.0.1:0');
  const l = TcpListener.bind('127.0.0.1:0');
  const batch = new DatagramBatch(2, 16);
  const peer = new PeerAddress(u.localAddr());
  const { port1, port2 } = new MessageChannel();
  const post = (o: unknown): unknown => {
    port1.postMessage(o);
    return receiveMessageOnPort(port2)!.message;
  };
  try {
    const coded = (code: string) => (e: { code?: string }) => e.code === code;
    // A posted socket is a plain object without its fd: every method refuses it, and registering it fails.
    for (const s of [u, l]) {
      const copy = post(s) as Record<string, unknown>;
      assert.equal(Object.keys(copy), [], `${s.constructor.name}: nothing of it travels`);
      assert.throws(
        () => UdpSocket.prototype.send.call(copy, Buffer.from('x')),
        coded('ERR_INVALID_THIS'),
        `a posted ${s.constructor.name}`,
      );
      assert.throws(() => TcpListener.prototype.accept.call(copy), coded('ERR_INVALID_THIS'), `a posted ${s.constructor.name}`);
      assert.throws(
        () => poll.registry().register(copy as never, 1, Interest.READABLE),
        coded('ERR_INVALID_ARG_TYPE'),
        `a posted ${s.constructor.name} as a Source`,
      );
    }
    assert.throws(() => poll.poll(post(events) as Events, 0), coded('ERR_INVALID_ARG_TYPE'), 'a posted Events');
    assert.throws(() => new Waker(post(poll.registry()) as never, 1), coded('ERR_INVALID_ARG_TYPE'), 'a posted Registry');
    assert.throws(() => u.recvMany(post(batch) as DatagramBatch), coded('ERR_INVALID_ARG_TYPE'), 'a posted DatagramBatch');
    assert.throws(() => u.sendMany(post(batch) as DatagramBatch, 1), coded('ERR_INVALID_ARG_TYPE'), 'a posted DatagramBatch');
    assert.throws(() => u.sendToPeer(Buffer.from('x'), post(peer) as PeerAddress), coded('ERR_INVALID_ARG_TYPE'), 'a posted PeerAddress');
    assert.throws(
      () => poll.registry().register(post(poll) as never, 1, Interest.READABLE),
      coded('ERR_INVALID_ARG_TYPE'),
      'a posted Poll as a Source',
    );
    // The originals are untouched.
    u.sendToPeer(Buffer.from('ok'), peer);
    const got = drain(u);
    assert.equal(got.map(String), ['ok']);
  } finally {
    port1.close();
    u.close();
    l.close();
    poll.close();
  }
});

test.run();
