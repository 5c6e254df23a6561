// libuv's watch of an fd's readability (uv_poll_t) on Node's main-thread loop, called through koffi
// directly instead of through koffi.node.poll, whose callback makes an object and three property
// names on every call: here libuv calls a koffi callback whose three arguments are plain integers
// (the handle's address is declared as its low 32 bits, which is what the C calling conventions
// koffi runs on pass first; it is never read), so a turn makes no JavaScript value. Only the main
// thread's loop is reachable (uv_default_loop): a worker's waits run on a koffi thread instead.
//
// The handle lives in native memory (calloc) until libuv's close callback frees it; the poll
// callback is released a turn after uv_close, when nothing can call it (close() may run inside it).
import { systemError } from '../errors.js';
import { makeCallback, releaseCallback } from '../ffi.js';
import { constant, fn } from '../os.js';

let freeOnClose: bigint | null = null;

function check(call: string, r: number): void {
  if (r < 0) throw systemError(call, -r);
}

export class UvPollWatch {
  #handle: bigint | null;
  #cb: bigint;
  #onReadable: () => void;

  constructor(fd: number, onReadable: () => void) {
    const size = Number(fn('uv_handle_size')(constant('UV_POLL')));
    const h = fn('calloc')(1, size) as bigint | null;
    if (!h) throw systemError('calloc', constant('ENOMEM'));
    const r = fn('uv_poll_init')(fn('uv_default_loop')() as bigint, h, fd);
    if (r < 0) {
      fn('free')(h);
      throw systemError('uv_poll_init', -r);
    }
    this.#handle = h;
    this.#onReadable = onReadable;
    this.#cb = makeCallback('void metal_io_uv_poll_cb(int32_t handle, int status, int events)', () => this.#fire());
    this.start(onReadable);
  }

  #fire(): void {
    try {
      this.#onReadable();
    } catch (e) {
      // Nothing may be thrown back into libuv: it becomes an uncaught exception in a turn of Node's own.
      setImmediate(() => {
        throw e;
      });
    }
  }

  /** Watches again (or still), calling `onReadable` on each readable turn. */
  start(onReadable: () => void): void {
    const h = this.#handle;
    if (!h) return;
    this.#onReadable = onReadable;
    check('uv_poll_start', fn('uv_poll_start')(h, constant('UV_READABLE'), this.#cb));
  }

  stop(): void {
    if (this.#handle) fn('uv_poll_stop')(this.#handle);
  }

  ref(): void {
    if (this.#handle) fn('uv_ref')(this.#handle);
  }

  unref(): void {
    if (this.#handle) fn('uv_unref')(this.#handle);
  }

  close(): void {
    const h = this.#handle;
    if (!h) return;
    this.#handle = null;
    freeOnClose ??= makeCallback('void metal_io_uv_close_cb(void *handle)', (p: bigint) => fn('free')(p));
    fn('uv_close')(h, freeOnClose);
    const cb = this.#cb;
    setImmediate(() => releaseCallback(cb));
  }
}
