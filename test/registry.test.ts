import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll, Registry, type Source } from '../src/index.js';
import { SourceFd } from '../src/unix.js';
import { assertCode, channel, expectEvents, expectNoEvents, unixOnly } from './_util/events.js';

function setup() {
  const poll = new Poll();
  const events = new Events(8);
  const [tx, rx] = channel();
  return {
    poll,
    events,
    tx,
    rx,
    done: () => {
      poll.close();
      tx.close();
      rx.close();
    },
  };
}

test('tokens round-trip exactly, up to 2^53-1', () => {
  for (const token of [0, 1, 2 ** 31, 2 ** 32, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
    const s = setup();
    try {
      s.poll.registry().register(s.rx, token, Interest.READABLE);
      s.tx.write(Buffer.from('x'));
      expectEvents(s.poll, s.events, [{ token, readable: true }]);
    } finally {
      s.done();
    }
  }
});

test('bad tokens: TypeError or RangeError', () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    for (const bad of [-1, 1.5, NaN, Infinity, 2 ** 53])
      assert.throws(
        () => reg.register(s.rx, bad, Interest.READABLE),
        (e: Error) => e instanceof RangeError,
        String(bad),
      );
    for (const bad of ['1', null, undefined, 1n, {}])
      assert.throws(
        () => reg.register(s.rx, bad as unknown as number, Interest.READABLE),
        (e: Error) => e instanceof TypeError,
        String(bad),
      );
  } finally {
    s.done();
  }
});

test('bad interest or source: TypeError', () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    assert.throws(
      () => reg.register(s.rx, 1, 0),
      (e: Error) => e instanceof TypeError && /empty/.test(e.message),
    );
    assert.throws(
      () => reg.register(s.rx, 1, 1 << 9),
      (e: Error) => e instanceof TypeError && /unknown bits/.test(e.message),
    );
    for (const wraps of [2 ** 32, 2 ** 32 + 1, 2 ** 53, 1e300])
      assert.throws(
        () => reg.register(s.rx, 1, wraps),
        (e: Error) => e instanceof TypeError,
        `interest ${wraps}`,
      );
    assert.throws(
      () => reg.register({} as Source, 1, Interest.READABLE),
      (e: Error) => e instanceof TypeError,
    );
    assert.throws(
      () => reg.register(null as unknown as Source, 1, Interest.READABLE),
      (e: Error) => e instanceof TypeError,
    );
    if (s.poll.backend !== 'kqueue')
      assert.throws(
        () => reg.register(s.rx, 1, Interest.AIO),
        (e: Error) => e instanceof TypeError && /not supported/.test(e.message),
      );
  } finally {
    s.done();
  }
});

test("a Source's own register/reregister, called without the Registry, refuses bad tokens and interests the same way, and registers nothing", () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    const sources: [string, Source][] = [['an owned source', s.rx]];
    if (process.platform !== 'win32') sources.push(['SourceFd', new SourceFd((s.rx as unknown as { fd: number }).fd)]);
    for (const [what, src] of sources) {
      for (const bad of [-1, 1.5, NaN, 2 ** 53, 2 ** 60])
        assert.throws(
          () => src.register(reg, bad, Interest.READABLE),
          (e: Error) => e instanceof RangeError,
          `${what} token ${bad}`,
        );
      for (const bad of ['1', null, 1n])
        assert.throws(
          () => src.register(reg, bad as unknown as number, Interest.READABLE),
          (e: Error) => e instanceof TypeError,
          `${what} token ${String(bad)}`,
        );
      for (const bad of [0, 1 << 9, 2 ** 32])
        assert.throws(
          () => src.register(reg, 1, bad),
          (e: Error) => e instanceof TypeError,
          `${what} interest ${bad}`,
        );
      // Nothing was registered: a proper register now works, then reregister refuses the same.
      src.register(reg, 7, Interest.READABLE);
      assert.throws(
        () => src.reregister(reg, 'x' as unknown as number, Interest.READABLE),
        (e: Error) => e instanceof TypeError,
        `${what} reregister token`,
      );
      assert.throws(
        () => src.reregister(reg, 7, 1 << 9),
        (e: Error) => e instanceof TypeError,
        `${what} reregister interest`,
      );
      src.deregister(reg);
    }
  } finally {
    s.done();
  }
});

test('register twice: EEXIST; reregister/deregister unregistered: ENOENT', () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    assertCode(() => reg.reregister(s.rx, 1, Interest.READABLE), 'ENOENT');
    assertCode(() => reg.deregister(s.rx), 'ENOENT');
    reg.register(s.rx, 1, Interest.READABLE);
    assertCode(() => reg.register(s.rx, 1, Interest.READABLE), 'EEXIST');
    if (!unixOnly('EEXIST/ENOENT with SourceFd')) return;
    const fd = new SourceFd((s.tx as unknown as { fd: number }).fd);
    assertCode(() => reg.reregister(fd, 1, Interest.WRITABLE), 'ENOENT');
    reg.register(fd, 2, Interest.WRITABLE);
    assertCode(() => reg.register(fd, 2, Interest.WRITABLE), 'EEXIST');
    reg.deregister(fd);
    assertCode(() => reg.deregister(fd), 'ENOENT');
  } finally {
    s.done();
  }
});

test('an owned source registered with one Poll cannot join another until deregistered', () => {
  const s = setup();
  const other = new Poll();
  try {
    s.poll.registry().register(s.rx, 1, Interest.READABLE);
    const err = assertCode(() => other.registry().register(s.rx, 1, Interest.READABLE), 'EEXIST');
    assert.match(err.message, /another Poll/);
    assertCode(() => other.registry().deregister(s.rx), 'ENOENT');
    s.poll.registry().deregister(s.rx);
    other.registry().register(s.rx, 4, Interest.READABLE);
    s.tx.write(Buffer.from('x'));
    expectEvents(other, s.events, [{ token: 4, readable: true }]);
    expectNoEvents(s.poll, s.events);
  } finally {
    other.close();
    s.done();
  }
});

test('reregister changes token and interest', () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    reg.register(s.tx, 1, Interest.READABLE);
    expectNoEvents(s.poll, s.events);
    reg.reregister(s.tx, 7, Interest.WRITABLE);
    expectEvents(s.poll, s.events, [{ token: 7, writable: true }]);
  } finally {
    s.done();
  }
});

test('no events after deregister or close', () => {
  const s = setup();
  try {
    const reg = s.poll.registry();
    reg.register(s.rx, 1, Interest.READABLE);
    reg.deregister(s.rx);
    s.tx.write(Buffer.from('x'));
    expectNoEvents(s.poll, s.events);
    reg.register(s.rx, 2, Interest.READABLE);
    s.rx.close();
    if (process.platform === 'win32') {
      try {
        s.tx.write(Buffer.from('y'));
      } catch {
        /* TCP: the closed peer may reset */
      }
    } else assertCode(() => s.tx.write(Buffer.from('y')), 'EPIPE', 'write');
    expectNoEvents(s.poll, s.events);
  } finally {
    s.done();
  }
});

test('tryClone drives the same Poll', () => {
  const s = setup();
  try {
    const clone = s.poll.registry().tryClone();
    assert.instance(clone, Registry);
    assert.is.not(clone, s.poll.registry());
    clone.register(s.rx, 5, Interest.READABLE);
    s.tx.write(Buffer.from('x'));
    expectEvents(s.poll, s.events, [{ token: 5 }]);
    s.poll.registry().deregister(s.rx); // owned source: the same Poll through either handle
  } finally {
    s.done();
  }
});

test('a user Source composes SourceFd (mio event::Source)', () => {
  if (!unixOnly('a user Source composing SourceFd')) return;
  const s = setup();
  class Mine implements Source {
    calls: string[] = [];
    constructor(private readonly inner: SourceFd) {}
    register(r: Registry, t: number, i: number) {
      this.calls.push('register');
      this.inner.register(r, t, i);
    }
    reregister(r: Registry, t: number, i: number) {
      this.calls.push('reregister');
      this.inner.reregister(r, t, i);
    }
    deregister(r: Registry) {
      this.calls.push('deregister');
      this.inner.deregister(r);
    }
  }
  try {
    const mine = new Mine(new SourceFd((s.rx as unknown as { fd: number }).fd));
    const reg = s.poll.registry();
    reg.register(mine, 3, Interest.READABLE);
    s.tx.write(Buffer.from('x'));
    expectEvents(s.poll, s.events, [{ token: 3, readable: true }]);
    reg.reregister(mine, 4, Interest.READABLE);
    reg.deregister(mine);
    assert.equal(mine.calls, ['register', 'reregister', 'deregister']);
  } finally {
    s.done();
  }
});

test('SourceFd validates its fd', () => {
  if (!unixOnly('SourceFd validation')) return;
  assert.throws(
    () => new SourceFd(-1),
    (e: Error) => e instanceof RangeError,
  );
  assert.throws(
    () => new SourceFd('3' as unknown as number),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => new SourceFd(1.5),
    (e: Error) => e instanceof RangeError,
  );
});

test.run();
