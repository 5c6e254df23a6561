// A tour of the generated system layer and the event queue: what metal-io sees on this machine.

import { Events, Interest, Poll, Waker } from '../src/index.js';
import sys, { platform, structs } from '../src/sys/index.js';
import { pipe } from '../src/unix.js';

console.log(
  `target ${platform.name} (${platform.model}, ${platform.pointerSize * 8}-bit), layouts ${platform.verifiedBy ? `verified by ${platform.verifiedBy}-gcc` : 'not compiler-verified here'}`,
);
for (const name of ['epoll_event', 'kevent', 'sockaddr_in6', 'pollfd'] as const) {
  const s = structs[name];
  if (s)
    console.log(
      `  ${s.c}: ${s.size} bytes, align ${s.align}${s.packed ? ', packed' : ''}: ${Object.entries(s.fields)
        .map(([f, i]) => `${f}@${i.offset}`)
        .join(' ')}`,
    );
}
console.log(`  ${Object.keys(sys).filter((k) => typeof (sys as Record<string, unknown>)[k] === 'function').length} entry points`);

using poll = new Poll();
const events = new Events(16);
const [tx, rx] = pipe();
const waker = new Waker(poll.registry(), 2);
poll.registry().register(rx, 1, Interest.READABLE);
tx.write(Buffer.from('hello'));
waker.wake();
poll.poll(events, 1000);
console.log(`backend ${poll.backend}: ${events.length} events`);
for (const e of events) console.log(`  token ${e.token}: readable=${e.isReadable()} writable=${e.isWritable()}`);
tx.close();
rx.close();
waker.close();
