// System errors: every errno the target defines has its name (syscalls.yaml, compiler-checked).

import { constants } from 'node:os';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { errnoName, systemError } from '../src/errors.js';
import { UdpSocket } from '../src/net.js';
import sys, { constants as C } from '../src/sys/index.js';

test('every errno Node knows on this platform has our name for it (one of its aliases)', () => {
  if (process.platform === 'win32') {
    console.log('  SKIP errno names vs os.constants.errno: Winsock codes are WSAE*, checked below [win32]');
    return;
  }
  const byNumber = new Map<number, string[]>();
  for (const [name, n] of Object.entries(constants.errno)) byNumber.set(n, [...(byNumber.get(n) ?? []), name]);
  for (const [n, aliases] of byNumber) {
    const e = systemError('test', n);
    assert.ok(aliases.includes(e.code), `errno ${n}: code ${e.code}, Node says ${aliases.join('/')}`);
    assert.is(e.errno, -n);
  }
  assert.is(systemError('setsockopt', C.ENODEV!).code, 'ENODEV');
});

test('a number no header defines is UNKNOWN, never E<number>', () => {
  const e = systemError('read', 99999);
  assert.is(e.code, 'UNKNOWN');
  assert.is(e.message, 'read Unknown system error 99999');
  assert.is(errnoName(99999), 'Unknown system error 99999');
});

test('a real failing call reports a named code: setsockopt of an unknown option gives ENOPROTOOPT', () => {
  const s = UdpSocket.bind('127.0.0.1:0');
  try {
    const v = new Int32Array([1]);
    const rc =
      process.platform === 'win32' ? sys.ws_setsockopt!(s.fd, 0xffff, 0x7fff, v, 4) : sys.setsockopt!(s.fd, C.SOL_SOCKET!, 0x7fff, v, 4);
    assert.is(rc, -1);
    const n = process.platform === 'win32' ? sys.WSAGetLastError!() : sys.errno();
    assert.is(systemError('setsockopt', n).code, 'ENOPROTOOPT');
  } finally {
    s.close();
  }
});

test.run();
