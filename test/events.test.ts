import { inspect } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { channel, expectEvents, unixOnly } from './_util/events.js';

test('capacity is validated', () => {
  assert.throws(
    () => new Events(0),
    (e: Error) => e instanceof RangeError,
  );
  assert.throws(
    () => new Events(1.5),
    (e: Error) => e instanceof RangeError,
  );
  assert.throws(
    () => new Events('8' as unknown as number),
    (e: Error) => e instanceof TypeError,
  );
  assert.is(Events.withCapacity(16).capacity, 16);
});

test('capacity cannot be changed; internals are not reachable', () => {
  const events = new Events(2);
  assert.throws(
    () => {
      (events as { capacity: number }).capacity = 64;
    },
    (e: Error) => e instanceof TypeError,
  );
  assert.is(events.capacity, 2);
  assert.equal(Object.keys(events), [], 'no own enumerable state to tamper with');
  assert.is((events as unknown as { len?: number }).len, undefined);
});

test('an Events look-alike (subclass getter, Proxy) cannot change what the kernel is given', () => {
  {
    const poll = new Poll();
    const [tx, rx] = channel();
    try {
      poll.registry().register(rx, 1, Interest.READABLE);
      tx.write(Buffer.from('x'));
      class Big extends Events {
        override get capacity() {
          return 1 << 20;
        }
      }
      const big = new Big(1);
      poll.poll(big, 1000);
      assert.is(big.length, 1);
      assert.throws(
        () => poll.poll(new Proxy(new Events(1), {}), 0),
        (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE',
      );
      assert.throws(
        () => poll.poll(Object.create(Events.prototype), 0),
        (e: Error) => e instanceof TypeError,
      );
    } finally {
      tx.close();
      rx.close();
      poll.close();
    }
  }
});

test('nested and interleaved iterations are each complete and independent', () => {
  const poll = new Poll();
  const events = new Events(8);
  const chans = Array.from({ length: 4 }, () => channel());
  try {
    chans.forEach(([tx, rx], i) => {
      poll.registry().register(rx, 10 + i, Interest.READABLE);
      tx.write(Buffer.from('x'));
    });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50); // all four ready before the one poll
    poll.poll(events, 1000);
    assert.is(events.length, 4);
    const outer: number[] = [];
    const inner: number[][] = [];
    for (const e of events) {
      outer.push(e.token);
      inner.push([...events].map((x) => x.token));
    }
    assert.equal(outer.sort(), [10, 11, 12, 13], 'the outer loop saw every event');
    for (const i of inner) assert.equal(i.sort(), [10, 11, 12, 13], 'each inner loop saw every event');
    // Two iterators stepped alternately.
    const a = events[Symbol.iterator]();
    const b = events[Symbol.iterator]();
    assert.is.not(a, b);
    let n = 0;
    while (!a.next().done) {
      n++;
      assert.not.ok(b.next().done);
    }
    assert.is(n, 4);
    assert.ok(b.next().done);
  } finally {
    for (const [tx, rx] of chans) {
      tx.close();
      rx.close();
    }
    poll.close();
  }
});

test('length, isEmpty, get, iteration, clear', () => {
  const poll = new Poll();
  const events = new Events(8);
  const [tx, rx] = channel();
  try {
    assert.ok(events.isEmpty());
    assert.is(events.length, 0);
    assert.is(events.get(0), undefined);
    poll.registry().register(rx, 3, Interest.READABLE);
    poll.registry().register(tx, 4, Interest.WRITABLE);
    tx.write(Buffer.from('x'));
    const deadline = Date.now() + 1000;
    const seen = new Set<number>();
    while (seen.size < 2 && Date.now() < deadline) {
      poll.poll(events, 100);
      for (const e of events) seen.add(e.token);
      for (let i = 0; i < events.length; i++) assert.ok(events.get(i)!.token === 3 || events.get(i)!.token === 4);
      assert.is(events.get(events.length), undefined);
      assert.is(events.get(-1), undefined);
    }
    assert.equal([...seen].sort(), [3, 4]);
    events.clear();
    assert.ok(events.isEmpty());
    assert.equal([...events], []);
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('a poll returns at most capacity events; the rest come next', () => {
  const poll = new Poll();
  const events = new Events(2);
  const pipes = Array.from({ length: 5 }, () => channel());
  try {
    pipes.forEach(([, rx], i) => {
      poll.registry().register(rx, i, Interest.READABLE);
    });
    for (const [tx] of pipes) tx.write(Buffer.from('x'));
    const seen = new Set<number>();
    const deadline = Date.now() + 1000;
    while (seen.size < 5 && Date.now() < deadline) {
      poll.poll(events, 100);
      assert.ok(events.length <= 2);
      for (const e of events) seen.add(e.token);
    }
    assert.is(seen.size, 5);
  } finally {
    poll.close();
    for (const [tx, rx] of pipes) {
      tx.close();
      rx.close();
    }
  }
});

test('read-closed when the writer goes away; inspect shows the flags', () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = channel();
  try {
    poll.registry().register(rx, 9, Interest.READABLE);
    tx.close();
    expectEvents(poll, events, [{ token: 9, readClosed: true }]);
    assert.match(inspect(events.get(0)), /token: 9/);
    assert.match(inspect(events), /Events\(1\/4\)/);
    assert.is(events.get(0)!.isAio(), false);
    assert.is(events.get(0)!.isLio(), false);
  } finally {
    poll.close();
    rx.close();
  }
});

test('write-closed on a pipe whose reader is gone', () => {
  if (!unixOnly('write-closed on a pipe')) return;
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = channel();
  try {
    poll.registry().register(tx, 5, Interest.WRITABLE);
    rx.close();
    expectEvents(poll, events, [{ token: 5, writeClosed: true }]);
  } finally {
    poll.close();
    tx.close();
  }
});

test('iterating allocates one iterator for the Events, reused once the loop is over', () => {
  const events = new Events(2);
  const first = events[Symbol.iterator]();
  for (const _ of first) {
    /* empty */
  }
  const again = events[Symbol.iterator]();
  assert.is(again, first, 'a finished iteration hands its iterator to the next loop');
  again.return!(); // what for...of calls on break: the iteration is over
  for (const _ of events) {
    /* empty */
  }
  assert.is(events[Symbol.iterator](), first);
});

test.run();
