// Multi-core accept: a TCP echo server on N worker threads, each with its own Poll and its own
// listener on one port (what Node's cluster does with processes, here with threads of one process).
//
//   node --import tsx examples/multicore_server.ts [--workers N] [--port P] [--share reuseport|clone]
//
// --share reuseport (the default on Linux and Android): every worker binds the port with
//   SO_REUSEPORT, and the kernel spreads incoming connections over the listeners.
// --share clone (the default elsewhere: macOS's and the BSDs' SO_REUSEPORT does not spread load):
//   the main thread binds one listener and gives each worker its own descriptor of it
//   (tryClone().intoRawFd(), adopted with TcpListener.fromFd); every worker's Poll watches the one
//   accept queue and whichever accepts first serves the connection.
// Not on Windows: a socket belongs to one completion port, so Polls on other threads cannot share it.
//
// Prints `listening on 127.0.0.1:PORT (N workers, share)`. SIGINT/SIGTERM: the main thread (whose
// Node loop is free) sets a flag and wakes every worker's Poll through its Waker; each closes its
// connections and listener; then `closed` and exit 0. With --stats, SIGUSR2 prints how many
// connections each worker has accepted so far (`accepted 12,20`).

import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Events, Interest, Poll, Waker, type WakerHandle } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';

type Share = 'reuseport' | 'clone';
interface Job {
  id: number;
  host: string;
  port: number;
  share: Share;
  fd: number | null;
  control: Int32Array;
}
interface Ready {
  port: number;
  handle: WakerHandle;
}

const LISTENER = 0;
const WAKER = 1;

if (isMainThread) {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '2' },
      port: { type: 'string', default: '0' },
      share: { type: 'string' },
      stats: { type: 'boolean', default: false },
    },
  });
  const n = Number(values.workers);
  if (!Number.isInteger(n) || n < 1 || n > 256) {
    console.error(`--workers must be 1..256, got ${values.workers}`);
    process.exit(2);
  }
  const share = (values.share ?? (process.platform === 'linux' || process.platform === 'android' ? 'reuseport' : 'clone')) as Share;
  if (share !== 'reuseport' && share !== 'clone') {
    console.error(`--share must be reuseport or clone, got ${values.share}`);
    process.exit(2);
  }
  // [0]: 1 = stop; [1 + i]: connections worker i accepted.
  const control = new Int32Array(new SharedArrayBuffer(4 * (1 + n)));
  const shared = share === 'clone' ? TcpListener.bind(`127.0.0.1:${Number(values.port)}`) : null;
  let port = shared ? shared.localAddr().port : Number(values.port);
  const workers: Worker[] = [];
  const wakers: Waker[] = [];
  for (let id = 0; id < n; id++) {
    // This file again, in a worker (through tsx's loader, which workers do not inherit).
    const job: Job = { id, host: '127.0.0.1', port, share, fd: shared ? shared.tryClone().intoRawFd() : null, control };
    const w = new Worker(
      `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`,
      { eval: true, workerData: job },
    );
    const ready = await new Promise<Ready>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
    port = ready.port; // the first worker's, when the port was 0: the others bind the same one
    workers.push(w);
    wakers.push(Waker.fromHandle(ready.handle));
  }
  shared?.close(); // the workers hold their own descriptors of it
  const exited = workers.map((w) => new Promise<number>((r) => w.once('exit', r)));
  console.log(`listening on 127.0.0.1:${port} (${n} workers, ${share})`);
  const stop = () => {
    Atomics.store(control, 0, 1);
    // A worker that already stopped has closed its Waker: EBADF then is fine.
    for (const w of wakers) {
      try {
        w.wake();
      } catch (e) {
        if ((e as { code?: string }).code !== 'EBADF') throw e;
      }
    }
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  if (values.stats) process.on('SIGUSR2', () => console.log(`accepted ${Array.from(control.subarray(1)).join(',')}`));
  const codes = await Promise.all(exited);
  console.log('closed');
  process.exit(codes.every((c) => c === 0) ? 0 : 1);
} else {
  const job = workerData as Job;
  const poll = new Poll();
  const events = new Events(1024);
  const listener = job.fd !== null ? TcpListener.fromFd(job.fd) : TcpListener.bind(`${job.host}:${job.port}`, { reusePort: true });
  poll.registry().register(listener, LISTENER, Interest.READABLE);
  const waker = new Waker(poll.registry(), WAKER);
  parentPort!.postMessage({ port: listener.localAddr().port, handle: waker.handle } satisfies Ready);

  // Each connection echoes; bytes the client has not taken yet wait in `left`, and the connection
  // is not read until they are gone.
  const conns = new Map<number, { s: TcpStream; left: Buffer | null }>();
  let next = 2;
  const buf = Buffer.alloc(64 * 1024);
  const end = (t: number) => {
    conns.get(t)?.s.close();
    conns.delete(t);
  };
  const echo = (t: number, c: { s: TcpStream; left: Buffer | null }) => {
    if (c.left) {
      const w = c.s.write(c.left);
      if (w === null || w < c.left.length) {
        if (w) c.left = c.left.subarray(w);
        return;
      }
      c.left = null;
      poll.registry().reregister(c.s, t, Interest.READABLE);
    }
    for (;;) {
      const r = c.s.read(buf);
      if (r === null) return;
      if (r === 0) {
        end(t);
        return;
      }
      const w = c.s.write(buf, 0, r) ?? 0;
      if (w < r) {
        c.left = Buffer.from(buf.subarray(w, r));
        poll.registry().reregister(c.s, t, Interest.WRITABLE);
        return;
      }
    }
  };
  while (Atomics.load(job.control, 0) === 0) {
    poll.poll(events, null);
    for (const ev of events) {
      if (ev.token === WAKER) continue; // the loop condition reads the flag
      if (ev.token === LISTENER) {
        for (let a = listener.accept(); a !== null; a = listener.accept()) {
          const t = next++;
          conns.set(t, { s: a[0], left: null });
          poll.registry().register(a[0], t, Interest.READABLE);
          Atomics.add(job.control, 1 + job.id, 1);
        }
        continue;
      }
      const c = conns.get(ev.token);
      if (c) {
        try {
          echo(ev.token, c);
        } catch {
          end(ev.token);
        }
      } // reset by the peer: that connection only
    }
  }
  for (const t of [...conns.keys()]) end(t);
  listener.close();
  waker.close();
  poll.close();
}
