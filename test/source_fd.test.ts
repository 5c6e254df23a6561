// SourceFd and pipes: edge-triggered readiness, as mio gives it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import sys, { constants as C } from '../src/sys/index.js';
import { pipe, SourceFd } from '../src/unix.js';
import { backend, expectEvents, expectNoEvents, isCloexec, leakedSince, openFds, sourceFdIsLevel } from './_util/events.js';

test('owned sources are edge-triggered: a new event only after would-block', () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = pipe();
  try {
    poll.registry().register(rx, 1, Interest.READABLE);
    tx.write(Buffer.from('abcdef'));
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    expectNoEvents(poll, events); // not drained, but no new edge
    const buf = Buffer.alloc(2);
    assert.is(rx.read(buf), 2); // partial read: still no new event
    expectNoEvents(poll, events);
    while (rx.read(buf) !== null) {
      /* drain to would-block */
    }
    expectNoEvents(poll, events);
    tx.write(Buffer.from('x')); // new data after would-block: new event
    expectEvents(poll, events, [{ token: 1, readable: true }]);
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('writable edge: reported once, again after the pipe filled and drained', () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = pipe();
  try {
    poll.registry().register(tx, 2, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 2, writable: true }]);
    expectNoEvents(poll, events);
    const chunk = Buffer.alloc(65536);
    while (tx.write(chunk) !== null) {
      /* fill */
    }
    expectNoEvents(poll, events);
    const sink = Buffer.alloc(65536);
    while (rx.read(sink) !== null) {
      /* drain */
    }
    expectEvents(poll, events, [{ token: 2, writable: true }]);
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test(`SourceFd on any fd (${sourceFdIsLevel ? 'level-triggered on poll(2)' : 'edge-triggered'})`, () => {
  const poll = new Poll();
  const events = new Events(4);
  const fds = new Int32Array(2);
  assert.is(sys.pipe!(fds), 0);
  try {
    poll.registry().register(new SourceFd(fds[0]!), 9, Interest.READABLE);
    const one = Buffer.from('z');
    sys.write!(fds[1]!, one, 1);
    expectEvents(poll, events, [{ token: 9, readable: true }]);
    poll.poll(events, 30);
    if (sourceFdIsLevel) assert.is(events.length, 1, 'poll(2): readiness repeats until read');
    else assert.is(events.length, 0, `${backend}: one edge`);
  } finally {
    poll.close();
    sys.close!(fds[0]!);
    sys.close!(fds[1]!);
  }
});

test('pipe ends: read 0 at end of stream, null on would-block, close-on-exec, setNonblocking', () => {
  const before = openFds();
  const [tx, rx] = pipe();
  const buf = Buffer.alloc(8);
  assert.is(rx.read(buf), null);
  assert.is(tx.write(Buffer.from('hey')), 3);
  assert.is(rx.read(buf), 3);
  assert.is(buf.subarray(0, 3).toString(), 'hey');
  assert.is(rx.read(buf, 0, 0), 0, 'asking for 0 bytes reads 0');
  assert.throws(
    () => rx.read(new Uint8Array(0)),
    (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
    'no room: 0 would read as end of stream',
  );
  if (before) {
    assert.ok(isCloexec(tx.fd) && isCloexec(rx.fd));
  }
  const nonblocking = () => (sys.fcntl!(rx.fd, C.F_GETFL!, 'int', 0) & C.O_NONBLOCK!) !== 0;
  assert.ok(nonblocking());
  rx.setNonblocking(false);
  assert.not.ok(nonblocking());
  rx.setNonblocking(true);
  assert.ok(nonblocking());
  assert.throws(
    () => rx.read('x' as unknown as Uint8Array),
    (e: Error) => e instanceof TypeError,
  );
  tx.close();
  assert.is(rx.read(buf), 0);
  rx.close();
  rx.close();
  assert.throws(
    () => rx.read(buf),
    (e: { code?: string }) => e.code === 'EBADF',
  );
});

test('1000 pipe open/close cycles leak no fd', async () => {
  const before = openFds();
  if (!before) {
    console.log('  SKIP fd leak check: no /proc/self/fd here');
    return;
  }
  const poll = new Poll();
  try {
    for (let i = 0; i < 1000; i++) {
      const [tx, rx] = pipe();
      poll.registry().register(rx, i, Interest.READABLE);
      tx.close();
      rx.close();
    }
  } finally {
    poll.close();
  }
  const leaked = await leakedSince(before);
  assert.ok(leaked.length <= 1, `leaked ${leaked.length}`);
});

test.run();
