import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Interest } from '../src/index.js';

test('flags combine with | and have mio values', () => {
  assert.equal([Interest.READABLE, Interest.WRITABLE, Interest.AIO, Interest.LIO, Interest.PRIORITY], [1, 2, 4, 8, 16]);
  const rw = Interest.READABLE | Interest.WRITABLE;
  assert.ok(Interest.isReadable(rw) && Interest.isWritable(rw));
  assert.not.ok(Interest.isPriority(rw) || Interest.isAio(rw) || Interest.isLio(rw));
});

test('add, remove (null when empty), format', () => {
  assert.is(Interest.add(Interest.READABLE, Interest.WRITABLE), 3);
  assert.is(Interest.remove(3, Interest.WRITABLE), Interest.READABLE);
  assert.is(Interest.remove(Interest.READABLE, Interest.READABLE), null);
  assert.is(Interest.format(Interest.READABLE | Interest.WRITABLE), 'READABLE | WRITABLE');
  assert.is(Interest.format(Interest.PRIORITY), 'PRIORITY');
});

test('empty or unknown bits are TypeErrors', () => {
  assert.throws(
    () => Interest.add(0, Interest.READABLE),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => Interest.format(64),
    (e: Error) => e instanceof TypeError && /unknown bits/.test(e.message),
  );
  assert.throws(
    () => Interest.add('1' as unknown as number, 1),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => Interest.remove(1.5, 1),
    (e: Error) => e instanceof TypeError,
  );
});

test('only the known bits of a uint32: values that wrap to known bits are rejected too', () => {
  for (const bad of [2 ** 32, 2 ** 32 + 1, 2 ** 53, 1e300, -1, 32, 0x80000001, Infinity, NaN]) {
    assert.throws(
      () => Interest.format(bad),
      (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_VALUE',
      `format(${bad})`,
    );
    assert.throws(
      () => Interest.isReadable(bad),
      (e: Error) => e instanceof TypeError,
      `isReadable(${bad})`,
    );
    assert.throws(
      () => Interest.add(bad, 1),
      (e: Error) => e instanceof TypeError,
      `add(${bad})`,
    );
  }
  assert.throws(
    () => Interest.format('1' as never),
    (e: { code?: string }) => e instanceof TypeError && e.code === 'ERR_INVALID_ARG_TYPE',
  );
});

test('Interest is frozen', () => {
  assert.ok(Object.isFrozen(Interest));
});

test.run();
