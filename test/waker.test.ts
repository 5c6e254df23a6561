import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Worker } from 'node:worker_threads';
import { Poll, Events, Waker, type WakerHandle } from '../src/index.js';
import { expectEvents, expectNoEvents, assertCode } from './_util/events.js';
import { newGuard, closeGuard } from '../src/sys/waker-guard.js';

function worker(handle: WakerHandle, delayMs: number, times = 1): { w: Worker; result: Promise<string> } {
  const w = new Worker(new URL('./_util/wake-worker.mjs', import.meta.url), { workerData: { handle, delayMs, times } });
  const result = new Promise<string>((resolve, reject) => {
    let first = true;
    w.on('message', (m: string) => { if (first) { first = false; return; } resolve(m); });
    w.on('error', reject);
  });
  return { w, result };
}

test('wake delivers a readable event with the token', () => {
  const poll = new Poll(); const events = new Events(4);
  const waker = new Waker(poll.registry(), 42);
  try {
    waker.wake();
    expectEvents(poll, events, [{ token: 42, readable: true }]);
  } finally { waker.close(); poll.close(); }
});

test('several wakes coalesce into at least one event, then quiet', () => {
  const poll = new Poll(); const events = new Events(4);
  const waker = new Waker(poll.registry(), 1);
  try {
    for (let i = 0; i < 100; i++) waker.wake();
    poll.poll(events, 500);
    assert.ok(events.length >= 1);
    for (const e of events) assert.is(e.token, 1);
    expectNoEvents(poll, events);
    waker.wake();
    expectEvents(poll, events, [{ token: 1 }]);
  } finally { waker.close(); poll.close(); }
});

test('a worker wakes the Poll in the main thread (handle is structured-cloneable)', async () => {
  const poll = new Poll(); const events = new Events(4);
  const waker = new Waker(poll.registry(), 7);
  const { w, result } = worker(waker.handle, 20, 3);
  try {
    await poll.pollAsync(events, 5000);
    assert.is(events.get(0)!.token, 7);
    assert.is(await result, 'woke');
  } finally { await w.terminate(); waker.close(); poll.close(); }
});

test('after close: wake throws EBADF here and in a worker; close twice is harmless', async () => {
  const poll = new Poll();
  const waker = new Waker(poll.registry(), 7);
  const handle = waker.handle;
  waker.close(); waker.close();
  assert.ok(waker.closed);
  assertCode(() => waker.wake(), 'EBADF');
  const { w, result } = worker(handle, 0);
  try { assert.is(await result, 'EBADF'); } finally { await w.terminate(); poll.close(); }
});

test('fromHandle rejects anything else; a copy closes without closing the owner', () => {
  for (const bad of [null, {}, { type: 'metal-io-waker' }, 5]) assert.throws(() => Waker.fromHandle(bad as unknown as WakerHandle), (e: Error) => e instanceof TypeError);
  const poll = new Poll(); const events = new Events(2);
  const waker = new Waker(poll.registry(), 3);
  try {
    const copy = Waker.fromHandle(waker.handle);
    copy.wake();
    expectEvents(poll, events, [{ token: 3 }]);
    copy.close();
    assertCode(() => copy.wake(), 'EBADF');
    waker.wake();
    expectEvents(poll, events, [{ token: 3 }]);
  } finally { waker.close(); poll.close(); }
});

test('close does not hang on a wake that never finished (a worker terminated mid-wake)', () => {
  const state = newGuard(3);
  new Int32Array(state)[1] = 1; // a waking thread counted itself in and died
  const t0 = Date.now();
  assert.is(closeGuard(state, 50), 'keep', 'the fd is kept open rather than risk a stray write');
  assert.ok(Date.now() - t0 < 1000);
  assert.is(closeGuard(state), 'closed');
  const clean = newGuard(3);
  assert.is(closeGuard(clean), 'close');
});

test('bad arguments', () => {
  const poll = new Poll();
  try {
    assert.throws(() => new Waker({} as never, 1), (e: Error) => e instanceof TypeError);
    assert.throws(() => new Waker(poll.registry(), -1), (e: Error) => e instanceof RangeError);
  } finally { poll.close(); }
});

test('fromHandle checks every field before anything is written', () => {
  const poll = new Poll();
  const waker = new Waker(poll.registry(), 5);
  const h = waker.handle;
  try {
    const bad: [string, unknown][] = [
      ['fd NaN', { ...h, fd: NaN }], ['fd 0.5', { ...h, fd: 0.5 }], ['fd past the range', { ...h, fd: h.kind === 'iocp' ? 2 ** 53 : 2 ** 40 }], ['fd -1', { ...h, fd: -1 }], ['fd string', { ...h, fd: '3' }],
      ['type', { ...h, type: 'other' }], ['kind', { ...h, kind: 'bogus' }], ['backend', { ...h, backend: 'select' }],
      ['target', { ...h, target: 'plan9-x64' }], ['token', { ...h, token: -1 }], ['state', { ...h, state: new ArrayBuffer(8) }],
      ['small state', { ...h, state: new SharedArrayBuffer(4) }], ['null', null], ['string', 'handle'],
      ['Proxy', new Proxy({ ...h }, {})], ['getter', Object.defineProperty({ ...h }, 'fd', { get() { throw new Error('boom'); } })],
    ];
    for (const [what, v] of bad) {
      assert.throws(() => Waker.fromHandle(v as never), (e: { code?: string }) => (e instanceof TypeError || e instanceof RangeError) && /^ERR_/.test(e.code ?? ''), what);
    }
    const copy = Waker.fromHandle(structuredClone(h));
    copy.wake();
    expectEvents(poll, new Events(2), [{ token: 5, readable: true }]);
  } finally { waker.close(); poll.close(); }
});

test.run();
