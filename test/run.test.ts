// poll.run(onEvents, options): the callback form of pollAsync. Events come while Node's loop keeps
// turning; stop(), an AbortSignal and close() end it; errors go to onError, or become an uncaught
// exception with the runner stopped; it keeps the process alive unless unref()'d.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { assertCode, channel } from './_util/events.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const native = import.meta.url.endsWith('.ts');
const until = async (cond: () => boolean, what: string, ms = 5000) => {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
};

test('run: hands over events while Node runs timers; a drained source is not reported again; stop() ends it and stopped settles', async () => {
  const poll = new Poll();
  const events = new Events(8);
  const [tx, rx] = channel();
  const buf = Buffer.alloc(64);
  const seen: number[] = [];
  let ticks = 0;
  const iv = setInterval(() => {
    if (++ticks === 3) tx.write(Buffer.from('x'));
  }, 5);
  try {
    poll.registry().register(rx, 7, Interest.READABLE);
    const runner = poll.run(
      (evs) => {
        assert.is(evs, events, 'the Events given in options');
        for (const ev of evs) {
          seen.push(ev.token);
          while (rx.read(buf) !== null);
        }
      },
      { events },
    );
    assert.ok(runner.running);
    assert.equal(seen, [], 'nothing handed over before Node turns');
    await until(() => seen.length > 0, 'the first event');
    assert.ok(ticks >= 3, 'timers ran while it waited');
    assert.equal(seen, [7]);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(seen, [7], 'a drained source gives no second event');
    tx.write(Buffer.from('y'));
    await until(() => seen.length > 1, 'the second event');
    runner.stop();
    assert.not.ok(runner.running);
    runner.stop(); // harmless
    tx.write(Buffer.from('z'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(seen, [7, 7], 'no call after stop()');
    // The Poll is free again once `stopped` settles.
    await runner.stopped;
    poll.poll(events, 1000);
    assert.is(events.length, 1);
  } finally {
    clearInterval(iv);
    poll.close();
    tx.close();
    rx.close();
  }
});

test('run: poll() and pollAsync() meanwhile are EBUSY, so is a second run; close() stops it', async () => {
  const poll = new Poll();
  const events = new Events(4);
  const runner = poll.run(() => {});
  try {
    assertCode(() => poll.poll(events, 0), 'EBUSY');
    await poll.pollAsync(events, 0).then(
      () => assert.unreachable('pollAsync during run'),
      (e: NodeJS.ErrnoException) => assert.is(e.code, 'EBUSY'),
    );
    assertCode(() => poll.run(() => {}), 'EBUSY');
    poll.close();
    assert.not.ok(runner.running, 'close() stops the runner');
    await runner.stopped;
    assertCode(() => poll.run(() => {}), 'EBADF');
  } finally {
    poll.close();
  }
});

test('run: an AbortSignal stops it; an aborted one never starts it', async () => {
  const poll = new Poll();
  const [tx, rx] = channel();
  let calls = 0;
  try {
    poll.registry().register(rx, 1, Interest.READABLE);
    const dead = AbortSignal.abort();
    tx.write(Buffer.from('x'));
    const r0 = poll.run(() => calls++, { signal: dead });
    assert.not.ok(r0.running, 'an aborted signal: not started');
    await r0.stopped;
    await new Promise((r) => setTimeout(r, 30));
    assert.is(calls, 0);
    const ac = new AbortController();
    const r1 = poll.run(
      () => {
        calls++;
        ac.abort();
      },
      { signal: ac.signal },
    );
    await until(() => calls > 0, 'the event');
    assert.not.ok(r1.running, 'stopped by the abort inside onEvents');
    await new Promise((r) => setTimeout(r, 30));
    assert.is(calls, 1, 'not called again although the source is still readable');
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('run: onEvents errors go to onError and it keeps running; without onError it stops and the error is uncaught', async () => {
  const poll = new Poll();
  const [tx, rx] = channel();
  const buf = Buffer.alloc(16);
  const errors: unknown[] = [];
  try {
    poll.registry().register(rx, 1, Interest.READABLE);
    const boom = new Error('boom');
    let calls = 0;
    const r = poll.run(
      () => {
        calls++;
        while (rx.read(buf) !== null);
        throw boom;
      },
      { onError: (e) => errors.push(e) },
    );
    tx.write(Buffer.from('a'));
    await until(() => calls === 1, 'the first call');
    tx.write(Buffer.from('b'));
    await until(() => calls === 2, 'a call after the error');
    assert.equal(errors, [boom, boom]);
    assert.ok(r.running);
    r.stop();
    await r.stopped;

    const uncaught: unknown[] = [];
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', (e) => uncaught.push(e));
    try {
      const r2 = poll.run(() => {
        while (rx.read(buf) !== null);
        throw boom;
      });
      tx.write(Buffer.from('c'));
      await until(() => uncaught.length > 0, 'the uncaught exception');
      assert.is(uncaught[0], boom);
      assert.not.ok(r2.running, 'stopped');
    } finally {
      process.removeAllListeners('uncaughtException');
      for (const l of listeners) process.on('uncaughtException', l);
    }
  } finally {
    poll.close();
    tx.close();
    rx.close();
  }
});

test('run: bad arguments throw TypeError with a code before anything starts', () => {
  const poll = new Poll();
  const argCode = (f: () => unknown, code: string) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, TypeError);
      assert.is((e as { code?: string }).code, code, (e as Error).message);
      return;
    }
    assert.unreachable(`expected ${code}`);
  };
  try {
    argCode(() => poll.run(42 as never), 'ERR_INVALID_ARG_TYPE');
    argCode(() => poll.run(() => {}, 'x' as never), 'ERR_INVALID_ARG_TYPE');
    argCode(() => poll.run(() => {}, { events: {} as never }), 'ERR_INVALID_ARG_TYPE');
    argCode(() => poll.run(() => {}, { signal: {} as never }), 'ERR_INVALID_ARG_TYPE');
    argCode(() => poll.run(() => {}, { onError: 1 as never }), 'ERR_INVALID_ARG_TYPE');
    // Nothing started: a blocking poll still works.
    poll.poll(new Events(1), 0);
  } finally {
    poll.close();
  }
});

test('run: it keeps the process alive until stopped; unref() lets the process exit', () => {
  if (!native) {
    console.log(`  SKIP run and the process's life: starts a TypeScript child, runs natively only [${process.platform}-${process.arch}]`);
    return;
  }
  const index = JSON.stringify(new URL('../src/index.ts', import.meta.url).href);
  const script = (body: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { Poll } from ${index};\n${body}`], {
      cwd: root,
      encoding: 'utf8',
      timeout: 30000,
    });
  const held = script(`const r = new Poll().run(() => {}); const t0 = Date.now();
    setTimeout(() => { r.stop(); console.log('stopped'); }, 300);
    process.on('exit', () => console.log('exit after ' + (Date.now() - t0 >= 290 ? 'the stop' : 'less')));`);
  assert.is(held.status, 0, held.stderr);
  assert.match(held.stdout, /stopped\nexit after the stop/);
  const loose = script(`new Poll().run(() => {}).unref(); console.log('unref');`);
  assert.is(loose.status, 0, loose.stderr);
  assert.match(loose.stdout, /unref/);
});

test('run on a worker: events are handed over there, stop() lets the worker end by itself', async () => {
  const w = new Worker(new URL('./_util/run-worker.mjs', import.meta.url));
  const msg = await new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  assert.is(msg, 'accepted');
  const code = await new Promise((r) => w.once('exit', r));
  assert.is(code, 0, 'the worker ended by itself once the runner stopped');
});

test.run();
