// A server whose loop blocks in poll() and never gives Node's loop a turn, stopped cleanly by
// SIGINT or SIGTERM through a Signals source (the README's "Signals in a blocking loop").
//
//   node --import tsx examples/blocking_server.ts [--port N]
//
// Prints `listening on 127.0.0.1:PORT`; each connection gets back what it sends. On SIGINT or
// SIGTERM it prints `caught SIGTERM`, closes every connection, the listener and the Poll, and
// exits 0. process.on listeners would not run inside this loop: JavaScript signal handlers need
// Node's loop to turn. The Signals source wakes poll() instead, even when the signal arrived
// while the loop was busy between two waits.
import { parseArgs } from 'node:util';
import { Events, Interest, Poll, Signals } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const SERVER = 0;
const SIGNALS = 1;

const poll = new Poll();
const events = new Events(256);
const signals = new Signals(['SIGINT', 'SIGTERM']);
const listener = TcpListener.bind(`127.0.0.1:${Number(values.port)}`);
poll.registry().register(signals, SIGNALS, Interest.READABLE);
poll.registry().register(listener, SERVER, Interest.READABLE);

/** A connection and the bytes it still owes its client (written when the socket is writable). */
interface Conn {
  stream: TcpStream;
  owed: Buffer[];
}
const conns = new Map<number, Conn>();
let nextToken = 2;
const buf = Buffer.alloc(64 * 1024);

function drop(token: number): void {
  conns.get(token)?.stream.close();
  conns.delete(token);
}

/** Writes what is owed; returns false while the socket cannot take it all. */
function pay(c: Conn): boolean {
  while (c.owed.length > 0) {
    const head = c.owed[0]!;
    const n = c.stream.write(head);
    if (n === null) return false;
    if (n < head.length) {
      c.owed[0] = head.subarray(n);
      continue;
    }
    c.owed.shift();
  }
  return true;
}

function serve(token: number, c: Conn): void {
  if (!pay(c)) return; // still owed: wait for WRITABLE, read nothing more meanwhile
  for (;;) {
    const n = c.stream.read(buf);
    if (n === null) break;
    if (n === 0) {
      drop(token);
      return;
    }
    c.owed.push(Buffer.from(buf.subarray(0, n)));
    if (!pay(c)) break;
  }
  poll.registry().reregister(c.stream, token, c.owed.length > 0 ? Interest.WRITABLE : Interest.READABLE);
}

console.log(`listening on 127.0.0.1:${listener.localAddr().port}`);
// Appended, never assigned: a second (spurious) event in the same batch finds nothing pending, and
// assigning its [] would forget the signal (METAL_IO_FAULTS=6 found this: the server then hung).
const caught: string[] = [];
while (caught.length === 0) {
  poll.poll(events); // blocks until something happens: no timeout, no turn of Node's loop
  for (const ev of events) {
    if (ev.token === SIGNALS) caught.push(...signals.pending());
    else if (ev.token === SERVER) {
      for (let r = listener.accept(); r !== null; r = listener.accept()) {
        const token = nextToken++;
        conns.set(token, { stream: r[0], owed: [] });
        poll.registry().register(r[0], token, Interest.READABLE);
      }
    } else {
      const c = conns.get(ev.token);
      try {
        if (c) serve(ev.token, c);
      } catch {
        drop(ev.token);
      } // reset by the peer: that client only
    }
  }
}

console.log(`caught ${caught.join(', ')}`);
for (const token of [...conns.keys()]) drop(token);
for (const x of [listener, signals, poll]) x.close();
