import { readlinkSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Waker } from '../src/index.js';
import { reaped } from '../src/orphans.js';
import { assertCode, backend, channel, expectEvents, expectNoEvents, isCloexec, leakedSince, openFds, unixOnly } from './_util/events.js';

const ms = (t0: number) => performance.now() - t0;

test('reports its backend', () => {
  const poll = new Poll();
  try {
    assert.is(poll.backend, backend);
  } finally {
    poll.close();
  }
});

test('timeout 0 returns at once; a timeout is waited out', () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    let t0 = performance.now();
    poll.poll(events, 0);
    assert.ok(ms(t0) < 50);
    assert.is(events.length, 0);
    t0 = performance.now();
    poll.poll(events, 40);
    const took = ms(t0);
    assert.ok(took >= 39 && took < 1000, `took ${took}`);
  } finally {
    poll.close();
  }
});

test('fractional milliseconds are honoured (never shorter than asked)', () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    const t0 = performance.now();
    poll.poll(events, 2.5);
    const took = ms(t0);
    assert.ok(took >= 2.4 && took < 500, `took ${took}`);
  } finally {
    poll.close();
  }
});

test('null and undefined wait until an event (a worker wakes it)', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 1);
  // 150 ms: the 'ready' message can reach a loaded main thread tens of ms late, and the poll must
  // still start before the wake for the wait to be measured.
  const worker = new Worker(new URL('./_util/wake-worker.mjs', import.meta.url), { workerData: { handle: waker.handle, delayMs: 150 } });
  const messages: string[] = [];
  const woke = new Promise<void>((r) =>
    worker.on('message', (m: string) => {
      messages.push(m);
      if (messages.length === 2) r();
    }),
  );
  try {
    await new Promise<void>((r) => {
      const check = () => (messages.length ? r() : setTimeout(check, 1));
      check();
    }); // up, about to sleep 150 ms
    const t0 = performance.now();
    poll.poll(events, null);
    assert.ok(ms(t0) >= 20, 'blocked until the wake');
    assert.is(events.get(0)!.token, 1);
    await woke;
    assert.is(messages[1], 'woke');
  } finally {
    await worker.terminate();
    waker.close();
    poll.close();
  }
});

test('timeouts past what the OS call takes wait until an event, never return at once', async () => {
  for (const t of [2 ** 31, 2 ** 32, 2 ** 32 + 5, Number.MAX_VALUE]) {
    const poll = new Poll();
    const events = new Events(4);
    const waker = new Waker(poll.registry(), 7);
    const worker = new Worker(new URL('./_util/wake-worker.mjs', import.meta.url), { workerData: { handle: waker.handle, delayMs: 60 } });
    try {
      await new Promise<void>((r) => worker.once('message', () => r())); // up, about to sleep 60 ms
      const t0 = performance.now();
      poll.poll(events, t);
      assert.ok(ms(t0) >= 40, `poll(events, ${t}) waited for the wake (${ms(t0).toFixed(1)} ms)`);
      assert.is(events.get(0)?.token, 7);
    } finally {
      await worker.terminate();
      waker.close();
      poll.close();
    }
  }
});

test('pollAsync with a huge timeout hands Node no timer it cannot hold', async () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 3);
  try {
    for (const t of [2 ** 31, 2 ** 32, 1e300]) {
      const timer = setTimeout(() => waker.wake(), 60);
      const t0 = performance.now();
      await poll.pollAsync(events, t);
      clearTimeout(timer);
      assert.ok(ms(t0) >= 40, `pollAsync(events, ${t}) waited for the wake (${ms(t0).toFixed(1)} ms)`);
      assert.is(events.get(0)?.token, 3);
    }
    await new Promise((r) => setImmediate(r));
    assert.equal(
      warnings.filter((w) => w === 'TimeoutOverflowWarning'),
      [],
    );
  } finally {
    process.off('warning', onWarning);
    waker.close();
    poll.close();
  }
});

test('a signal does not cut a wait short; its handler runs when the loop turns', async () => {
  if (!unixOnly('a signal during the wait (no POSIX signals)')) return;
  const poll = new Poll();
  const events = new Events(4);
  let got = 0;
  const onSig = () => {
    got++;
  };
  process.on('SIGUSR2', onSig);
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads'); const sab = new Int32Array(new SharedArrayBuffer(4)); Atomics.wait(sab, 0, 0, 40); process.kill(workerData.pid, 'SIGUSR2');`,
    { eval: true, workerData: { pid: process.pid } },
  );
  try {
    const t0 = performance.now();
    poll.poll(events, 300);
    const took = ms(t0);
    assert.ok(took >= 295, `the whole 300 ms were waited (${took.toFixed(1)} ms)`);
    assert.is(events.length, 0);
    assert.is(got, 0, 'no JavaScript ran during the blocking wait');
    for (let i = 0; i < 100 && got === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.is(got, 1, 'the signal handler ran once the loop turned');
  } finally {
    process.off('SIGUSR2', onSig);
    await worker.terminate();
    poll.close();
  }
});

test('bad arguments throw TypeError or RangeError before any syscall', () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    assert.throws(
      () => poll.poll({} as Events, 0),
      (e: Error) => e instanceof TypeError,
    );
    assert.throws(
      () => poll.poll(events, -1),
      (e: Error) => e instanceof RangeError,
    );
    assert.throws(
      () => poll.poll(events, NaN),
      (e: Error) => e instanceof RangeError,
    );
    assert.throws(
      () => poll.poll(events, '5' as unknown as number),
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    poll.close();
  }
});

test('closed: EBADF on use, closing twice is harmless, dispose closes', () => {
  const poll = new Poll();
  const events = new Events(4);
  const reg = poll.registry();
  poll.close();
  poll.close();
  const err = assertCode(() => poll.poll(events, 0), 'EBADF');
  assert.match(err.message, /closed/);
  const [tx, rx] = channel();
  try {
    assertCode(() => reg.register(rx, 1, Interest.READABLE), 'EBADF');
    assertCode(() => new Waker(reg, 1), 'EBADF');
    assertCode(() => reg.tryClone(), 'EBADF');
  } finally {
    tx.close();
    rx.close();
  }
  const p2 = new Poll();
  p2[Symbol.dispose]();
  assertCode(() => p2.poll(events, 0), 'EBADF');
});

test('every fd the event queue creates is close-on-exec', async () => {
  const before = openFds();
  if (!before) {
    console.log('  SKIP close-on-exec check: no /proc/self/fd here');
    return;
  }
  const poll = new Poll();
  const waker = new Waker(poll.registry(), 1);
  const [tx, rx] = channel();
  try {
    const created = [...openFds()!].filter((fd) => !before.has(fd));
    assert.ok(created.length >= 3, `created ${created.length} fds`);
    for (const fd of created)
      if (fd !== -1) {
        try {
          assert.ok(isCloexec(fd), `fd ${fd} is close-on-exec`);
        } catch (e) {
          if (!/EBADF/.test(String(e))) throw e;
        }
      }
  } finally {
    waker.close();
    poll.close();
    tx.close();
    rx.close();
  }
  const leaked = await leakedSince(before);
  assert.ok(leaked.length <= 1, `nothing leaked (one fd may be the /proc listing itself): ${leaked}`);
});

test('pollAsync: resolves with events while Node keeps running timers', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = channel();
  // The event comes from the third tick of a timer, so it can arrive only if Node's loop kept
  // turning while pollAsync waited (no wall-clock bound: under qemu a 5 ms timer is slow).
  let ticks = 0;
  const iv = setInterval(() => {
    if (++ticks === 3) tx.write(Buffer.from('x'));
  }, 5);
  try {
    poll.registry().register(rx, 11, Interest.READABLE);
    const pending = poll.pollAsync(events, 5000);
    assert.is(ticks, 0, 'pollAsync returned before any timer ran');
    await pending;
    assert.is(events.length, 1, 'the event made by the third tick arrived: timers ran meanwhile');
    assert.ok(ticks >= 3, `timers ran meanwhile (${ticks})`);
    assert.is(events.get(0)!.token, 11);
    assert.ok(events.get(0)!.isReadable());
  } finally {
    clearInterval(iv);
    poll.close();
    tx.close();
    rx.close();
  }
});

test('pollAsync: a timeout resolves with no events; 0 returns at once', async () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    let t0 = performance.now();
    await poll.pollAsync(events, 30);
    assert.ok(ms(t0) >= 25 && ms(t0) < 1500, `took ${ms(t0)}`);
    assert.is(events.length, 0);
    t0 = performance.now();
    await poll.pollAsync(events, 0);
    assert.ok(ms(t0) < 100);
  } finally {
    poll.close();
  }
});

test('pollAsync: abort settles promptly and leaves the Poll usable', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = channel();
  try {
    poll.registry().register(rx, 2, Interest.READABLE);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const t0 = performance.now();
    await poll.pollAsync(events, 5000, ac.signal).then(
      () => assert.unreachable('should reject'),
      (e: Error) => assert.is(e.name, 'AbortError'),
    );
    assert.ok(ms(t0) < 1000, `settled in ${ms(t0)} ms`);
    await poll.pollAsync(events, 0, AbortSignal.abort()).then(
      () => assert.unreachable('pre-aborted'),
      (e: Error) => assert.is(e.name, 'AbortError'),
    );
    tx.write(Buffer.from('x'));
    expectEvents(poll, events, [{ token: 2, readable: true }]);
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('pollAsync: one at a time; poll() meanwhile is EBUSY; close rejects it with EBADF', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const other = new Events(4);
  const pending = poll.pollAsync(events, 5000);
  try {
    await poll.pollAsync(other, 10).then(
      () => assert.unreachable('second pollAsync'),
      (e: { code: string }) => assert.is(e.code, 'EBUSY'),
    );
    assertCode(() => poll.poll(other, 0), 'EBUSY');
  } finally {
    poll.close();
  }
  await pending.then(
    () => assert.unreachable('should reject'),
    (e: { code: string }) => assert.is(e.code, 'EBADF'),
  );
});

test('pollAsync: a source registered during the wait is seen', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const [tx, rx] = channel();
  try {
    const pending = poll.pollAsync(events, 3000);
    await new Promise((r) => setTimeout(r, 20));
    poll.registry().register(rx, 8, Interest.READABLE);
    tx.write(Buffer.from('y'));
    const t0 = performance.now();
    await pending;
    assert.ok(ms(t0) < 2000);
    assert.is(events.get(0)?.token, 8);
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('pollAsync: bad arguments reject', async () => {
  const poll = new Poll();
  try {
    await poll.pollAsync({} as Events).then(
      () => assert.unreachable(),
      (e: Error) => assert.instance(e, TypeError),
    );
    await poll.pollAsync(new Events(1), -5).then(
      () => assert.unreachable(),
      (e: Error) => assert.instance(e, RangeError),
    );
    await poll.pollAsync(new Events(1), 1, {} as AbortSignal).then(
      () => assert.unreachable(),
      (e: Error) => assert.instance(e, TypeError),
    );
  } finally {
    poll.close();
  }
});

test('no events after the Poll is idle', () => {
  const poll = new Poll();
  const events = new Events(4);
  try {
    expectNoEvents(poll, events);
  } finally {
    poll.close();
  }
});

// On a worker, pollAsync waits on a koffi thread in slices (a libuv watch of the selector fd there
// crashed the process at worker.terminate(): SIGSEGV in Node's teardown). A wake from another
// thread still arrives at once, and terminating the worker while it waits is prompt and harmless.
test('pollAsync on a worker: woken promptly from another thread; terminate() while it waits is prompt and the process lives', async () => {
  for (let round = 0; round < 3; round++) {
    const w = new Worker(new URL('./_util/hold-worker.mjs', import.meta.url), {
      workerData: { kinds: ['tcp', 'udp'], spin: false, wait: true },
    });
    try {
      const handle = await new Promise<unknown>((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      await new Promise((r) => setTimeout(r, 150)); // the worker is inside pollAsync, past a slice
      const woke = new Promise<void>((resolve) => w.once('message', () => resolve()));
      const t0 = performance.now();
      Waker.fromHandle(handle as never).wake();
      await Promise.race([
        woke,
        new Promise((_, reject) => setTimeout(() => reject(new Error('the worker was not woken within 2 s')), 2000)),
      ]);
      assert.ok(performance.now() - t0 < 1000, `woken after ${(performance.now() - t0).toFixed(0)} ms`);
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      const t1 = performance.now();
      await w.terminate();
      assert.ok(performance.now() - t1 < 2000, `terminate() took ${(performance.now() - t1).toFixed(0)} ms`);
    }
  }
  const poll = new Poll();
  const events = new Events(4);
  try {
    const waker = new Waker(poll.registry(), 7);
    waker.wake();
    expectEvents(poll, events, [{ token: 7, readable: true }]);
    waker.close();
  } finally {
    poll.close();
  }
});

// worker.terminate() runs no JavaScript, so the worker cannot close what it holds: the thread that
// started it closes the fds its objects owned (src/orphans.ts): sockets, the Poll, the Waker (after
// closing it in the waker table, so a handle posted elsewhere throws EBADF instead of writing into
// a reused fd number), the listener's spare fd. Nothing is left but, when the terminate lands inside
// the worker's own wake(), that Waker's fd.
test("a terminated worker's fds are closed by its parent: 75 sockets, its Poll and Waker in, at most a Waker fd left; its posted Waker handle throws EBADF", async () => {
  const before = openFds();
  if (!before) {
    console.log('  SKIP terminated worker fds: no /proc/self/fd here');
    return;
  }
  for (let round = 0; round < 2; round++) {
    const w = new Worker(new URL('./_util/hold-worker.mjs', import.meta.url), {
      workerData: { kinds: ['many', 'tcp', 'udp'], spin: round === 1, wait: round === 0 },
    });
    const msg = await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    const during = openFds()!.size - before.size;
    assert.ok(during >= 75, `the worker holds ${during} fds`);
    const copy = round === 0 ? Waker.fromHandle(msg as never) : null;
    copy?.wake();
    const exited = new Promise((r) => w.once('exit', r));
    await w.terminate();
    await exited;
    if (copy) {
      assert.ok(copy.closed, 'the posted handle reads as closed once the worker is gone');
      assert.throws(
        () => copy.wake(),
        (e: { code?: string }) => e.code === 'EBADF',
        'the posted handle wakes nothing',
      );
    }
  }
  // A worker that exits normally closes its objects itself: nothing is left for the parent to close.
  const closedBefore = reaped.closed;
  const w = new Worker(new URL('./_util/hold-worker.mjs', import.meta.url), { workerData: { kinds: ['many'], spin: false, exit: true } });
  await new Promise((resolve, reject) => {
    w.once('exit', resolve);
    w.once('error', reject);
  });
  assert.is(reaped.closed, closedBefore, 'a normal exit leaves no fd to the parent');
  await new Promise((r) => setTimeout(r, 50));
  // What may stay: a Waker's fd whose worker was terminated inside its own wake() (the spinning
  // round wakes all the time), kept open rather than risk a stray write (waker-guard.ts 'keep').
  const left = await leakedSince(before);
  const kinds = left.map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return 'gone';
    }
  });
  assert.ok(
    left.length <= 2 && kinds.every((k) => /eventfd|pipe|kqueue|gone/.test(k)),
    `at most one Waker fd per terminated worker left, nothing else: ${left.map((fd, i) => `${fd} ${kinds[i]}`).join(', ')}`,
  );
  assert.ok(reaped.closed >= 150, `the parent closed ${reaped.closed} fds of the terminated workers`);
  assert.is(reaped.failed, 0, 'no fd the parent closed was already closed');
});

test.run();
