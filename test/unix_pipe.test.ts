// mio's tests/unix_pipe.rs, ported: a closed pipe end is reported even to a source that has not
// read (or written) to would-block since its last event. These failed on the poll(2) backend,
// which stopped watching a disarmed fd altogether; poll(2) reports POLLHUP/POLLERR whatever was
// asked, so a disarmed fd now stays in the set with no events asked for.

import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { pipe } from '../src/unix.js';
import { expectEvents, unixOnly } from './_util/events.js';

const SENDER = 0;
const RECEIVER = 1;
const DATA1 = Buffer.from('Hello same host!');

test('event_when_sender_is_dropped: the receiver, not read since its event, sees read-closed', () => {
  if (!unixOnly('event_when_sender_is_dropped')) return;
  const poll = new Poll();
  const events = new Events(8);
  const [sender, receiver] = pipe();
  try {
    poll.registry().register(receiver, RECEIVER, Interest.READABLE);
    assert.is(sender.write(DATA1), DATA1.length);
    expectEvents(poll, events, [{ token: RECEIVER, readable: true }]);
    sender.close(); // the data is still unread
    expectEvents(poll, events, [{ token: RECEIVER, readClosed: true }]);
  } finally {
    sender.close();
    receiver.close();
    poll.close();
  }
});

test('event_when_receiver_is_dropped: the sender, not written to would-block, sees write-closed', () => {
  if (!unixOnly('event_when_receiver_is_dropped')) return;
  const poll = new Poll();
  const events = new Events(8);
  const [sender, receiver] = pipe();
  try {
    poll.registry().register(sender, SENDER, Interest.WRITABLE);
    expectEvents(poll, events, [{ token: SENDER, writable: true }]);
    receiver.close();
    expectEvents(poll, events, [{ token: SENDER, writeClosed: true }]);
  } finally {
    sender.close();
    receiver.close();
    poll.close();
  }
});

test('from_child_process_io: `cat` echoes through two pipes; closing its stdin gives read-closed', async () => {
  if (!unixOnly('from_child_process_io')) return;
  // [our write end, cat's stdin] and [cat's stdout, our read end]; cat's ends block, as a child expects.
  const [sender, childStdin] = pipe();
  const [childStdout, receiver] = pipe();
  childStdin.setNonblocking(false);
  childStdout.setNonblocking(false);
  const child = spawn('cat', [], { stdio: [childStdin.fd, childStdout.fd, 'inherit'], env: {} });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  childStdin.close();
  childStdout.close(); // the child has its copies
  const poll = new Poll();
  const events = new Events(8);
  try {
    poll.registry().register(sender, SENDER, Interest.WRITABLE);
    poll.registry().register(receiver, RECEIVER, Interest.READABLE);
    expectEvents(poll, events, [{ token: SENDER, writable: true }]);
    assert.is(sender.write(DATA1), DATA1.length);
    expectEvents(poll, events, [{ token: RECEIVER, readable: true }], 5000);
    const buf = Buffer.alloc(20);
    const n = receiver.read(buf);
    assert.is(buf.toString('utf8', 0, n!), DATA1.toString()); // read once: not to would-block
    sender.close();
    expectEvents(poll, events, [{ token: RECEIVER, readClosed: true }], 5000);
    assert.is(await exited, 0);
  } finally {
    sender.close();
    receiver.close();
    poll.close();
    if (child.exitCode === null) child.kill();
  }
});

test.run();
