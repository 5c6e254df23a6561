// Windows only (run under Wine by test/platform/wine.sh): Poll, Waker and pollAsync on the IOCP
// backend: timeouts, the waker, pollAsync.

import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Poll, Waker } from '../src/index.js';
import { platform } from '../src/sys/index.js';

const windows = platform.os === 'win32';
const skip = (what: string) => {
  console.log(`  SKIP ${what}: Windows-only (test/platform/wine.sh runs it under Wine), this is ${platform.name}`);
};
const ms = (t0: number) => performance.now() - t0;

test('iocp backend: timeouts', () => {
  if (!windows) return skip('IOCP timeouts');
  const poll = new Poll();
  const events = new Events(4);
  try {
    assert.is(poll.backend, 'iocp');
    let t0 = performance.now();
    poll.poll(events, 0);
    assert.ok(ms(t0) < 100);
    assert.is(events.length, 0);
    t0 = performance.now();
    poll.poll(events, 40);
    assert.ok(ms(t0) >= 30 && ms(t0) < 2000, `took ${ms(t0)}`);
    assert.is(events.length, 0);
  } finally {
    poll.close();
  }
});

test('waker: an event with the token; wakes coalesce; EBADF after close', () => {
  if (!windows) return skip('IOCP waker');
  const poll = new Poll();
  const events = new Events(8);
  const waker = new Waker(poll.registry(), 2 ** 40 + 3);
  try {
    waker.wake();
    poll.poll(events, 1000);
    assert.is(events.length, 1);
    assert.is(events.get(0)!.token, 2 ** 40 + 3);
    assert.ok(events.get(0)!.isReadable());
    for (let i = 0; i < 100; i++) waker.wake();
    poll.poll(events, 1000);
    assert.is(events.length, 1, 'coalesced');
    poll.poll(events, 30);
    assert.is(events.length, 0, 'then quiet');
    waker.close();
    waker.close();
    assert.throws(
      () => waker.wake(),
      (e: { code?: string }) => e.code === 'EBADF',
    );
  } finally {
    poll.close();
  }
});

test('pollAsync: a worker wakes it while Node keeps running timers', async () => {
  if (!windows) return skip('IOCP pollAsync');
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 5);
  const w = new Worker(new URL('./_util/wake-worker.mjs', import.meta.url), { workerData: { handle: waker.handle, delayMs: 60 } });
  const done = new Promise<string>((resolve, reject) => {
    let n = 0;
    w.on('message', (m: string) => {
      if (++n === 2) resolve(m);
    });
    w.on('error', reject);
  });
  let ticks = 0;
  const iv = setInterval(() => {
    ticks++;
  }, 5);
  try {
    const t0 = performance.now();
    await poll.pollAsync(events, 5000);
    assert.ok(ms(t0) >= 30, 'waited for the worker');
    assert.ok(ticks >= 3, `timers ran meanwhile (${ticks})`);
    assert.is(events.get(0)!.token, 5);
    assert.is(await done, 'woke');
  } finally {
    clearInterval(iv);
    await w.terminate();
    waker.close();
    poll.close();
  }
});

test('pollAsync: timeout resolves empty; abort rejects promptly; close rejects EBADF', async () => {
  if (!windows) return skip('IOCP pollAsync settle');
  const poll = new Poll();
  const events = new Events(4);
  try {
    let t0 = performance.now();
    await poll.pollAsync(events, 30);
    assert.is(events.length, 0);
    assert.ok(ms(t0) >= 20 && ms(t0) < 3000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    t0 = performance.now();
    await poll.pollAsync(events, 10000, ac.signal).then(
      () => assert.unreachable(),
      (e: Error) => assert.is(e.name, 'AbortError'),
    );
    assert.ok(ms(t0) < 3000, `settled in ${ms(t0)} ms`);
    const waker = new Waker(poll.registry(), 1);
    waker.wake();
    await poll.pollAsync(events, 1000);
    assert.is(events.get(0)?.token, 1, 'still usable after abort');
    waker.close();
  } finally {
    poll.close();
  }
  const p2 = new Poll();
  const pending = p2.pollAsync(new Events(1), 10000);
  await new Promise((r) => setTimeout(r, 20));
  p2.close();
  await pending.then(
    () => assert.unreachable(),
    (e: { code?: string }) => assert.is(e.code, 'EBADF'),
  );
});

test.run();
