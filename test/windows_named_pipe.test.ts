// Windows only (under Wine by test/platform/wine.sh): NamedPipe, overlapped I/O on the Poll's port.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { platform } from '../src/sys/index.js';
import { NamedPipe } from '../src/windows.js';
import { assertCode, expectEvents } from './_util/events.js';

const windows = platform.os === 'win32';

test('named pipe: connect, round trip both ways, end of stream', () => {
  if (!windows) {
    console.log(`  SKIP NamedPipe: Windows-only (test/platform/wine.sh runs it under Wine), this is ${platform.name}`);
    return;
  }
  const name = `\\\\.\\pipe\\metal-io-test-${process.pid}-${Date.now()}`;
  const poll = new Poll();
  const events = new Events(8);
  const server = NamedPipe.create(name);
  try {
    poll.registry().register(server, 1, Interest.READABLE | Interest.WRITABLE);
    assert.is(server.connect(), null, 'waiting for a client');
    const client = NamedPipe.open(name);
    poll.registry().register(client, 2, Interest.READABLE | Interest.WRITABLE);
    expectEvents(poll, events, [{ token: 1, writable: true }]);
    assert.is(server.connect(), true);
    assert.is(client.write(Buffer.from('over the pipe')), 13);
    expectEvents(poll, events, [{ token: 1, readable: true }]);
    const buf = Buffer.alloc(32);
    let n = server.read(buf);
    assert.is(n, 13);
    assert.is(buf.toString('utf8', 0, 13), 'over the pipe');
    assert.is(server.read(buf), null, 'nothing more yet');
    assert.is(server.write(Buffer.from('and back')), 8);
    expectEvents(poll, events, [{ token: 2, readable: true }]);
    n = client.read(buf);
    assert.is(buf.toString('utf8', 0, n!), 'and back');
    client.close();
    expectEvents(poll, events, [{ token: 1, readClosed: true }]);
    assert.is(server.read(buf), 0, 'end of stream');
    client.close();
    assertCode(() => client.write(Buffer.from('x')), 'EBADF');
    assert.throws(
      () => NamedPipe.create('not-a-pipe-name'),
      (e: Error) => e instanceof TypeError,
    );
  } finally {
    server.close();
    poll.close();
  }
});

test.run();
