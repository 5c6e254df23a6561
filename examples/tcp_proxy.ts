// A TCP proxy with backpressure in both directions: each accepted connection is paired with a new
// connection to the upstream, and bytes are pumped both ways through one 64 KiB buffer per
// direction. A direction reads only while its buffer is empty, so a slow receiver on either side
// stops reading on the other (the kernel's buffers fill, TCP flow control slows the sender): memory
// stays bounded whatever the peers do. Half-close is forwarded (end of stream -> shutdown('write')).
// A side that is not being read (its direction's buffer is full, or it ended) is registered without
// READABLE until reading resumes, so its interest always says what the loop will do with an event
// (and METAL_IO_CHECK has nothing to report).
//
//   npx tsx examples/tcp_proxy.ts --upstream 127.0.0.1:9000 [--port 0]
//
// Prints `proxy on 127.0.0.1:PORT`; SIGINT/SIGTERM close everything and exit 0.
import { parseArgs } from 'node:util';
import { Events, Interest, Poll, Waker } from '../src/index.js';
import { TcpListener, TcpStream } from '../src/net.js';

const { values } = parseArgs({ options: { upstream: { type: 'string' }, port: { type: 'string', default: '0' } } });
if (!values.upstream) {
  console.error('--upstream HOST:PORT is required');
  process.exit(2);
}

const LISTENER = 0;
const WAKER = 1;
const poll = new Poll();
const events = new Events(256);
const listener = TcpListener.bind(`127.0.0.1:${values.port}`);
poll.registry().register(listener, LISTENER, Interest.READABLE);
const waker = new Waker(poll.registry(), WAKER);

/** One direction: bytes read from `from` wait in `buf[start, end)` until `to` takes them. */
interface Dir {
  from: TcpStream;
  fromToken: number;
  to: TcpStream;
  buf: Buffer;
  start: number;
  end: number;
  eof: boolean;
  reading: boolean;
}
interface Pair {
  a: TcpStream;
  b: TcpStream;
  up: Dir;
  down: Dir;
}
const pairs = new Map<number, Pair>(); // by token; each pair has two tokens (2k: client, 2k+1: upstream)
let nextToken = 2;

/** Starts or stops reading `d.from` (its WRITABLE interest, for the other direction, stays). */
function setReading(d: Dir, on: boolean): void {
  if (d.reading === on) return;
  d.reading = on;
  poll.registry().reregister(d.from, d.fromToken, on ? Interest.READABLE | Interest.WRITABLE : Interest.WRITABLE);
}

/** Moves bytes until one side would block: write what is buffered, then read more only if all went. */
function pump(d: Dir): void {
  for (;;) {
    while (d.start < d.end) {
      const n = d.to.write(d.buf, d.start, d.end - d.start);
      if (n === null) {
        setReading(d, false);
        return;
      } // the receiver is full: wait for WRITABLE, read nothing meanwhile
      d.start += n;
    }
    d.start = d.end = 0;
    if (d.eof) return;
    setReading(d, true);
    const n = d.from.read(d.buf);
    if (n === null) return; // nothing more for now: wait for READABLE
    if (n === 0) {
      d.eof = true;
      setReading(d, false);
      d.to.shutdown('write');
      return;
    }
    d.end = n;
  }
}

function close(p: Pair, ta: number): void {
  p.a.close();
  p.b.close();
  pairs.delete(ta);
  pairs.delete(ta + 1);
}

function accept(): void {
  let r;
  while ((r = listener.accept())) {
    const a = r[0];
    const b = TcpStream.connect(values.upstream!);
    const t = nextToken;
    nextToken += 2;
    const p: Pair = {
      a,
      b,
      up: { from: a, fromToken: t, to: b, buf: Buffer.alloc(64 * 1024), start: 0, end: 0, eof: false, reading: true },
      down: { from: b, fromToken: t + 1, to: a, buf: Buffer.alloc(64 * 1024), start: 0, end: 0, eof: false, reading: true },
    };
    // Edge-triggered, both interests while both directions read: any event pumps both directions.
    poll.registry().register(a, t, Interest.READABLE | Interest.WRITABLE);
    poll.registry().register(b, t + 1, Interest.READABLE | Interest.WRITABLE);
    pairs.set(t, p);
    pairs.set(t + 1, p);
  }
}

let stopping = false;
const stop = () => {
  stopping = true;
  waker.wake();
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
console.log(`proxy on 127.0.0.1:${listener.localAddr().port}`);

while (!stopping) {
  await poll.pollAsync(events);
  for (const ev of events) {
    const t = ev.token;
    if (t === LISTENER) {
      accept();
      continue;
    }
    const p = pairs.get(t);
    if (!p) continue;
    const ta = t & ~1;
    try {
      if (ev.isError()) {
        const e = (t === ta ? p.a : p.b).takeError();
        if (e) throw e;
      }
      pump(p.up);
      pump(p.down);
      if (p.up.eof && p.down.eof && p.up.start === p.up.end && p.down.start === p.down.end) close(p, ta);
    } catch {
      close(p, ta);
    } // a reset or a refused upstream ends this pair only
  }
}
for (const [t, p] of pairs) if ((t & 1) === 0) close(p, t);
listener.close();
waker.close();
poll.close();
process.exit(0);
