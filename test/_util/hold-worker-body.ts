// Worker: holds the resources it is told to (a Poll with a Waker, a TCP pair, a UDP socket with a
// DatagramBatch, Signals) and moves bytes through them until it is terminated, spinning or idle.
import { parentPort, workerData } from 'node:worker_threads';
import { Events, Interest, Poll, Signals, Waker } from '../../src/index.js';
import { DatagramBatch, UdpSocket } from '../../src/net.js';
import { tcpPair } from './net.js';

const { kinds, spin, wait, exit } = workerData as { kinds: string[]; spin: boolean; wait?: boolean; exit?: boolean };
const poll = new Poll();
const events = new Events(16);
const waker = new Waker(poll.registry(), 0);
const tcp = kinds.includes('tcp') ? tcpPair() : null;
const udp = kinds.includes('udp') ? UdpSocket.bind('127.0.0.1:0') : null;
const batch = udp ? new DatagramBatch(8, 256) : null;
const signals = kinds.includes('signals') ? new Signals(['SIGUSR2']) : null;
const many = kinds.includes('many') ? Array.from({ length: 25 }, () => tcpPair()) : []; // 75 fds
if (tcp) poll.registry().register(tcp.server, 1, Interest.READABLE);
if (udp) poll.registry().register(udp, 2, Interest.READABLE);
if (signals) poll.registry().register(signals, 3, Interest.READABLE);
for (const [i, p] of many.entries()) poll.registry().register(p.server, 10 + i, Interest.READABLE);
const buf = Buffer.alloc(4096);
const step = () => {
  waker.wake();
  tcp?.client.write(buf.subarray(0, 512));
  if (udp) udp.sendTo(buf.subarray(0, 64), `127.0.0.1:${udp.localAddr().port}`);
  poll.poll(events, 0);
  tcp?.server.read(buf);
  if (udp && batch) udp.recvMany(batch);
  signals?.pending();
};
step();
if (exit) process.exit(0); // a normal end: the objects close themselves at 'exit'
parentPort!.postMessage(wait ? waker.handle : 'ready');
if (wait) {
  // Blocked in pollAsync when terminated; says when the parent's wake (token 0) arrives.
  for (;;) {
    await poll.pollAsync(events, 10_000);
    for (const e of events) if (e.token === 0) parentPort!.postMessage('woke');
    signals?.pending();
  }
}
if (spin) for (;;) step();
setInterval(step, 1);
