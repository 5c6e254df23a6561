import { SocketAddress } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeAddr, encodeAddr, formatIPv6, parseAddr, parseIPv6 } from '../src/net/addr.js';

test('string, object and SocketAddress forms', () => {
  assert.equal(parseAddr('127.0.0.1:8080').port, 8080);
  const v6 = parseAddr('[::1]:9');
  assert.ok(v6.v6);
  assert.is(v6.bytes[15], 1);
  assert.is(parseAddr({ address: '10.0.0.1', port: 1 }).bytes[0], 10);
  const sa = parseAddr(new SocketAddress({ address: '::1', port: 7, family: 'ipv6' }));
  assert.ok(sa.v6);
  assert.is(sa.port, 7);
  assert.is(parseAddr({ address: 'fe80::1%3', port: 1 }).scopeId, 3);
});

test('malformed addresses are TypeErrors naming the input', () => {
  for (const bad of [
    'localhost:80',
    '127.0.0.1',
    '1.2.3.4:99999',
    '256.1.1.1:1',
    '[::1:80',
    '::1:80',
    '[1::2::3]:1',
    '01.2.3.4:5',
    '',
    'x',
  ]) {
    assert.throws(
      () => parseAddr(bad),
      (e: Error) => e instanceof TypeError && e.message.includes(`'${bad}'`),
      bad,
    );
  }
  assert.throws(
    () => parseAddr({ address: '1.2.3.4', port: -1 }),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => parseAddr(42),
    (e: Error) => e instanceof TypeError,
  );
  assert.throws(
    () => parseAddr(null),
    (e: Error) => e instanceof TypeError,
  );
});

test('IPv6 text round trip, RFC 5952 as Node prints it', () => {
  for (const [input, out] of [
    ['::1', '::1'],
    ['::', '::'],
    ['2001:db8:0:0:0:0:2:1', '2001:db8::2:1'],
    ['2001:db8::1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    ['fe80::', 'fe80::'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['2001:DB8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ] as const) {
    const b = parseIPv6(input);
    assert.ok(b, input);
    assert.is(formatIPv6(b!), out, input);
  }
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', 'g::1', '12345::1', '1:2:3:4:5:6:7', '::1.2.3']) assert.is(parseIPv6(bad), null, bad);
});

test('sockaddr encode/decode round trip at the generated offsets', () => {
  const buf = Buffer.alloc(128);
  encodeAddr(parseAddr('192.168.1.2:443'), buf);
  assert.equal(decodeAddr(buf), { address: '192.168.1.2', family: 'IPv4', port: 443 });
  encodeAddr(parseAddr({ address: 'fe80::1%7', port: 53, flowinfo: 5 }), buf);
  assert.equal(decodeAddr(buf), { address: 'fe80::1', family: 'IPv6', port: 53, flowinfo: 5, scopeId: 7 });
});

test.run();
