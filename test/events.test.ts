import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inspect } from 'node:util';
import { Poll, Events, Interest } from '../src/index.js';
import { expectEvents, channel, unixOnly } from './_util/events.js';

test('capacity is validated', () => {
  assert.throws(() => new Events(0), (e: Error) => e instanceof RangeError);
  assert.throws(() => new Events(1.5), (e: Error) => e instanceof RangeError);
  assert.throws(() => new Events('8' as unknown as number), (e: Error) => e instanceof TypeError);
  assert.is(Events.withCapacity(16).capacity, 16);
});

test('length, isEmpty, get, iteration, clear', () => {
  const poll = new Poll(); const events = new Events(8);
  const [tx, rx] = channel();
  try {
    assert.ok(events.isEmpty()); assert.is(events.length, 0); assert.is(events.get(0), undefined);
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
  } finally { poll.close(); tx.close(); rx.close(); }
});

test('a poll returns at most capacity events; the rest come next', () => {
  const poll = new Poll(); const events = new Events(2);
  const pipes = Array.from({ length: 5 }, () => channel());
  try {
    pipes.forEach(([, rx], i) => poll.registry().register(rx, i, Interest.READABLE));
    for (const [tx] of pipes) tx.write(Buffer.from('x'));
    const seen = new Set<number>();
    const deadline = Date.now() + 1000;
    while (seen.size < 5 && Date.now() < deadline) {
      poll.poll(events, 100);
      assert.ok(events.length <= 2);
      for (const e of events) seen.add(e.token);
    }
    assert.is(seen.size, 5);
  } finally { poll.close(); for (const [tx, rx] of pipes) { tx.close(); rx.close(); } }
});

test('read-closed when the writer goes away; inspect shows the flags', () => {
  const poll = new Poll(); const events = new Events(4);
  const [tx, rx] = channel();
  try {
    poll.registry().register(rx, 9, Interest.READABLE);
    tx.close();
    expectEvents(poll, events, [{ token: 9, readClosed: true }]);
    assert.match(inspect(events.get(0)), /token: 9/);
    assert.match(inspect(events), /Events\(1\/4\)/);
    assert.is(events.get(0)!.isAio(), false);
    assert.is(events.get(0)!.isLio(), false);
  } finally { poll.close(); rx.close(); }
});

test('write-closed and error on a pipe whose reader is gone', () => {
  if (!unixOnly('write-closed on a pipe')) return;
  const poll = new Poll(); const events = new Events(4);
  const [tx, rx] = channel();
  try {
    poll.registry().register(tx, 5, Interest.WRITABLE);
    rx.close();
    expectEvents(poll, events, [{ token: 5, writeClosed: true }]);
  } finally { poll.close(); tx.close(); }
});

test('iterating allocates one iterator for the Events, reused', () => {
  const events = new Events(2);
  assert.is(events[Symbol.iterator](), events[Symbol.iterator]());
});

test.run();
