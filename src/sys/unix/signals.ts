// Signals on Unix, through the running Node's libuv, which owns the process's signal handlers.
//
// libuv installs one handler per signal for the whole process and hands each caught signal to every
// loop that has a uv_signal_t for it, by writing to that loop's signal pipe. Node's own loop gets
// it (process.on listeners keep working), and so does a private loop made here: its backend fd
// (epoll on Linux, kqueue on the BSDs and macOS) turns readable, which any Poll backend can watch.
// Draining runs the private loop once without blocking (UV_RUN_NOWAIT); its signal callbacks,
// made synchronously on this thread during that call, record the signal numbers.
//
// Nothing here depends on when the signal comes: one caught while JavaScript runs stays in the
// pipe until drained, so a blocking loop cannot miss it between two waits (the self-pipe trick,
// done by libuv). The private loop belongs to the thread that made it (a worker can have its own).
import { constant, fn } from '../os.js';
import { makeCallback, pinnedBuffer, releaseCallback } from '../ffi.js';
import { systemError } from '../../errors.js';

/** A set of caught signals, readable as an fd. */
export interface SignalSet {
  /** The fd to watch for readability. */
  readonly fd: number;
  /** Signal numbers caught since the last drain, each once, in the order first caught. */
  drain(): number[];
  /** Stops catching (libuv restores the default action when no other loop watches a signal). */
  close(): void;
}

function check(call: string, r: number): void { if (r < 0) throw systemError(call, -r); }

class UvSignalSet implements SignalSet {
  readonly fd: number;
  #loop: Buffer | null;
  #handles: Buffer[] = [];
  #caught: number[] = [];
  #cb: bigint;

  constructor(signums: readonly number[]) {
    const loop = pinnedBuffer(Number(fn('uv_loop_size')()));
    check('uv_loop_init', fn('uv_loop_init')(loop));
    this.#loop = loop;
    const caught = this.#caught;
    this.#cb = makeCallback('void metal_io_uv_signal_cb(void *handle, int signum)', (_h: unknown, signum: number) => {
      if (!caught.includes(signum)) caught.push(signum);
    });
    try {
      const size = Number(fn('uv_handle_size')(constant('UV_SIGNAL')));
      for (const signum of signums) {
        const h = pinnedBuffer(size);
        check('uv_signal_init', fn('uv_signal_init')(loop, h));
        this.#handles.push(h); // initialized: closed by close() from here on
        check('uv_signal_start', fn('uv_signal_start')(h, this.#cb, signum));
      }
      // libuv adds the signal pipe to its epoll/kqueue set on the first run, not at init.
      this.#run();
      this.fd = fn('uv_backend_fd')(loop);
      if (this.fd < 0) throw systemError('uv_backend_fd', constant('EBADF'));
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #run(): void { fn('uv_run')(this.#loop!, constant('UV_RUN_NOWAIT')); }

  drain(): number[] {
    if (!this.#loop) return [];
    this.#run();
    return this.#caught.splice(0);
  }

  close(): void {
    const loop = this.#loop;
    if (!loop) return;
    this.#loop = null;
    for (const h of this.#handles) fn('uv_close')(h, null);
    // Closing handles finish at the end of a loop iteration; then the loop can close (and its fds).
    for (let i = 0; i < 4; i++) {
      fn('uv_run')(loop, constant('UV_RUN_NOWAIT'));
      if (fn('uv_loop_close')(loop) === 0) break;
    }
    this.#handles = [];
    releaseCallback(this.#cb);
  }
}

/** Catches `signums` in a set this thread can watch as an fd. */
export function createSignalSet(signums: readonly number[]): SignalSet { return new UvSignalSet(signums); }
