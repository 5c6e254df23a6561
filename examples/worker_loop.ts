// A dedicated I/O loop in a worker thread, driven from the main thread through a Waker. The worker
// owns a Poll and a TCP echo listener and blocks in poll() (a worker may block; the main thread
// stays free); the main thread talks to it with node:net, then asks it to stop: it sets a flag in
// shared memory and wakes the worker's Poll with Waker.fromHandle(handle).wake(). Prints
// `echoed 'hello worker' from the I/O thread` and `the I/O thread stopped`, exits 0.

import { connect } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Events, Interest, Poll, Waker, type WakerHandle } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';

const LISTENER = 0;
const WAKER = 1;

if (isMainThread) {
  const control = new Int32Array(new SharedArrayBuffer(4)); // [0]: 1 = please stop
  // This file again, in a worker (through tsx's loader, which workers do not inherit).
  const worker = new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`,
    { eval: true, workerData: { control } },
  );
  const { port, handle } = await new Promise<{ port: number; handle: WakerHandle }>((r) => worker.once('message', r));
  const waker = Waker.fromHandle(handle);
  const socket = connect(port, '127.0.0.1');
  socket.write('hello worker');
  let echoed = ''; // TCP is a stream: the echo may come in pieces
  await new Promise<void>((r) =>
    socket.on('data', (d) => {
      echoed += d.toString();
      if (echoed.length >= 'hello worker'.length) r();
    }),
  );
  console.log(`echoed '${echoed}' from the I/O thread`);
  socket.destroy();
  Atomics.store(control, 0, 1);
  // The worker's poll() returns with the waker's event and sees the flag. If another event woke it
  // first, it has seen the flag already and closed its Waker: then wake() says EBADF, and that is fine.
  try {
    waker.wake();
  } catch (e) {
    if ((e as { code?: string }).code !== 'EBADF') throw e;
  }
  const code = await new Promise<number>((r) => worker.once('exit', r));
  console.log(code === 0 ? 'the I/O thread stopped' : `the I/O thread exited ${code}`);
  process.exit(code);
} else {
  const { control } = workerData as { control: Int32Array };
  const poll = new Poll();
  const events = new Events(64);
  const listener = TcpListener.bind('127.0.0.1:0');
  poll.registry().register(listener, LISTENER, Interest.READABLE);
  const waker = new Waker(poll.registry(), WAKER);
  parentPort!.postMessage({ port: listener.localAddr().port, handle: waker.handle });
  const conns = new Map<number, { s: TcpStream; owed: Buffer }>();
  let next = 2; // owed: read, not yet written back
  const buf = Buffer.alloc(16 * 1024);
  while (Atomics.load(control, 0) === 0) {
    poll.poll(events, null); // blocking: this thread has nothing else to do
    for (const ev of events) {
      if (ev.token === WAKER) continue; // the loop condition reads the flag
      if (ev.token === LISTENER) {
        let a;
        while ((a = listener.accept())) {
          const t = next++;
          conns.set(t, { s: a[0], owed: Buffer.alloc(0) });
          poll.registry().register(a[0], t, Interest.READABLE | Interest.WRITABLE);
        }
        continue;
      }
      const c = conns.get(ev.token)!;
      let n;
      while ((n = c.s.read(buf)) !== null && n > 0) c.owed = Buffer.concat([c.owed, buf.subarray(0, n)]);
      // Write back what the socket takes; a partial write keeps the rest for the next WRITABLE event.
      let w;
      while (c.owed.length > 0 && (w = c.s.write(c.owed)) !== null) c.owed = c.owed.subarray(w);
      if (n === 0) {
        c.s.close();
        conns.delete(ev.token);
      }
    }
  }
  for (const c of conns.values()) c.s.close();
  listener.close();
  waker.close();
  poll.close();
}
