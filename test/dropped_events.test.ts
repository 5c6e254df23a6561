// No event for a source after it was deregistered or closed, even one already waiting in an Events
// (mio leaves this to the user; libuv drops them: uv__platform_invalidate_fd). Every backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Waker } from '../src/index.js';
import { pipe, SourceFd } from '../src/unix.js';
import { expectEvents } from './_util/events.js';
import { tcpPair } from './_util/net.js';

type Pair = ReturnType<typeof tcpPair>;
const sleep = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** `n` connected pairs whose server ends are registered with `tokens` and have a byte to read. */
function readyPairs(poll: Poll, tokens: number[]): Pair[] {
  const pairs = tokens.map(() => tcpPair());
  pairs.forEach((p, i) => {
    poll.registry().register(p.server, tokens[i]!, Interest.READABLE);
  });
  for (const [i, p] of pairs.entries()) p.client.write(Buffer.from([i]));
  sleep(50); // loopback delivers at once; AFD (Wine) completes its polls meanwhile
  return pairs;
}

/** Polls once and checks that the batch holds exactly `tokens` (in any order). */
function pollBatch(poll: Poll, events: Events, tokens: number[]): void {
  poll.poll(events, 1000);
  const got = [...events].map((e) => e.token).sort((a, b) => a - b);
  assert.equal(
    got,
    [...tokens].sort((a, b) => a - b),
    'both sources are ready in one batch',
  );
}

for (const how of ['close', 'deregister'] as const) {
  test(`${how} of token 11 while handling token 10 in the same for...of: 11's event is not yielded`, () => {
    const poll = new Poll();
    const events = new Events(8);
    const pairs = readyPairs(poll, [10, 11]);
    try {
      pollBatch(poll, events, [10, 11]);
      const seen: number[] = [];
      for (const e of events) {
        seen.push(e.token);
        const other = pairs[e.token === 10 ? 1 : 0]!.server;
        if (seen.length === 1) {
          if (how === 'close') other.close();
          else poll.registry().deregister(other);
        }
      }
      assert.is(seen.length, 1, `only the event handled first was yielded, saw ${seen.join(', ')}`);
      assert.is(events.length, 2, 'length still counts what the poll returned');
      const dropped = events.get(0)!.token === seen[0] ? 1 : 0;
      assert.is(events.get(dropped), undefined, 'get() gives undefined for the dropped event');
      poll.poll(events, 50);
      assert.equal(
        [...events].map((e) => e.token).filter((t) => t !== seen[0]),
        [],
        'and no later poll reports it',
      );
    } finally {
      poll.close();
      for (const p of pairs) p.close();
    }
  });
}

test('a token reused within one batch: the new source gets no event meant for the closed one, then its own', () => {
  const poll = new Poll();
  const events = new Events(8);
  const pairs = readyPairs(poll, [10, 11]);
  const fresh = tcpPair();
  try {
    fresh.client.write(Buffer.from('fresh'));
    pollBatch(poll, events, [10, 11]);
    const seen: number[] = [];
    let reused = -1;
    for (const e of events) {
      seen.push(e.token);
      if (seen.length === 1) {
        // A server with a token free list: the closed connection's token goes to the next one.
        reused = e.token === 10 ? 11 : 10;
        pairs[e.token === 10 ? 1 : 0]!.server.close();
        poll.registry().register(fresh.server, reused, Interest.READABLE);
      }
    }
    assert.is(seen.length, 1, `the stale event of token ${reused} did not reach the new source (saw ${seen.join(', ')})`);
    expectEvents(poll, events, [{ token: reused, readable: true }]);
    const buf = Buffer.alloc(16);
    assert.is(fresh.server.read(buf), 5);
    assert.is(buf.subarray(0, 5).toString(), 'fresh', "the event was the new source's own");
  } finally {
    poll.close();
    fresh.close();
    for (const p of pairs) p.close();
  }
});

test('reregister with another token drops the events pending under the old one', () => {
  const poll = new Poll();
  const events = new Events(8);
  const pairs = readyPairs(poll, [10, 11]);
  try {
    pollBatch(poll, events, [10, 11]);
    poll.registry().reregister(pairs[1]!.server, 12, Interest.READABLE);
    assert.equal(
      [...events].map((e) => e.token),
      [10],
      'token 11 is gone from the batch',
    );
  } finally {
    poll.close();
    for (const p of pairs) p.close();
  }
});

test('closing a Waker after the poll drops its pending event', () => {
  const poll = new Poll();
  const events = new Events(8);
  const pairs = readyPairs(poll, [10]);
  const waker = new Waker(poll.registry(), 20);
  try {
    waker.wake();
    sleep(20);
    pollBatch(poll, events, [10, 20]);
    waker.close();
    assert.equal(
      [...events].map((e) => e.token),
      [10],
    );
  } finally {
    poll.close();
    waker.close();
    for (const p of pairs) p.close();
  }
});

test('SourceFd deregistered after the poll: its pending event is dropped', () => {
  if (process.platform === 'win32') {
    console.log('  SKIP SourceFd: Unix-only [win32]');
    return;
  }
  const poll = new Poll();
  const events = new Events(8);
  const [w, r] = pipe(); // [Sender, Receiver]
  const src = new SourceFd(r.fd);
  const pairs = readyPairs(poll, [10]);
  try {
    poll.registry().register(src, 30, Interest.READABLE);
    w.write(Buffer.from('x'));
    sleep(20);
    pollBatch(poll, events, [10, 30]);
    poll.registry().deregister(src);
    assert.equal(
      [...events].map((e) => e.token),
      [10],
    );
  } finally {
    poll.close();
    r.close();
    w.close();
    for (const p of pairs) p.close();
  }
});

test("an Events refilled by another Poll is not touched by the first Poll's deregister", () => {
  const a = new Poll();
  const b = new Poll();
  const events = new Events(8);
  const pa = readyPairs(a, [10]);
  const pb = readyPairs(b, [10]);
  try {
    pollBatch(a, events, [10]);
    pollBatch(b, events, [10]);
    pa[0]!.server.close(); // token 10 of Poll a: the batch is Poll b's now
    assert.equal(
      [...events].map((e) => e.token),
      [10],
      "Poll b's event stays",
    );
  } finally {
    a.close();
    b.close();
    for (const p of [...pa, ...pb]) p.close();
  }
});

test.run();
