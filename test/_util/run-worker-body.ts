// Worker: a Poll's run() accepts one loopback connection, stops, closes everything and says so;
// the worker must then end by itself (nothing left keeping its loop alive).
import { parentPort } from 'node:worker_threads';
import { Interest, Poll } from '../../src/index.js';
import { TcpListener, TcpStream } from '../../src/net.js';

const poll = new Poll();
const listener = TcpListener.bind('127.0.0.1:0');
poll.registry().register(listener, 1, Interest.READABLE);
const client = TcpStream.connect(listener.localAddr());
const runner = poll.run((events) => {
  for (const ev of events) {
    if (ev.token !== 1) continue;
    const c = listener.accept();
    if (!c) continue;
    runner.stop();
    c[0].close();
    client.close();
    listener.close();
    poll.close();
    parentPort!.postMessage('accepted');
  }
});
