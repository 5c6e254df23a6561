// Signals: POSIX signals as events of a Poll, with Node's own signal handling left working.
// (A server process stopped by SIGTERM, and the default action coming back: signals_process.test.ts.)

import { readdirSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Signals } from '../src/index.js';

const windows = process.platform === 'win32';
const unixOnly = (what: string): boolean => {
  if (!windows) return true;
  console.log(`  SKIP ${what}: POSIX signals, this is win32 (Signals is unsupported there: tested below)`);
  return false;
};
const busy = (ms: number) => {
  const t = Date.now();
  while (Date.now() - t < ms);
};
const fdCount = () => readdirSync('/proc/self/fd').length;
const tokens = (events: Events) => [...events].map((e) => e.token);

test('a signal that came while JavaScript was busy wakes the next poll, once, and pending() names it', () => {
  if (!unixOnly('signal wakes poll')) return;
  const poll = new Poll();
  const events = new Events(8);
  const signals = new Signals(['SIGUSR2', 'SIGHUP']);
  try {
    poll.registry().register(signals, 9, Interest.READABLE);
    poll.poll(events, 0);
    assert.ok(events.isEmpty(), 'nothing before a signal');
    process.kill(process.pid, 'SIGHUP');
    process.kill(process.pid, 'SIGUSR2');
    process.kill(process.pid, 'SIGHUP');
    busy(50); // not waiting when they come: they must not be lost
    const t0 = Date.now();
    poll.poll(events, 5000);
    assert.ok(Date.now() - t0 < 1000, `woken at once, took ${Date.now() - t0} ms`);
    assert.equal(tokens(events), [9]);
    assert.ok(events.get(0)!.isReadable());
    assert.equal(signals.pending(), ['SIGHUP', 'SIGUSR2'], 'each once, in the order first caught');
    assert.equal(signals.pending(), [], 'drained');
    poll.poll(events, 50);
    assert.ok(events.isEmpty(), 'no second event for the same signals');
    process.kill(process.pid, 'SIGUSR2');
    poll.poll(events, 5000);
    assert.equal(tokens(events), [9], 'the next signal wakes it again');
    assert.equal(signals.pending(), ['SIGUSR2']);
  } finally {
    signals.close();
    poll.close();
  }
});

test("process.on listeners still run when Node's loop turns, and two Signals both see a signal", async () => {
  if (!unixOnly('coexistence')) return;
  let heard = 0;
  const listener = () => {
    heard++;
  };
  process.on('SIGUSR2', listener);
  const poll = new Poll();
  const events = new Events(8);
  const a = new Signals(['SIGUSR2']);
  const b = new Signals([process.platform === 'linux' ? 12 : 31]); // SIGUSR2 by number
  try {
    assert.equal(b.signals, ['SIGUSR2']);
    poll.registry().register(a, 1, Interest.READABLE);
    poll.registry().register(b, 2, Interest.READABLE);
    process.kill(process.pid, 'SIGUSR2');
    const seen = new Set<number>();
    for (let i = 0; i < 5 && seen.size < 2; i++) {
      poll.poll(events, 2000);
      for (const t of tokens(events)) seen.add(t);
    }
    assert.equal([...seen].sort(), [1, 2]);
    assert.equal(a.pending(), ['SIGUSR2']);
    assert.equal(b.pending(), ['SIGUSR2']);
    await new Promise((r) => setTimeout(r, 20));
    assert.is(heard, 1, "Node's listener ran once");
  } finally {
    process.off('SIGUSR2', listener);
    a.close();
    b.close();
    poll.close();
  }
});

test('pollAsync is woken by a signal too', async () => {
  if (!unixOnly('pollAsync wake')) return;
  const poll = new Poll();
  const events = new Events(8);
  const signals = new Signals(['SIGUSR2']);
  try {
    poll.registry().register(signals, 3, Interest.READABLE);
    setTimeout(() => process.kill(process.pid, 'SIGUSR2'), 20);
    const t0 = Date.now();
    await poll.pollAsync(events, 5000);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.equal(tokens(events), [3]);
    assert.equal(signals.pending(), ['SIGUSR2']);
  } finally {
    signals.close();
    poll.close();
  }
});

test('close() releases every fd, deregisters, and leaves the object closed (closing twice is harmless)', () => {
  if (!unixOnly('close')) return;
  const poll = new Poll();
  new Signals(['SIGHUP']).close(); // warm up the bindings (koffi loads, the first libuv calls)
  const before = fdCount();
  for (let i = 0; i < 20; i++) {
    const s = new Signals(['SIGHUP', 'SIGUSR2']);
    poll.registry().register(s, 4, Interest.READABLE);
    s.close();
    s.close();
    assert.ok(s.closed);
    assert.throws(
      () => s.pending(),
      (e: NodeJS.ErrnoException) => e.code === 'EBADF',
    );
  }
  assert.is(fdCount(), before, 'no fd left behind');
  poll.close();
});

test('a Signals registered with one Poll is EEXIST for another; deregister, then register elsewhere', () => {
  if (!unixOnly('registration')) return;
  const p1 = new Poll();
  const p2 = new Poll();
  const events = new Events(4);
  const s = new Signals(['SIGUSR2']);
  try {
    p1.registry().register(s, 1, Interest.READABLE);
    assert.throws(
      () => p2.registry().register(s, 1, Interest.READABLE),
      (e: NodeJS.ErrnoException) => e.code === 'EEXIST',
    );
    p1.registry().deregister(s);
    p2.registry().register(s, 5, Interest.READABLE);
    process.kill(process.pid, 'SIGUSR2');
    p2.poll(events, 2000);
    assert.equal(tokens(events), [5]);
    p1.poll(events, 0);
    assert.ok(events.isEmpty());
    assert.equal(s.pending(), ['SIGUSR2']);
  } finally {
    s.close();
    p1.close();
    p2.close();
  }
});

test('bad arguments: Node codes; uncatchable signals: EINVAL from libuv, nothing left open', () => {
  if (windows) {
    assert.throws(
      () => new Signals(['SIGINT']),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_METAL_IO_UNSUPPORTED' && /Signals/.test(e.message),
    );
    return;
  }
  const code = (c: string) => (e: NodeJS.ErrnoException) => e.code === c;
  assert.throws(() => new Signals('SIGTERM' as never), code('ERR_INVALID_ARG_TYPE'));
  assert.throws(() => new Signals(null as never), code('ERR_INVALID_ARG_TYPE'));
  assert.throws(() => new Signals([]), code('ERR_INVALID_ARG_VALUE'));
  assert.throws(() => new Signals(['SIGNOPE' as never]), code('ERR_INVALID_ARG_VALUE'));
  assert.throws(() => new Signals(['sigterm' as never]), code('ERR_INVALID_ARG_VALUE'));
  assert.throws(() => new Signals([0]), code('ERR_INVALID_ARG_VALUE'));
  assert.throws(() => new Signals([1.5]), code('ERR_INVALID_ARG_VALUE'));
  assert.throws(() => new Signals([{} as never]), code('ERR_INVALID_ARG_TYPE'));
  const before = fdCount();
  assert.throws(
    () => new Signals(['SIGUSR2', 'SIGKILL']),
    (e: NodeJS.ErrnoException) => e.code === 'EINVAL' && e.syscall === 'uv_signal_start' && e.errno! < 0,
  );
  assert.throws(() => new Signals(['SIGSTOP']), code('EINVAL'));
  assert.is(fdCount(), before, 'the half-made set was closed');
});

test.run();
