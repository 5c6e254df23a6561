// PeerAddress and DatagramBatch: allocation-free and batched datagrams (recvMany/sendMany over
// recvmmsg/sendmmsg, or the loop fallback; sendSegments over UDP GSO, or a loop; GRO).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { DatagramBatch, PeerAddress, UdpSocket } from '../src/net.js';
import { expectEvents, onWine } from './_util/events.js';
import { haveIPv6Loopback } from './_util/net.js';

/** Loopback delivers at once, but give the kernel a moment: retries `f` while it returns null. */
function waitFor<T>(f: () => T | null, ms = 1000): T | null {
  const deadline = Date.now() + ms;
  let r: T | null;
  while ((r = f()) === null && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
  return r;
}

function pair(host = '127.0.0.1'): { a: UdpSocket; b: UdpSocket; pa: PeerAddress; pb: PeerAddress; close(): void } {
  const at = host.includes(':') ? `[${host}]:0` : `${host}:0`;
  const a = UdpSocket.bind(at);
  const b = UdpSocket.bind(at);
  return {
    a,
    b,
    pa: new PeerAddress(a.localAddr()),
    pb: new PeerAddress(b.localAddr()),
    close() {
      a.close();
      b.close();
    },
  };
}

test('PeerAddress: parse once, compare and copy as bytes, decode on demand', () => {
  const p = new PeerAddress('127.0.0.1:5353');
  assert.is(p.address, '127.0.0.1');
  assert.is(p.port, 5353);
  assert.is(p.family, 'IPv4');
  assert.is(p.toString(), '127.0.0.1:5353');
  const q = new PeerAddress();
  assert.ok(q.isEmpty());
  assert.is(q.toJSON(), null);
  assert.is(q.toString(), '(empty)');
  assert.not.ok(q.equals(p));
  q.copyFrom(p);
  assert.ok(q.equals(p));
  assert.equal(q.toJSON(), { address: '127.0.0.1', family: 'IPv4', port: 5353 });
  q.set('[::1]:7');
  assert.is(q.family, 'IPv6');
  assert.is(q.toString(), '[::1]:7');
  assert.throws(
    () => new PeerAddress('localhost:1'),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => q.copyFrom({ bytes: Buffer.alloc(1 << 20), len: 1 << 20 } as never),
    (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
  );
  assert.throws(
    () => ((q as unknown as { len: number }).len = 1 << 20),
    (e: Error) => e instanceof TypeError,
    'len cannot be set',
  );
});

test('recvFromPeer / sendToPeer: a reply to the sender without parsing an address', () => {
  const s = pair();
  try {
    assert.is(s.a.sendToPeer(Buffer.from('ping'), s.pb), 4);
    const from = new PeerAddress();
    const buf = Buffer.alloc(16);
    assert.is(
      waitFor(() => s.b.recvFromPeer(buf, from)),
      4,
    );
    assert.ok(from.equals(s.pa), `from ${from}`);
    assert.is(s.b.sendToPeer(buf, from, 0, 4), 4);
    assert.is(
      waitFor(() => s.a.recvFromPeer(buf, from, 8, 8)),
      4,
    );
    assert.is(buf.subarray(8, 12).toString(), 'ping');
    assert.ok(from.equals(s.pb));
    assert.is(s.b.recvFromPeer(buf, from), null, 'nothing queued: null');
  } finally {
    s.close();
  }
});

test('recvMany: full, partial and empty batches; mixed peers; in order', () => {
  const s = pair();
  const c = UdpSocket.bind('127.0.0.1:0');
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(s.b, 1, Interest.READABLE);
    const batch = new DatagramBatch(4, 64);
    assert.is(s.b.recvMany(batch), null, 'empty: null');
    assert.is(batch.length, 0);
    for (let i = 0; i < 6; i++) (i % 2 ? c : s.a).sendToPeer(Buffer.from(`d${i}`), s.pb);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    const pc = new PeerAddress(c.localAddr());
    const seen: string[] = [];
    assert.is(
      waitFor(() => s.b.recvMany(batch)),
      4,
      'a full batch',
    );
    for (let i = 0; i < batch.length; i++) {
      seen.push(batch.data(i).toString());
      assert.ok(batch.peer(i).equals(i % 2 ? pc : s.pa), `slot ${i} from ${batch.peer(i)}`);
      assert.is(batch.segmentSize(i), batch.lengthOf(i));
      assert.not.ok(batch.truncated(i));
    }
    assert.is(s.b.recvMany(batch), 2, 'then a partial one');
    for (let i = 0; i < 2; i++) seen.push(batch.data(i).toString());
    assert.equal(seen, ['d0', 'd1', 'd2', 'd3', 'd4', 'd5']);
    assert.is(s.b.recvMany(batch), null);
    // A partial batch means drained: the next datagram brings a new event (every backend).
    s.a.sendToPeer(Buffer.from('again'), s.pb);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
  } finally {
    poll.close();
    c.close();
    s.close();
  }
});

test('recvMany: a datagram longer than its slot is truncated and says so; empty datagrams count', () => {
  const s = pair();
  try {
    s.a.sendToPeer(Buffer.from('0123456789'), s.pb);
    s.a.sendToPeer(Buffer.alloc(0), s.pb);
    s.a.sendToPeer(Buffer.from('ok'), s.pb);
    const batch = new DatagramBatch(4, 4);
    let got = 0;
    const lens: number[] = [];
    const trunc: boolean[] = [];
    const deadline = Date.now() + 1000;
    while (got < 3 && Date.now() < deadline) {
      const n = s.b.recvMany(batch) ?? 0;
      for (let i = 0; i < n; i++) {
        lens.push(batch.lengthOf(i));
        trunc.push(batch.truncated(i));
      }
      got += n;
    }
    assert.equal(lens, [4, 0, 2]);
    assert.equal(trunc, [true, false, false]);
  } finally {
    s.close();
  }
});

test('sendMany: per-slot lengths and peers, an empty peer on a connected socket, partial counts, a start slot (past the end: ERR_OUT_OF_RANGE)', () => {
  const s = pair();
  const c = UdpSocket.bind('127.0.0.1:0');
  try {
    const out = new DatagramBatch(3, 16);
    for (let i = 0; i < 3; i++) {
      out.slot(i).write(`m${i}-xyz`);
      out.setLength(i, 2 + i);
      out.peer(i).copyFrom(i === 1 ? new PeerAddress(c.localAddr()) : s.pb);
    }
    out.length = 3;
    assert.is(s.a.sendMany(out), 3);
    const inb = new DatagramBatch(4, 16);
    assert.is(
      waitFor(() => s.b.recvMany(inb)),
      2,
    );
    assert.equal([inb.data(0).toString(), inb.data(1).toString()], ['m0', 'm2-x']);
    assert.is(
      waitFor(() => c.recvMany(inb)),
      1,
    );
    assert.is(inb.data(0).toString(), 'm1-');
    assert.is(s.a.sendMany(out, 0), 0);
    assert.throws(
      () => s.a.sendMany(out, 4),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    // From a start slot (the rest of a batch after a short send): slots 2.. only, then slot 0 alone.
    assert.is(s.a.sendMany(out, 1, 2), 1);
    assert.is(s.a.sendMany(out, 1, 0), 1);
    assert.is(
      waitFor(() => s.b.recvMany(inb)),
      2,
    );
    assert.equal([inb.data(0).toString(), inb.data(1).toString()], ['m2-x', 'm0'], 'slot 2, then slot 0');
    assert.is(s.a.sendMany(out, undefined, 3), 0, 'the default count from start: batch.length - start');
    for (const [count, start] of [
      [2, 2],
      [1, 3],
      [0, 4],
      [undefined, 4],
      [1, -1],
    ] as const)
      assert.throws(
        () => s.a.sendMany(out, count, start),
        (e: unknown) => e instanceof RangeError && (e as { code?: string }).code === 'ERR_OUT_OF_RANGE',
        `count ${count} from ${start}`,
      );
    assert.throws(
      () => s.a.sendMany(out, 1, '1' as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
    // Connected: empty peers go to the connected peer.
    c.connect(s.b.localAddr());
    const conn = new DatagramBatch(2, 8);
    conn.slot(0).write('c0');
    conn.setLength(0, 2);
    conn.slot(1).write('c1');
    conn.setLength(1, 2);
    assert.is(c.sendMany(conn, 2), 2);
    assert.is(
      waitFor(() => s.b.recvMany(inb)),
      2,
    );
    assert.equal([inb.data(0).toString(), inb.data(1).toString()], ['c0', 'c1']);
    // A caller scribbling on the lengths cannot make the kernel read past a slot.
    (out as unknown as { lengths: Uint32Array }).lengths[0] = 1 << 30;
    assert.is(s.a.sendMany(out, 1), 1);
    assert.is(
      waitFor(() => s.b.recvMany(inb)),
      1,
    );
    assert.is(inb.lengthOf(0), 16, 'clamped to the slot');
    assert.throws(
      () => {
        (out as unknown as { lengths: unknown }).lengths = new Uint32Array(3);
      },
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    c.close();
    s.close();
  }
});

test('IPv6: recvMany and sendMany with v6 peers', () => {
  if (!haveIPv6Loopback()) {
    console.log('  SKIP IPv6 batches: ::1 is not configured here');
    return;
  }
  const s = pair('::1');
  try {
    const out = new DatagramBatch(2, 8);
    for (let i = 0; i < 2; i++) {
      out.slot(i).write(`v6-${i}`);
      out.setLength(i, 4);
      out.peer(i).copyFrom(s.pb);
    }
    assert.is(s.a.sendMany(out, 2), 2);
    const inb = new DatagramBatch(4, 8);
    assert.is(
      waitFor(() => s.b.recvMany(inb)),
      2,
    );
    assert.is(inb.peer(0).family, 'IPv6');
    assert.is(inb.peer(0).address, '::1');
    assert.ok(inb.peer(1).equals(s.pa));
  } finally {
    s.close();
  }
});

test('a connected socket reports ECONNREFUSED from the ICMP error on recvMany', () => {
  const gone = UdpSocket.bind('127.0.0.1:0');
  const port = gone.localAddr().port;
  gone.close();
  const s = UdpSocket.bind('127.0.0.1:0');
  try {
    s.connect(`127.0.0.1:${port}`);
    s.send(Buffer.from('anyone?'));
    const batch = new DatagramBatch(2, 16);
    let code: string | undefined;
    const deadline = Date.now() + 2000;
    while (code === undefined && Date.now() < deadline) {
      try {
        s.recvMany(batch);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2);
      } catch (e) {
        code = String((e as { code?: unknown }).code);
      }
    }
    if (code === undefined && onWine) {
      console.log('  SKIP ECONNREFUSED on a connected UDP socket: Wine does not report the ICMP error [win32-x64 under Wine]');
      return;
    }
    assert.ok(code === 'ECONNREFUSED' || code === 'ECONNRESET', `the refusal surfaced: code ${code}`); // Windows says WSAECONNRESET
  } finally {
    s.close();
  }
});

test('sendSegments: GSO where the kernel has it, a loop elsewhere; the receiver sees each datagram', () => {
  const s = pair();
  try {
    const data = Buffer.alloc(1000);
    for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
    assert.is(s.a.sendSegments(data, 300, s.pb), 1000);
    const batch = new DatagramBatch(8, 512);
    const lens: number[] = [];
    const parts: Buffer[] = [];
    const deadline = Date.now() + 1000;
    while (lens.length < 4 && Date.now() < deadline) {
      const n = s.b.recvMany(batch) ?? 0;
      for (let i = 0; i < n; i++) {
        lens.push(batch.lengthOf(i));
        parts.push(Buffer.from(batch.data(i)));
      }
    }
    assert.equal(lens, [300, 300, 300, 100]);
    assert.ok(Buffer.concat(parts).equals(data), 'byte for byte, in order');
    // Connected, from an offset.
    s.a.connect(s.b.localAddr());
    assert.is(s.a.sendSegments(data, 500, null, 100, 600), 600);
    lens.length = 0;
    const until = Date.now() + 1000;
    while (lens.length < 2 && Date.now() < until) {
      const n = s.b.recvMany(batch) ?? 0;
      for (let i = 0; i < n; i++) lens.push(batch.lengthOf(i));
    }
    assert.equal(lens, [500, 100]);
    assert.throws(
      () => s.a.sendSegments(data, 0),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => s.a.sendSegments(data, 70000),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
  } finally {
    s.close();
  }
});

test('GRO: coalesced datagrams arrive in one slot with their segment size (Linux); elsewhere setGro says false', () => {
  const s = pair();
  try {
    const on = s.b.setGro(true);
    const data = Buffer.alloc(1200, 9);
    s.a.sendSegments(data, 200, s.pb);
    const batch = new DatagramBatch(8, 65535);
    let bytes = 0;
    const strides: number[] = [];
    const deadline = Date.now() + 1000;
    while (bytes < 1200 && Date.now() < deadline) {
      const n = s.b.recvMany(batch) ?? 0;
      for (let i = 0; i < n; i++) {
        bytes += batch.lengthOf(i);
        strides.push(batch.segmentSize(i));
      }
    }
    assert.is(bytes, 1200, 'every byte arrived');
    assert.ok(
      strides.every((x) => x === 200),
      `segment sizes ${strides}`,
    );
    if (!on) console.log(`  (GRO unavailable here: ${strides.length} datagrams of 200 bytes, one per slot)`);
    else
      assert.ok(
        strides.length < 6 || process.env.METAL_IO_DATAGRAM_FALLBACK === '1',
        `GRO coalesced (${strides.length} slots for 6 datagrams)`,
      );
    assert.is(s.b.setGro(false), false);
  } finally {
    s.close();
  }
});

test('bad arguments: TypeError or RangeError with Node codes', () => {
  const s = pair();
  try {
    assert.throws(
      () => new DatagramBatch(0),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => new DatagramBatch(4, 70000),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => s.b.recvMany({} as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
    assert.throws(
      () => s.b.recvMany(Object.create(DatagramBatch.prototype)),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
    assert.throws(
      () => s.b.recvFromPeer(Buffer.alloc(4), {} as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
    const batch = new DatagramBatch(2, 8);
    assert.throws(
      () => batch.setLength(0, 9),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    assert.throws(
      () => batch.peer(2),
      (e: { code?: string }) => e.code === 'ERR_OUT_OF_RANGE',
    );
    s.b.close();
    assert.throws(
      () => s.b.recvMany(batch),
      (e: { code?: string }) => e.code === 'EBADF',
    );
  } finally {
    s.close();
  }
});

test.run();
