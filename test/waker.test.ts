import { getEnvironmentData, Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Poll, Waker, type WakerHandle } from '../src/index.js';
import { closeGuard, guardedWake, issueGuard, SLOTS } from '../src/sys/waker-guard.js';
import { assertCode, expectEvents, expectNoEvents } from './_util/events.js';

function worker(handle: WakerHandle, delayMs: number, times = 1): { w: Worker; result: Promise<string> } {
  const w = new Worker(new URL('./_util/wake-worker.mjs', import.meta.url), { workerData: { handle, delayMs, times } });
  const result = new Promise<string>((resolve, reject) => {
    let first = true;
    w.on('message', (m: string) => {
      if (first) {
        first = false;
        return;
      }
      resolve(m);
    });
    w.on('error', reject);
  });
  return { w, result };
}

test('wake delivers a readable event with the token', () => {
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 42);
  try {
    waker.wake();
    expectEvents(poll, events, [{ token: 42, readable: true }]);
  } finally {
    waker.close();
    poll.close();
  }
});

test('several wakes coalesce into at least one event, then quiet', () => {
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 1);
  try {
    for (let i = 0; i < 100; i++) waker.wake();
    poll.poll(events, 500);
    assert.ok(events.length >= 1);
    for (const e of events) assert.is(e.token, 1);
    expectNoEvents(poll, events);
    waker.wake();
    expectEvents(poll, events, [{ token: 1 }]);
  } finally {
    waker.close();
    poll.close();
  }
});

test('a worker wakes the Poll in the main thread (handle is structured-cloneable)', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 7);
  const { w, result } = worker(waker.handle, 20, 3);
  try {
    await poll.pollAsync(events, 5000);
    assert.is(events.get(0)!.token, 7);
    assert.is(await result, 'woke');
  } finally {
    await w.terminate();
    waker.close();
    poll.close();
  }
});

test('after close: wake throws EBADF here and in a worker; close twice is harmless', async () => {
  const poll = new Poll();
  const waker = new Waker(poll.registry(), 7);
  const handle = waker.handle;
  waker.close();
  waker.close();
  assert.ok(waker.closed);
  assertCode(() => waker.wake(), 'EBADF');
  const { w, result } = worker(handle, 0);
  try {
    assert.is(await result, 'EBADF');
  } finally {
    await w.terminate();
    poll.close();
  }
});

test('fromHandle rejects anything else; a copy closes without closing the owner', () => {
  for (const bad of [null, {}, { type: 'metal-io-waker' }, 5])
    assert.throws(
      () => Waker.fromHandle(bad as unknown as WakerHandle),
      (e: Error) => e instanceof TypeError,
    );
  const poll = new Poll();
  const events = new Events(2);
  const waker = new Waker(poll.registry(), 3);
  try {
    const copy = Waker.fromHandle(waker.handle);
    copy.wake();
    expectEvents(poll, events, [{ token: 3 }]);
    copy.close();
    assertCode(() => copy.wake(), 'EBADF');
    waker.wake();
    expectEvents(poll, events, [{ token: 3 }]);
  } finally {
    waker.close();
    poll.close();
  }
});

test('close does not hang on a wake that never finished (a worker terminated mid-wake); that slot is never reused', () => {
  // The process's waker table, as every thread of this process sees it (an internal: tests only).
  const table = new Int32Array(getEnvironmentData('metal-io:waker-table:v1') as SharedArrayBuffer);
  const h = { fd: 3, token: 9, ...issueGuard(3, 9) };
  Atomics.add(table, h.slot * 12 + 1, 1); // a waking thread counted itself in and died
  const t0 = Date.now();
  assert.is(closeGuard(h, 50), 'keep', 'the fd is kept open rather than risk a stray write');
  assert.ok(Date.now() - t0 < 1000);
  assert.is(closeGuard(h), 'closed');
  let wrote = false;
  assert.is(
    guardedWake(h, () => {
      wrote = true;
    }),
    false,
    'a closed slot refuses the wake',
  );
  assert.is(wrote, false);
  const clean = { fd: 3, token: 9, ...issueGuard(3, 9) };
  assert.is(closeGuard(clean), 'close');
  // Every free slot can be taken (until ENFILE) and given back; the stuck one stays out.
  const taken: { slot: number; nonce: number }[] = [];
  try {
    for (;;) {
      try {
        taken.push(issueGuard(4, 1));
      } catch (e) {
        assert.is((e as { code?: string }).code, 'ENFILE');
        break;
      }
      assert.ok(taken.length <= SLOTS, 'the table is bounded');
    }
    assert.ok(taken.length > SLOTS / 2, `${taken.length} slots were free`);
    assert.ok(
      taken.every((g) => g.slot !== h.slot),
      'the slot a dead wake holds is never issued again',
    );
  } finally {
    for (const g of taken) closeGuard({ fd: 4, token: 1, ...g });
  }
});

test("a hand-made handle, or an edited fd, token or nonce, is refused before anything is written; a closed Waker's handle wakes nothing", () => {
  const poll = new Poll();
  const events = new Events(4);
  const waker = new Waker(poll.registry(), 5);
  const h = waker.handle;
  try {
    const code = (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE';
    // Every slot with a made-up nonce: none is accepted (the real one is 53 random bits).
    for (let slot = 0; slot < SLOTS; slot += 97) assert.throws(() => Waker.fromHandle({ ...h, slot, nonce: 12345 } as never), code);
    assert.throws(() => Waker.fromHandle({ ...h, nonce: h.nonce === 1 ? 2 : h.nonce - 1 } as never), code, 'a neighbouring nonce');
    assert.throws(() => Waker.fromHandle({ ...h, token: h.token + 1 } as never), code, 'an edited token');
    assert.throws(() => Waker.fromHandle({ ...h, fd: h.fd + 1 } as never), code, 'an edited fd');
    poll.poll(events, 0);
    assert.ok(events.isEmpty(), 'nothing woke the Poll');
    const copy = Waker.fromHandle(structuredClone(h));
    waker.close();
    assert.ok(copy.closed);
    assertCode(() => copy.wake(), 'EBADF');
    // A new Waker (likely on the same fd number): the old handle still wakes nothing.
    const next = new Waker(poll.registry(), 6);
    try {
      assertCode(() => Waker.fromHandle(structuredClone(h)).wake(), 'EBADF');
      poll.poll(events, 0);
      assert.ok(events.isEmpty(), 'the old handle did not wake the new Waker');
      next.wake();
      poll.poll(events, 1000);
      assert.equal(
        [...events].map((e) => e.token),
        [6],
      );
    } finally {
      next.close();
    }
  } finally {
    waker.close();
    poll.close();
  }
});

test('bad arguments', () => {
  const poll = new Poll();
  try {
    assert.throws(
      () => new Waker({} as never, 1),
      (e: Error) => e instanceof TypeError,
    );
    assert.throws(
      () => new Waker(poll.registry(), -1),
      (e: Error) => e instanceof RangeError,
    );
  } finally {
    poll.close();
  }
});

test('fromHandle checks every field before anything is written', () => {
  const poll = new Poll();
  const waker = new Waker(poll.registry(), 5);
  const h = waker.handle;
  try {
    const bad: [string, unknown][] = [
      ['fd NaN', { ...h, fd: NaN }],
      ['fd 0.5', { ...h, fd: 0.5 }],
      ['fd past the range', { ...h, fd: h.kind === 'iocp' ? 2 ** 53 : 2 ** 40 }],
      ['fd -1', { ...h, fd: -1 }],
      ['fd string', { ...h, fd: '3' }],
      ['type', { ...h, type: 'other' }],
      ['kind', { ...h, kind: 'bogus' }],
      ['backend', { ...h, backend: 'select' }],
      ['target', { ...h, target: 'plan9-x64' }],
      ['token', { ...h, token: -1 }],
      ['slot -1', { ...h, slot: -1 }],
      ['slot past the table', { ...h, slot: SLOTS }],
      ['slot string', { ...h, slot: String(h.slot) }],
      ['nonce 0', { ...h, nonce: 0 }],
      ['nonce 0.5', { ...h, nonce: 0.5 }],
      ['no nonce', { ...h, nonce: undefined }],
      ['null', null],
      ['string', 'handle'],
      ['Proxy', new Proxy({ ...h }, {})],
      [
        'getter',
        Object.defineProperty({ ...h }, 'fd', {
          get() {
            throw new Error('boom');
          },
        }),
      ],
    ];
    for (const [what, v] of bad) {
      assert.throws(
        () => Waker.fromHandle(v as never),
        (e: { code?: string }) => (e instanceof TypeError || e instanceof RangeError) && /^ERR_/.test(e.code ?? ''),
        what,
      );
    }
    const copy = Waker.fromHandle(structuredClone(h));
    copy.wake();
    expectEvents(poll, new Events(2), [{ token: 5, readable: true }]);
  } finally {
    waker.close();
    poll.close();
  }
});

test.run();
