// metal-io's UDP echo for the datagram benchmark, in three styles:
//   --mode batch      recvMany/sendMany on a DatagramBatch (recvmmsg/sendmmsg: one call each way per batch)
//   --mode datagram   recvFromPeer/sendToPeer with one reusable PeerAddress (no allocation, one call each way per datagram)
//   --mode classic    recvFrom/sendTo (an address object per datagram), as the older README taught
// Prints `listening on 127.0.0.1:PORT`; SIGUSR2 prints the GCs since the last SIGUSR2; SIGTERM ends it.

import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Events, Interest, Poll } from '../src/index.js';
import { DatagramBatch, PeerAddress, UdpSocket } from '../src/net.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, mode: { type: 'string', default: 'batch' } } });
const mode = values.mode!;
if (!['batch', 'datagram', 'classic'].includes(mode)) throw new Error(`--mode must be batch, datagram or classic, got ${mode}`);
const poll = new Poll();
const events = new Events(64);
const sock = UdpSocket.bind(`127.0.0.1:${values.port}`);
poll.registry().register(sock, 0, Interest.READABLE);
const batch = new DatagramBatch(64, 2048);
const buf = Buffer.alloc(2048);
const peer = new PeerAddress();

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  console.log(`gc ${gcs}`);
  gcs = 0;
});
process.on('SIGTERM', () => process.exit(0));

function drainBatch(): void {
  for (;;) {
    const n = sock.recvMany(batch);
    if (n === null) return;
    for (let i = 0; i < n; i++) batch.setLength(i, batch.lengthOf(i)); // echo each slot back to its sender
    sock.sendMany(batch, n); // a partial send drops the rest, as a full socket buffer would
    if (n < batch.capacity) return; // drained for now
  }
}
function drainDatagram(): void {
  for (;;) {
    const n = sock.recvFromPeer(buf, peer);
    if (n === null) return;
    sock.sendToPeer(buf, peer, 0, n);
  }
}
function drainClassic(): void {
  for (;;) {
    const r = sock.recvFrom(buf);
    if (r === null) return;
    sock.sendTo(buf.subarray(0, r[0]), r[1]);
  }
}
const drain = mode === 'batch' ? drainBatch : mode === 'datagram' ? drainDatagram : drainClassic;

console.log(`listening on 127.0.0.1:${sock.localAddr().port}`);
let lastYield = performance.now();
for (;;) {
  // Busy: a synchronous poll allocates nothing. Idle: pollAsync, so signal handlers run. Busy for
  // long: let Node's loop turn every 50 ms anyway.
  poll.poll(events, 1);
  if (events.isEmpty()) {
    await poll.pollAsync(events);
    lastYield = performance.now();
  } else if (performance.now() - lastYield > 50) {
    await new Promise((r) => setImmediate(r));
    lastYield = performance.now();
  }
  for (const _ of events) drain();
}
