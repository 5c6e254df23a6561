// The floor under poll.run()'s allocations: a uv_poll_t on Node's loop over a pipe that stays
// readable (libuv's poll is level-triggered, so it fires on every turn of the loop) calling a koffi
// callback that only counts. Prints the garbage collections per 1,000,000 calls over a 5 s window.
// Run: node --expose-gc --import tsx bench/uv-callback.ts
import { PerformanceObserver } from 'node:perf_hooks';
import { makeCallback } from '../src/sys/ffi.js';
import { constant, fn } from '../src/sys/os.js';
import { pipe } from '../src/unix.js';

const [tx, rx] = pipe();
tx.write(Buffer.from('x'));
const h = fn('calloc')(1, Number(fn('uv_handle_size')(constant('UV_POLL')))) as bigint;
fn('uv_poll_init')(fn('uv_default_loop')() as bigint, h, rx.fd);
let calls = 0;
const cb = makeCallback('void metal_io_bench_cb(int32_t handle, int status, int events)', () => {
  calls++;
});
fn('uv_poll_start')(h, constant('UV_READABLE'), cb);
let gcs = 0;
const obs = new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
});
setTimeout(() => {
  (globalThis as { gc?: () => void }).gc?.();
  const c0 = calls;
  obs.observe({ entryTypes: ['gc'] });
  setTimeout(() => {
    const n = calls - c0;
    fn('uv_poll_stop')(h);
    obs.disconnect();
    console.log(`${process.version}: ${n} callbacks in 5 s, ${gcs} GCs, ${((gcs / n) * 1e6).toFixed(1)} per 1,000,000`);
    tx.close();
    rx.close();
  }, 5000);
}, 1000);
