// Event-queue bench: a steady-state loop (poll, iterate, act) over pipes, reporting per delivered
// event the CPU time, garbage collections (perf_hooks 'gc' entries) and FFI calls, for
// `for (const ev of events)`, `events.get(i)`, `await poll.pollAsync()` and `poll.run()`, then for blocking waits
// with each kind of timeout (null, 0, a whole and a fractional number of ms) at many events per wait
// (every pipe written each turn) and at few (--few pipes).
// Run: npm run bench:eventqueue [-- --events 1000000 --pipes 64 --few 4]
import { PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Events, Interest, Poll } from '../src/index.js';
import { callCounts } from '../src/sys/ffi.js';
import { pipe, type Receiver, type Sender } from '../src/unix.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    pipes: { type: 'string', default: '64' },
    few: { type: 'string', default: '4' },
  },
});
const TOTAL = Number(values.events);
const MANY = Number(values.pipes);
const FEW = Number(values.few);

type Mode = 'for-of' | 'get(i)' | 'pollAsync' | 'run';

async function run(
  mode: Mode,
  total: number,
  K = MANY,
  timeout: number | null = 1000,
): Promise<{ events: number; cpuUs: number; gcs: number; polls: number; calls: Record<string, number> }> {
  const poll = new Poll();
  const events = new Events(256);
  const pipes: [Sender, Receiver][] = [];
  for (let i = 0; i < K; i++) {
    const p = pipe();
    pipes.push(p);
    poll.registry().register(p[1], i, Interest.READABLE);
  }
  const one = Buffer.from([1]);
  const buf = Buffer.alloc(64);
  const receivers = pipes.map((p) => p[1]);
  let delivered = 0;
  let polls = 0;
  let sink = 0;
  const act = (token: number) => {
    const rx = receivers[token]!;
    while (rx.read(buf) !== null) sink++;
  };
  // The harness itself must not allocate: the synchronous modes run a plain loop (an async step
  // would allocate a promise per poll).
  const write = () => {
    for (let i = 0; i < K; i++) pipes[i]![0].write(one);
  };
  const consume = () => {
    polls++;
    if (mode === 'get(i)') {
      for (let i = 0; i < events.length; i++) {
        const ev = events.get(i)!;
        if (ev.isReadable()) act(ev.token);
      }
    } else for (const ev of events) if (ev.isReadable()) act(ev.token);
    delivered += events.length;
  };
  const loop = async (until: number, maxPolls: number) => {
    if (mode === 'run') {
      // The callback runner: each turn consumes and writes again, inside Node's loop.
      await new Promise<void>((resolve) => {
        write();
        const r = poll.run(
          () => {
            consume();
            if (delivered >= until || polls >= maxPolls) {
              r.stop();
              resolve();
            } else write();
          },
          { events },
        );
      });
    } else if (mode === 'pollAsync') {
      while (delivered < until && polls < maxPolls) {
        write();
        await poll.pollAsync(events, timeout);
        consume();
      }
    } else {
      while (delivered < until && polls < maxPolls) {
        write();
        poll.poll(events, timeout);
        consume();
      }
    }
  };
  await loop(Infinity, 2000); // warm-up: let V8 optimize
  delivered = 0;
  polls = 0;
  for (const k of callCounts.keys()) callCounts.set(k, 0);
  // Start the window with an empty young generation (npm run bench passes --expose-gc), so a GC in
  // the window is one the window's own allocations caused.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  await new Promise((r) => setTimeout(r, 200));
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  const c0 = process.cpuUsage();
  await loop(total, Infinity);
  const c = process.cpuUsage(c0);
  await new Promise((r) => setTimeout(r, 200)); // gc entries reach the observer late
  obs.disconnect();
  const calls = Object.fromEntries([...callCounts.entries()].filter(([, n]) => n > 0));
  poll.close();
  for (const [tx, rx] of pipes) {
    tx.close();
    rx.close();
  }
  if (sink < 0) console.log(sink);
  return { events: delivered, cpuUs: c.user + c.system, gcs, polls, calls };
}

if (!(globalThis as { gc?: unknown }).gc)
  console.log('(run with node --expose-gc, as npm run bench:eventqueue does, to start each window with an empty young generation)');
console.log(`event-queue bench: ${MANY} pipes, ${TOTAL} events per mode, backend ${new Poll().backend}, node ${process.version}`);
const rows: Record<string, string | number>[] = [];
const cpuPerEvent: Record<string, number> = {};
const runs: [Mode, number, number | null, string][] = [
  ['for-of', MANY, 1000, 'for-of'],
  ['get(i)', MANY, 1000, 'get(i)'],
  ['pollAsync', MANY, 1000, 'pollAsync'],
  ['run', MANY, null, 'run'],
  ['pollAsync', FEW, 1000, `pollAsync, ${FEW} pipes`],
  ['run', FEW, null, `run, ${FEW} pipes`],
];
for (const K of [MANY, FEW]) for (const t of [null, 0, 1000, 0.5]) runs.push(['for-of', K, t, `poll(${t}), ${K} pipes`]);
for (const [mode, K, timeout, name] of runs) {
  const r = await run(mode, TOTAL, K, timeout);
  if (name === mode) cpuPerEvent[mode] = r.cpuUs / r.events;
  const waits = (r.calls.epoll_wait ?? 0) + (r.calls.poll ?? 0) + (r.calls.epoll_pwait2 ?? 0);
  rows.push({
    mode: name,
    events: r.events,
    'CPU µs/event': (r.cpuUs / r.events).toFixed(3),
    GCs: r.gcs,
    'events/poll': (r.events / r.polls).toFixed(1),
    'wait calls/poll': callCounts.size ? (waits / r.polls).toFixed(2) : 'n/a',
    'FFI calls/event': callCounts.size ? (Object.values(r.calls).reduce((a, b) => a + b, 0) / r.events).toFixed(2) : 'n/a',
  });
}
console.table(rows);
// The observer must be able to see a GC, or its zero means nothing: allocate on purpose and count.
{
  let gcs = 0;
  const obs = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  obs.observe({ entryTypes: ['gc'] });
  let keep: unknown[] = [];
  for (let i = 0; i < 2_000_000; i++) {
    keep.push({ i });
    if (keep.length > 1000) keep = [];
  }
  await new Promise((r) => setTimeout(r, 200));
  obs.disconnect();
  console.log(`observer check: ${gcs} GCs while allocating 2M small objects (must be > 0)`);
}
console.log(`pollAsync / poll CPU per event: ${(cpuPerEvent.pollAsync! / cpuPerEvent['for-of']!).toFixed(3)}x`);
console.log(`run / poll CPU per event: ${(cpuPerEvent.run! / cpuPerEvent['for-of']!).toFixed(3)}x`);
