// Seeded fault injection (src/faults.ts): the plan's parsing, its determinism, and each kind of
// fault on real sockets, where a correct loop still moves every byte.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Poll, Events, Interest } from '../src/index.js';
import { TcpListener, TcpStream } from '../src/net.js';
import { Faults, parseFaults } from '../src/faults.js';
import { tcpPair } from './_util/net.js';

const code = (fn: () => unknown): string | undefined => { try { fn(); } catch (e) { return (e as { code?: string }).code; } return undefined; };

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
  assert.is(c[0], null); assert.match(String(c[1]), /^(EMFILE|ENFILE|ENOBUFS)$/); assert.is(c[2], 'refuse'); assert.is(c[3], null);
  for (const bad of ['', 'x', '-1', '1.5', '4294967296', '3,rate=2', '3,rate=x', '3,speed=1', '3,reset=-1', '3,reset=1.5', '3,connect=x', '3,refuse=-2']) assert.is(code(() => parseFaults(bad, 'f')), 'ERR_INVALID_ARG_VALUE', bad);
  assert.is(code(() => parseFaults({ seed: 1, rate: -0.1 }, 'f')), 'ERR_INVALID_ARG_VALUE');
  assert.is(code(() => parseFaults(5, 'f')), 'ERR_INVALID_ARG_TYPE');
  assert.is(code(() => new Poll({ faults: 'nope' })), 'ERR_INVALID_ARG_VALUE');
  assert.is(code(() => new Poll(3 as never)), 'ERR_INVALID_ARG_TYPE');
  // A getter is never called: only own data properties count.
  let called = false;
  const tricky = Object.defineProperty({}, 'faults', { get() { called = true; return '1'; } });
  new Poll(tricky).close();
  assert.not.ok(called);
});

test('the same seed gives the same decisions; another seed others', () => {
  const key = {};
  const seq = (seed: number) => { const f = new Faults(seed, 0.3, 1); return Array.from({ length: 200 }, () => f.io(key, 1000, true)); };
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
  const got: Buffer[] = []; let gotLen = 0; let off = 0; const resets: string[] = [];
  const buf = Buffer.alloc(4096);
  let clientOpen = true; let serverOpen = true;
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
            while ((n = p.server.read(buf)) !== null && n > 0) { got.push(Buffer.from(buf.subarray(0, n))); gotLen += n; }
          }
        } catch (err) {
          const c = (err as { code?: string; syscall?: string });
          resets.push(`${c.syscall} ${c.code}`);
          if (e.token === 2) { clientOpen = false; p.client.close(); } else { serverOpen = false; p.server.close(); }
        }
      }
      if (!clientOpen) break;
    }
    return { got: Buffer.concat(got), sent, resets };
  } finally { p.close(); }
}

test('reads and writes under faults (would-block, short counts, resets): a correct loop gets every byte, in order, or a coded reset', () => {
  let clean = 0; const totals = { wouldBlock: 0, short: 0, reset: 0 };
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
      totals.wouldBlock += c.wouldBlock; totals.short += c.short; totals.reset += c.reset;
      assert.is(poll.faults!.seed, seed);
    } finally { poll.close(); }
  }
  assert.ok(clean >= 1, 'at least one seed ran clean');
  assert.ok(totals.wouldBlock > 0 && totals.short > 0 && totals.reset > 0, `would-blocks, short counts and a chosen stream's reset were injected (${JSON.stringify(totals)})`);
});

test('accepts under faults (would-block, EMFILE/ENFILE/ENOBUFS): a plain accept-until-null loop accepts every client', () => {
  const poll = new Poll({ faults: '11,rate=0.5' });
  const events = new Events(64);
  const l = TcpListener.bind('127.0.0.1:0');
  const clients: TcpStream[] = []; const accepted: TcpStream[] = [];
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
    assert.ok(paused && poll.faults!.counts.accept > 0, `an injected resource error paused the listener on the way (${JSON.stringify(poll.faults!.counts)})`);
    assert.ok(poll.faults!.counts.wouldBlock > 0, 'and accepts would-blocked');
  } finally { for (const s of [...clients, ...accepted]) s.close(); l.close(); poll.close(); }
});

test('poll under faults: events split across polls, reordered, spurious, and waits cut short; none lost', () => {
  const poll = new Poll({ faults: { seed: 3, rate: 0.5 } });
  const events = new Events(64);
  const pairs = Array.from({ length: 12 }, () => tcpPair());
  try {
    pairs.forEach((p, i) => poll.registry().register(p.server, 100 + i, Interest.READABLE));
    const orders: string[] = [];
    const buf = Buffer.alloc(16);
    for (let round = 0; round < 8; round++) {
    const live = pairs.filter((p) => !p.server.closed);
    live.forEach((p) => p.client.write(Buffer.from('x')));
    const seen = new Set<number>();
    const deadline = performance.now() + 5000;
    while (seen.size < live.length && performance.now() < deadline) {
      poll.poll(events, 200);
      orders.push([...events].map((e) => e.token).join(','));
      for (const e of events) { // live: a source closed on the way has no event left in the batch
        const t = e.token;
        const s = pairs[t - 100]!.server;
        let n: number | null;
        try {
          while ((n = s.read(buf)) !== null && n > 0) seen.add(t);
        } catch (e) {
          assert.is((e as { code?: string }).code, 'ECONNRESET', 'an injected reset is the only error');
          seen.add(t); s.close(); // the connection is gone; its event was delivered
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
  } finally { poll.close(); for (const p of pairs) p.close(); }
});

test.run();
