// Reading events, without the kernel: 64 ready events (64 Wakers woken once) read again and again
// through `events.get(i)` and `for...of`, each event asked `isReadable()` and `token`. Prints ns per
// event, three rounds: the JavaScript cost of the accessors (and of their `this` checks) alone.
// Run: npm run bench:event-access [-- --events 2000000]
import { parseArgs } from 'node:util';
import { Events, Poll, Waker } from '../src/index.js';

const { values } = parseArgs({ options: { events: { type: 'string', default: '2000000' } } });
const N = Number(values.events);
const poll = new Poll();
const events = new Events(64);
const wakers = Array.from({ length: 64 }, (_, i) => new Waker(poll.registry(), i));
for (const w of wakers) w.wake();
poll.poll(events, 1000);
if (events.length !== 64) throw new Error(`expected 64 events, got ${events.length}`);
let sum = 0;
for (let round = 1; round <= 3; round++) {
  let t = process.hrtime.bigint();
  for (let k = 0; k < N / 64; k++)
    for (let i = 0; i < events.length; i++) {
      const e = events.get(i)!;
      if (e.isReadable()) sum += e.token;
    }
  const getNs = Number(process.hrtime.bigint() - t) / N;
  t = process.hrtime.bigint();
  for (let k = 0; k < N / 64; k++) for (const e of events) if (e.isReadable()) sum += e.token;
  const forNs = Number(process.hrtime.bigint() - t) / N;
  console.log(`round ${round}: get(i) ${getNs.toFixed(1)} ns/event, for...of ${forNs.toFixed(1)} ns/event`);
}
if (sum <= 0) throw new Error('no event was read');
for (const w of wakers) w.close();
poll.close();
