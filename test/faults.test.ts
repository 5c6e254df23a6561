// Seeded fault injection (src/faults.ts): the plan's parsing, its determinism, and each kind of
// fault on real sockets, where a correct loop still moves every byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Faults, parseFaults } from '../src/faults.js';
import { Events, Interest, Poll } from '../src/index.js';
import { DatagramBatch, PeerAddress, TcpListener, TcpStream, UdpSocket } from '../src/net.js';
import { UnixStream } from '../src/unix.js';
import { onWine } from './_util/events.js';
import { tcpPair } from './_util/net.js';

const code = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
};

test('the plan: "<seed>[,rate=<0..1>]" or { seed, rate }; anything else is ERR_INVALID_ARG_*', () => {
  assert.is(parseFaults('42', 'f').seed, 42);
  assert.is(parseFaults('42', 'f').rate, 0.05);
  assert.is(parseFaults('7,rate=0.5', 'f').rate, 0.5);
  assert.is(parseFaults({ seed: 9, rate: 1 }, 'f').rate, 1);
  assert.is(parseFaults('7,rate=0.5,reset=2', 'f').reset, 2);
  assert.is(parseFaults('7', 'f').reset, 0, 'no stream is reset unless chosen');
  assert.is(parseFaults('7,connect=3', 'f').connect, 3);
  const f = parseFaults('7,connect=2,refuse=3', 'f');
  const c = [f.onConnect(), f.onConnect(), f.onConnect(), f.onConnect()];
  assert.is(c[0], null);
  assert.match(String(c[1]), /^(EMFILE|ENFILE|ENOBUFS)$/);
  assert.is(c[2], 'refuse');
  assert.is(c[3], null);
  for (const bad of [
    '',
    'x',
    '-1',
    '1.5',
    '4294967296',
    '3,rate=2',
    '3,rate=x',
    '3,speed=1',
    '3,reset=-1',
    '3,reset=1.5',
    '3,connect=x',
    '3,refuse=-2',
  ])
    assert.is(
      code(() => parseFaults(bad, 'f')),
      'ERR_INVALID_ARG_VALUE',
      bad,
    );
  assert.is(
    code(() => parseFaults({ seed: 1, rate: -0.1 }, 'f')),
    'ERR_INVALID_ARG_VALUE',
  );
  assert.is(
    code(() => parseFaults(5, 'f')),
    'ERR_INVALID_ARG_TYPE',
  );
  assert.is(
    code(() => new Poll({ faults: 'nope' })),
    'ERR_INVALID_ARG_VALUE',
  );
  assert.is(
    code(() => new Poll(3 as never)),
    'ERR_INVALID_ARG_TYPE',
  );
  // A getter is never called: only own data properties count.
  let called = false;
  const tricky = Object.defineProperty({}, 'faults', {
    get() {
      called = true;
      return '1';
    },
  });
  new Poll(tricky).close();
  assert.not.ok(called);
});

test('the same seed gives the same decisions; another seed others', () => {
  const key = {};
  const seq = (seed: number) => {
    const f = new Faults(seed, 0.3, 1);
    return Array.from({ length: 200 }, () => f.io(key, 1000, true));
  };
  assert.equal(seq(1234), seq(1234));
  assert.not.equal(seq(1234), seq(1235));
  const kinds = new Set<string>(seq(99).map((r) => (r === -1 ? 'none' : r === -2 ? 'wouldblock' : r === -3 ? 'reset' : 'short')));
  for (const k of ['none', 'wouldblock', 'short']) assert.ok(kinds.has(k), `seed 99 makes ${k}`);
});

/**
 * Moves `total` bytes from client to server through a Poll with faults, with a correct
 * edge-triggered loop on both sides (write until null and wait for WRITABLE; read until null).
 */
function transfer(poll: Poll, total: number): { got: Buffer; sent: Buffer; resets: string[] } {
  const p = tcpPair();
  const events = new Events(16);
  const sent = Buffer.alloc(total);
  for (let i = 0; i < total; i++) sent[i] = (i * 131 + 7) & 0xff;
  const got: Buffer[] = [];
  let gotLen = 0;
  let off = 0;
  const resets: string[] = [];
  const buf = Buffer.alloc(4096);
  let clientOpen = true;
  let serverOpen = true;
  try {
    poll.registry().register(p.server, 1, Interest.READABLE);
    poll.registry().register(p.client, 2, Interest.WRITABLE);
    const deadline = performance.now() + 10000;
    while (serverOpen && gotLen < total && performance.now() < deadline) {
      poll.poll(events, 200);
      for (const e of events) {
        try {
          if (e.token === 2 && clientOpen) {
            let n: number | null;
            while (off < total && (n = p.client.write(sent, off, Math.min(8192, total - off))) !== null) off += n;
          } else if (e.token === 1 && serverOpen) {
            let n: number | null;
            while ((n = p.server.read(buf)) !== null && n > 0) {
              got.push(Buffer.from(buf.subarray(0, n)));
              gotLen += n;
            }
          }
        } catch (err) {
          const c = err as { code?: string; syscall?: string };
          resets.push(`${c.syscall} ${c.code}`);
          if (e.token === 2) {
            clientOpen = false;
            p.client.close();
          } else {
            serverOpen = false;
            p.server.close();
          }
        }
      }
      if (!clientOpen) break;
    }
    return { got: Buffer.concat(got), sent, resets };
  } finally {
    p.close();
  }
}

test('reads and writes under faults (would-block, short counts, resets): a correct loop gets every byte, in order, or a coded reset', () => {
  let clean = 0;
  const totals = { wouldBlock: 0, short: 0, reset: 0 };
  for (let seed = 1; seed <= 6; seed++) {
    const poll = new Poll({ faults: { seed, rate: 0.3, reset: seed % 2 === 0 ? 1 + (seed % 3) : 0 } });
    try {
      const r = transfer(poll, 200_000);
      if (poll.faults!.reset === 0) assert.is(r.resets.length, 0, `seed ${seed}: no reset unless one is chosen`);
      if (r.resets.length === 0) {
        assert.is(r.got.length, r.sent.length, `seed ${seed}: every byte arrived`);
        assert.ok(r.got.equals(r.sent), `seed ${seed}: in order`);
        clean++;
      } else {
        // An injected reset (read ECONNRESET, write EPIPE), or what the kernel says once the reading side closed.
        for (const x of r.resets) assert.match(x, /^(read ECONNRESET|write (EPIPE|ECONNRESET))$/, `seed ${seed}: ${x}`);
        assert.ok(r.sent.subarray(0, r.got.length).equals(r.got), `seed ${seed}: what arrived before the reset is a prefix`);
      }
      const c = poll.faults!.counts;
      totals.wouldBlock += c.wouldBlock;
      totals.short += c.short;
      totals.reset += c.reset;
      assert.is(poll.faults!.seed, seed);
    } finally {
      poll.close();
    }
  }
  assert.ok(clean >= 1, 'at least one seed ran clean');
  assert.ok(
    totals.wouldBlock > 0 && totals.short > 0 && totals.reset > 0,
    `would-blocks, short counts and a chosen stream's reset were injected (${JSON.stringify(totals)})`,
  );
});

test('under faults, once an event said read-closed every later event of that source says it too (owed after an injected would-block, spurious): a loop that reads on to 0 only when told so sees the end of stream', () => {
  if (onWine) {
    console.log(
      '  SKIP read-closed under faults: under Wine no event says read-closed when the data and the FIN were queued before the socket was registered (seen here; Windows itself not checked) [win32-x64 under Wine]',
    );
    return;
  }
  let owed = 0;
  for (let seed = 1; seed <= 60; seed++) {
    const poll = new Poll({ faults: { seed, rate: 0.5 } });
    const pair = tcpPair();
    try {
      pair.client.write(Buffer.from('last words'));
      pair.client.shutdown('write');
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // data and FIN queued before the first wait: one edge for both
      poll.registry().register(pair.server, 7, Interest.READABLE);
      const events = new Events(8);
      const buf = Buffer.alloc(64 * 1024);
      let got = '';
      let eof = false;
      let sawClosed = false;
      for (let turn = 0; turn < 40 && !eof; turn++) {
        poll.poll(events, 10);
        for (const ev of events) {
          if (ev.token !== 7 || eof) continue;
          const readClosed = ev.isReadClosed();
          if (sawClosed)
            assert.ok(
              readClosed,
              `seed ${seed}: an event after a read-closed one says read-closed too (faults: ${JSON.stringify(poll.faults!.counts)})`,
            );
          sawClosed ||= readClosed;
          // The example's loop: a short read means drained, unless the event said read-closed.
          for (;;) {
            const n = pair.server.read(buf);
            if (n === null) break;
            if (n === 0) {
              eof = true;
              break;
            }
            got += buf.toString('latin1', 0, n);
            if (n < buf.length && !readClosed) break;
          }
        }
      }
      assert.ok(sawClosed, `seed ${seed}: some event said read-closed`);
      assert.is(got, 'last words', `seed ${seed}: every byte`);
      assert.ok(eof, `seed ${seed}: the end of stream was read (faults: ${JSON.stringify(poll.faults!.counts)})`);
      owed += poll.faults!.counts.wouldBlock;
    } finally {
      pair.close();
      poll.close();
    }
  }
  assert.ok(owed > 0, 'some reads were faulted to would-block');
});

/** Moves `total` bytes from `w` to `r` with writev (3 slices) and readv (3 buffers) only, under `poll`'s faults. */
function vectoredTransfer(poll: Poll, w: TcpStream | UnixStream, r: TcpStream | UnixStream, total: number): Buffer {
  const sent = Buffer.alloc(total);
  for (let i = 0; i < total; i++) sent[i] = (i * 151 + 3) & 0xff;
  const got = Buffer.alloc(total);
  let gotLen = 0;
  let off = 0;
  const bufs = [Buffer.alloc(700), Buffer.alloc(3000), Buffer.alloc(300)];
  const events = new Events(16);
  poll.registry().register(r, 1, Interest.READABLE);
  poll.registry().register(w, 2, Interest.WRITABLE);
  const deadline = performance.now() + 10000;
  while (gotLen < total && performance.now() < deadline) {
    poll.poll(events, 200);
    for (const e of events) {
      if (e.token === 2) {
        let n: number | null;
        // Three slices of what is left; a short count means: send on from there.
        while (
          off < total &&
          (n = w.writev([sent.subarray(off, off + 1000), sent.subarray(off + 1000, off + 5000), sent.subarray(off + 5000, off + 6000)])) !==
            null
        )
          off += n;
      } else {
        let n: number | null;
        while ((n = r.readv(bufs)) !== null && n > 0) {
          for (let i = 0, left = n; left > 0; i++) {
            const k = Math.min(left, bufs[i]!.length);
            bufs[i]!.copy(got, gotLen, 0, k);
            gotLen += k;
            left -= k;
          }
        }
      }
    }
  }
  poll.registry().deregister(r);
  poll.registry().deregister(w);
  return sent.equals(got.subarray(0, gotLen))
    ? got.subarray(0, gotLen)
    : (assert.unreachable(`${gotLen}/${total} bytes, or out of order`) as never);
}

test('readv/writev under faults (would-block, short counts cut inside an iovec): a correct loop gets every byte in order, on TCP and Unix streams', () => {
  const totals = { wouldBlock: 0, short: 0 };
  for (let seed = 1; seed <= 4; seed++) {
    for (const kind of process.platform === 'win32' ? (['tcp'] as const) : (['tcp', 'unix'] as const)) {
      // no Unix stream pairs on Windows
      const poll = new Poll({ faults: { seed, rate: 0.3 } });
      const tcp = kind === 'tcp' ? tcpPair() : null;
      const [a, b] = tcp ? [tcp.client, tcp.server] : UnixStream.pair();
      try {
        assert.is(vectoredTransfer(poll, a, b, 300_000).length, 300_000, `seed ${seed} ${kind}: every byte`);
        totals.wouldBlock += poll.faults!.counts.wouldBlock;
        totals.short += poll.faults!.counts.short;
      } finally {
        if (tcp) tcp.close();
        else {
          a.close();
          b.close();
        }
        poll.close();
      }
    }
  }
  assert.ok(
    totals.wouldBlock > 0 && totals.short > 0,
    `would-blocks and short counts were injected into readv/writev (${JSON.stringify(totals)})`,
  );
});

test('recvMany/sendMany/sendSegments under faults (would-block, fewer datagrams than asked): a loop that stops at a short batch, as the docs allow, still gets every datagram once, in order', () => {
  const totals = { wouldBlock: 0, short: 0 };
  const N = 600;
  for (let seed = 1; seed <= 4; seed++) {
    const poll = new Poll({ faults: { seed, rate: 0.3 } });
    const a = UdpSocket.bind('127.0.0.1:0');
    const b = UdpSocket.bind('127.0.0.1:0');
    const to = new PeerAddress(b.localAddr());
    const out = new DatagramBatch(16, 64);
    const inb = new DatagramBatch(8, 64);
    const seqs: number[] = [];
    const buf = Buffer.alloc(64 * 10);
    try {
      poll.registry().register(b, 1, Interest.READABLE);
      poll.registry().register(a, 2, Interest.WRITABLE);
      const events = new Events(16);
      let next = 0;
      let canSend = true;
      const deadline = performance.now() + 10000;
      while (seqs.length < 2 * N && performance.now() < deadline) {
        // In flight at most 64 datagrams (the receive buffer holds them all: nothing is dropped).
        while (canSend && next < 2 * N && next - seqs.length < 64) {
          let r: number | null;
          if (next < N) {
            const c = Math.min(16, N - next, 64 - (next - seqs.length));
            for (let i = 0; i < c; i++) {
              out.slot(i).writeUInt32LE(next + i, 0);
              out.setLength(i, 4);
              out.peer(i).copyFrom(to);
            }
            r = a.sendMany(out, c);
            if (r !== null) assert.ok(r >= 1 && r <= c, `sendMany sent ${r} of ${c}`);
          } else {
            // The second half as 4-byte segments of one buffer (GSO or its loop): whole datagrams only.
            const c = Math.min(10, 2 * N - next, 64 - (next - seqs.length));
            for (let i = 0; i < c; i++) buf.writeUInt32LE(next + i, 4 * i);
            const bytes = a.sendSegments(buf, 4, to, 0, 4 * c);
            if (bytes !== null) assert.ok(bytes % 4 === 0 && bytes >= 4 && bytes <= 4 * c, `sendSegments sent ${bytes} of ${4 * c} bytes`);
            r = bytes === null ? null : bytes / 4;
          }
          if (r === null) canSend = false;
          else next += r;
        }
        poll.poll(events, 100);
        for (const e of events) {
          if (e.token === 2) {
            canSend = true;
            continue;
          }
          for (;;) {
            const n = b.recvMany(inb);
            if (n === null) break;
            for (let i = 0; i < n; i++) seqs.push(inb.slot(i).readUInt32LE(0));
            if (n < inb.capacity) break; // a short batch: the queue is empty for now (an event comes for more)
          }
        }
      }
      assert.equal(
        seqs,
        Array.from({ length: 2 * N }, (_, i) => i),
        `seed ${seed}: every datagram once, in order (${seqs.length}/${2 * N})`,
      );
      totals.wouldBlock += poll.faults!.counts.wouldBlock;
      totals.short += poll.faults!.counts.short;
    } finally {
      a.close();
      b.close();
      poll.close();
    }
  }
  assert.ok(totals.wouldBlock > 0 && totals.short > 0, `would-blocks and short batches were injected (${JSON.stringify(totals)})`);
});

test('accepts under faults (would-block, EMFILE/ENFILE/ENOBUFS): a plain accept-until-null loop accepts every client', () => {
  const poll = new Poll({ faults: '11,rate=0.5' });
  const events = new Events(64);
  const l = TcpListener.bind('127.0.0.1:0');
  const clients: TcpStream[] = [];
  const accepted: TcpStream[] = [];
  try {
    poll.registry().register(l, 0, Interest.READABLE);
    for (let i = 0; i < 20; i++) clients.push(TcpStream.connect(l.localAddr()));
    const deadline = performance.now() + 10000;
    let paused = false;
    while (accepted.length < 20 && performance.now() < deadline) {
      poll.poll(events, 500);
      for (const e of events) {
        if (e.token !== 0) continue;
        let c: ReturnType<TcpListener['accept']>;
        while ((c = l.accept()) !== null) accepted.push(c[0]);
        paused ||= l.acceptPaused;
      }
    }
    assert.is(accepted.length, 20, 'every client accepted');
    assert.ok(
      paused && poll.faults!.counts.accept > 0,
      `an injected resource error paused the listener on the way (${JSON.stringify(poll.faults!.counts)})`,
    );
    assert.ok(poll.faults!.counts.wouldBlock > 0, 'and accepts would-blocked');
  } finally {
    for (const s of [...clients, ...accepted]) s.close();
    l.close();
    poll.close();
  }
});

test('poll under faults: events split across polls, reordered, spurious, and waits cut short; none lost', () => {
  const poll = new Poll({ faults: { seed: 3, rate: 0.5 } });
  const events = new Events(64);
  const pairs = Array.from({ length: 12 }, () => tcpPair());
  try {
    pairs.forEach((p, i) => {
      poll.registry().register(p.server, 100 + i, Interest.READABLE);
    });
    const orders: string[] = [];
    const buf = Buffer.alloc(16);
    for (let round = 0; round < 8; round++) {
      const live = pairs.filter((p) => !p.server.closed);
      live.forEach((p) => {
        p.client.write(Buffer.from('x'));
      });
      const seen = new Set<number>();
      const deadline = performance.now() + 5000;
      while (seen.size < live.length && performance.now() < deadline) {
        poll.poll(events, 200);
        orders.push([...events].map((e) => e.token).join(','));
        for (const e of events) {
          // live: a source closed on the way has no event left in the batch
          const t = e.token;
          const s = pairs[t - 100]!.server;
          let n: number | null;
          try {
            while ((n = s.read(buf)) !== null && n > 0) seen.add(t);
          } catch (e) {
            assert.is((e as { code?: string }).code, 'ECONNRESET', 'an injected reset is the only error');
            seen.add(t);
            s.close(); // the connection is gone; its event was delivered
          }
        }
      }
      assert.is(seen.size, live.length, `round ${round}: every source's byte was read (batches: ${orders.join(' | ')})`);
    }
    const c = poll.faults!.counts;
    assert.ok(c.split > 0 && c.reorder > 0 && c.eintr > 0, `batches were split, reordered and waits cut short (${JSON.stringify(c)})`);
    const plain = new Poll();
    assert.is(plain.faults, null, 'a Poll without the option (and no METAL_IO_FAULTS) has none');
    plain.close();
  } finally {
    poll.close();
    for (const p of pairs) p.close();
  }
});

test.run();
