// The main job: a TCP echo server on metal-io (mio's examples/tcp_server.rs, echoing).
//
//   npm start -- --port 9000 [--wait hybrid|blocking|async|run]
//
// --wait says how it waits: hybrid (the default: poll() while busy, pollAsync() when idle),
// blocking (poll() only; signals reach it through a Signals source: Unix), async (pollAsync() each
// turn) or run (poll.run()). bench/run.ts --only rr compares them.
//
// Prints `listening on 127.0.0.1:PORT` when ready; serves until SIGINT or SIGTERM, then closes
// everything and exits 0. Each connection echoes what it reads; when the client does not read fast
// enough, the unsent bytes wait in that connection's buffer and reading pauses until they are gone,
// so no byte is lost and no client can make the server buffer without bound. A client that resets,
// half-closes or vanishes mid-write affects only its own connection.
//
// When the process runs out of fds (EMFILE), the listener pauses instead of throwing (see the
// README, "Running out of fds"): existing clients keep being served, and the Poll reports the
// listener readable again when a connection closes or after its back-off, so the plain
// accept-until-null loop below needs no code for it.
import { parseArgs } from 'node:util';
import { type Event, Events, Interest, Poll, Signals, Waker } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9000' },
    host: { type: 'string', default: '127.0.0.1' },
    quiet: { type: 'boolean', default: false },
    wait: { type: 'string', default: 'hybrid' },
  },
});
const WAITS = ['hybrid', 'blocking', 'async', 'run'];
if (!WAITS.includes(values.wait!)) {
  console.error(`--wait must be one of ${WAITS.join(', ')}, got ${values.wait}`);
  process.exit(2);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be 0..65535, got ${values.port}`);
  process.exit(2);
}

const SERVER = 0;
const WAKER = 1;
const SIGNALS = 2;
const FIRST = 3;

interface Conn {
  stream: TcpStream;
  pending: Buffer | null; // bytes read but not yet written back
  pendingFrom: number;
  pendingTo: number;
}

const poll = new Poll();
const events = new Events(1024);
const listener = TcpListener.bind(`${values.host}:${port}`);
poll.registry().register(listener, SERVER, Interest.READABLE);
const waker = new Waker(poll.registry(), WAKER);
const conns: (Conn | undefined)[] = [];
const free: number[] = [];
const buf = Buffer.alloc(64 * 1024);
let stopping = false;

function close(token: number): void {
  const c = conns[token];
  if (!c) return;
  c.stream.close();
  conns[token] = undefined;
  free.push(token);
}

/** Writes the pending bytes; true when all are gone. */
function flush(token: number, c: Conn): boolean {
  while (c.pendingFrom < c.pendingTo) {
    const n = c.stream.write(c.pending!, c.pendingFrom, c.pendingTo - c.pendingFrom);
    if (n === null) return false;
    c.pendingFrom += n;
  }
  c.pendingFrom = c.pendingTo = 0;
  poll.registry().reregister(c.stream, token, Interest.READABLE);
  return true;
}

/**
 * Reads until the socket is drained, echoing as it goes. Drained: would-block, or a short read,
 * which on a stream socket means the receive queue is empty (epoll(7)); but when the event also
 * said read-closed, the end of stream is queued behind the data without a new edge to come, so
 * then read on until 0.
 */
function echo(token: number, c: Conn, readClosed: boolean): void {
  for (;;) {
    const n = c.stream.read(buf);
    if (n === null) return;
    if (n === 0) {
      close(token);
      return;
    }
    const w = c.stream.write(buf, 0, n) ?? 0;
    if (w < n) {
      // The client is not reading: keep the rest, wait for WRITABLE, stop reading meanwhile.
      if (!c.pending || c.pending.length < n - w) c.pending = Buffer.allocUnsafe(Math.max(n - w, 16 * 1024));
      buf.copy(c.pending, 0, w, n);
      c.pendingFrom = 0;
      c.pendingTo = n - w;
      poll.registry().reregister(c.stream, token, Interest.WRITABLE);
      return;
    }
    if (n < buf.length && !readClosed) return; // short read on a stream socket: drained for now
  }
}

/** Accepts until would-block, or until the listener pauses for lack of fds (null too; the Poll reports it again). */
function accept(): void {
  for (;;) {
    const r = listener.accept();
    if (r === null) return;
    const [stream] = r;
    const token = free.pop() ?? Math.max(FIRST, conns.length);
    conns[token] = { stream, pending: null, pendingFrom: 0, pendingTo: 0 };
    poll.registry().register(stream, token, Interest.READABLE);
  }
}

function handle(token: number, ev: Event): void {
  const c = conns[token]!; // a connection closed earlier in this batch has no event left in it
  try {
    if (c.pendingTo > 0) {
      if (ev.isWritable() || ev.isError()) {
        if (flush(token, c)) echo(token, c, true);
      }
      return;
    }
    if (ev.isReadable() || ev.isError()) echo(token, c, ev.isReadClosed() || ev.isError());
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!values.quiet && code !== 'ECONNRESET' && code !== 'EPIPE') console.error(`connection ${token}: ${(e as Error).message}`);
    close(token);
  }
}

function shutdown(): void {
  stopping = true;
  waker.wake();
}
// For bench/run.ts: SIGUSR2 prints the garbage collections counted since the previous SIGUSR2.
const stats = process.env.METAL_IO_BENCH_STATS === '1';
let gcs = 0;
const reportGcs = () => {
  console.log(`gc ${gcs}`);
  gcs = 0;
};
if (stats) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', reportGcs);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
// A blocking loop never lets Node's loop turn, so its signals come as events.
const signals = values.wait === 'blocking' ? new Signals(['SIGINT', 'SIGTERM', ...(stats ? ['SIGUSR2' as const] : [])]) : null;
if (signals) poll.registry().register(signals, SIGNALS, Interest.READABLE);

console.log(`listening on ${values.host}:${listener.localAddr().port}`);

/** Serves one turn's events. */
function serve(): void {
  for (const ev of events) {
    const token = ev.token;
    if (token === SERVER) accept();
    else if (token === SIGNALS) for (const name of signals!.pending()) name === 'SIGUSR2' ? reportGcs() : shutdown();
    else if (token !== WAKER) handle(token, ev);
  }
}

if (values.wait === 'run') {
  // The callback form: Node's loop turns, serve() runs on each turn with events; shutdown() (a
  // signal handler) wakes the Poll through the Waker and the turn that sees it stops the runner.
  const runner = poll.run(
    () => {
      serve();
      if (stopping) runner.stop();
    },
    { events },
  );
  await runner.stopped;
} else if (values.wait === 'blocking') {
  while (!stopping) {
    poll.poll(events, null);
    serve();
  }
} else if (values.wait === 'async') {
  while (!stopping) {
    await poll.pollAsync(events);
    serve();
  }
} else {
  const yieldToNode = () => new Promise<void>((r) => setImmediate(r));
  let lastYield = performance.now();
  while (!stopping) {
    // Busy: a synchronous poll of at most 1 ms allocates nothing. Idle: pollAsync, so Node's loop
    // (and the signal handlers) runs while nothing is ready. Busy for long: let Node's loop run
    // every 50 ms anyway.
    poll.poll(events, 1);
    if (events.isEmpty()) {
      await poll.pollAsync(events);
      lastYield = performance.now();
    } else if (performance.now() - lastYield > 50) {
      await yieldToNode();
      lastYield = performance.now();
    }
    serve();
  }
}

for (let t = FIRST; t < conns.length; t++) close(t);
signals?.close();
listener.close();
waker.close();
poll.close();
if (!values.quiet) console.log('closed');
process.exit(0);
