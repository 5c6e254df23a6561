// Base of TcpListener and UnixListener: accept(), and what it does when the process runs out of fds.
import type { Server as NodeServer, Socket as NodeSocket } from 'node:net';
import { debug } from '../debug.js';
import { errorByName, type SystemError } from '../errors.js';
import { FAULTS } from '../faults.js';
import { Interest } from '../interest.js';
import { fdsFreed, ioOf } from '../io-source.js';
import { track, untrack } from '../orphans.js';
import { sock } from '../sys/net.js';
import { constant } from '../sys/os.js';
import { argTypeError, guardThis, validInteger } from '../validators.js';
import { checkHandover, nodeServerOf } from './node.js';
import { acceptFd, SocketBase } from './socket.js';

// ---- running out of fds at accept ----------------------------------------------------------------
//
// A listener is edge-triggered: after accept() fails with EMFILE, the connections already queued
// produce no new event, so a server that just waits for the next event stops accepting them even
// once fds free up. ListenerBase therefore turns the resource errors (EMFILE, ENFILE, ENOBUFS,
// ENOMEM) into a paused state instead of an exception: accept() returns null, `acceptPaused` is
// true, and the listener's Poll reports it readable again when a retry is worth it: after
// `acceptRetryIn()` ms (an exponential back-off from 5 ms to 1 s), or at once after any metal-io
// object of this thread closes its fd (IoSource.pauseUntil). So a loop that calls accept() until
// null on every readable event needs nothing more; the first accept() that works resumes. A pause
// that lasts `acceptShedAfter` ms (1 s by default) refuses the queued connections promptly instead
// of leaving them hanging, with libuv's reserved-fd trick: close a spare fd kept for this, accept
// into its slot and close at once, until the queue is empty; then take the spare again.

const RESOURCE_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1000;

/**
 * The spare fd for shedding (one per thread, as libuv keeps one per loop); -1 when none is held.
 * Recorded for a worker's parent (src/orphans.ts), so a terminated worker does not leave it open.
 */
let spareFd = -1;
let spareSlot = -1;
function takeSpare(): void {
  if (spareFd >= 0 || !sock().fds) return; // Winsock sockets are not fds: no per-process slot to free
  try {
    spareFd = sock().socket(constant('AF_INET'), constant('SOCK_DGRAM'));
  } catch {
    return; /* none free now; retried later */
  }
  spareSlot = track(spareFd);
  if (spareSlot >= 0 && !spareAtExit) {
    spareAtExit = true;
    process.once('exit', () => {
      if (spareFd >= 0) dropSpare();
    });
  } // a worker that ends normally closes it itself
}
let spareAtExit = false;
function dropSpare(): void {
  untrack(spareSlot); // before the close: a terminate must never close the number again
  spareSlot = -1;
  sock().close(spareFd);
  spareFd = -1;
}

/** Base of TcpListener and UnixListener: accept with the paused state and shedding above. */
export class ListenerBase extends SocketBase {
  #pausedAt = -1;
  #delay = 0;
  #shedAfter: number | null = 1000;
  #shed = 0;
  #freedSeen = -1;
  static {
    guardThis(this, (o) => #pausedAt in o, 'TcpListener or UnixListener');
  }

  constructor(fd: number, what: string) {
    super(fd, what);
    takeSpare();
  }

  /** True while accept() is paused because the process or system ran out of fds or memory. */
  get acceptPaused(): boolean {
    return this.#pausedAt >= 0;
  }
  protected override inspectState(): string {
    return this.acceptPaused ? ', accept paused' : '';
  }

  /** While paused: milliseconds until accept() is worth calling again (0: now); null when not paused. */
  acceptRetryIn(): number | null {
    if (this.#pausedAt < 0) return null;
    const left = ioOf(this).retryAt - performance.now();
    return left > 0 ? Math.ceil(left) : 0;
  }

  /** How long a pause may leave queued connections waiting, with no fd closed meanwhile, before they are refused (null: never). Default 1000 ms. */
  get acceptShedAfter(): number | null {
    return this.#shedAfter;
  }
  /** Sets it: an integer number of milliseconds, or null. */
  set acceptShedAfter(ms: number | null) {
    this.#shedAfter = ms === null ? null : validInteger(ms, 'acceptShedAfter', 0, 0x7fffffff);
  }

  /** How many queued connections this listener refused while paused (closed at once after accepting). */
  get acceptShedCount(): number {
    return this.#shed;
  }

  /**
   * Hands the listening socket to node:net: a `net.Server` listening on the same fd (`onConnection`
   * becomes its 'connection' listener). This object is left closed (deregistered first); the fd is
   * Node's now. Unix only (ERR_METAL_IO_UNSUPPORTED on Windows, before anything is given up).
   */
  intoNodeServer(onConnection?: (socket: NodeSocket) => void): NodeServer {
    checkHandover('intoNodeServer');
    // Every argument is checked before the listener is given up.
    if (onConnection !== undefined && typeof onConnection !== 'function')
      throw argTypeError('onConnection', 'of type function', onConnection);
    return nodeServerOf(this.intoRawFd(), onConnection);
  }

  /** The fd of the next connection, or null: none queued (would-block, re-armed) or paused. */
  protected acceptRaw(): number | null {
    const lfd = ioOf(this).checkOpen('accept');
    let fd: number | null;
    try {
      if (FAULTS.on) {
        const code = ioOf(this).faults()?.accept() ?? null;
        if (code === 'EAGAIN') {
          ioOf(this).wouldBlock();
          ioOf(this).faultReady(Interest.READABLE);
          return null;
        }
        if (code !== null) throw errorByName('accept', code, 'injected by fault injection (METAL_IO_FAULTS)');
      }
      fd = acceptFd(lfd);
    } catch (e) {
      if (!RESOURCE_ERRORS.has((e as SystemError).code)) throw e;
      this.#pause(lfd, (e as SystemError).code);
      ioOf(this).settled(); // done for now: the Poll reports the listener again when a retry is worth it
      return null; // not re-armed: the queue is not empty, and poll(2) would report it at once again
    }
    if (this.#pausedAt >= 0) this.#resume();
    if (fd === null) ioOf(this).wouldBlock();
    return fd;
  }

  #pause(lfd: number, code: string): void {
    const now = performance.now();
    if (this.#pausedAt < 0) {
      this.#pausedAt = now;
      this.#delay = BACKOFF_MIN_MS;
      debug('%s fd %d: accept %s, paused', this.constructor.name, lfd, code);
    } else this.#delay = Math.min(this.#delay * 2, BACKOFF_MAX_MS);
    // Shedding is for a pause with no progress: an fd closed since the last attempt restarts its clock.
    const f = fdsFreed();
    if (f !== this.#freedSeen) {
      this.#freedSeen = f;
      this.#pausedAt = now;
    }
    ioOf(this).pauseUntil(now + this.#delay);
    if (this.#shedAfter !== null && now - this.#pausedAt >= this.#shedAfter) this.#shedQueue(lfd);
  }

  #resume(): void {
    debug('%s fd %d: accept resumed after %d ms', this.constructor.name, ioOf(this).fd, Math.round(performance.now() - this.#pausedAt));
    this.#pausedAt = -1;
    this.#delay = 0;
    ioOf(this).pauseUntil(-1);
    takeSpare();
  }

  /** libuv's trick: free the spare slot, then accept-and-close until the queue is empty. */
  #shedQueue(lfd: number): void {
    if (spareFd < 0) return;
    const api = sock();
    dropSpare();
    let n = 0;
    try {
      for (;;) {
        const fd = acceptFd(lfd);
        if (fd === null) {
          ioOf(this).wouldBlock();
          break;
        }
        api.close(fd);
        n++;
      }
    } catch {
      /* out of fds again (another thread took the slot): stop here */
    }
    this.#shed += n;
    takeSpare();
    if (n > 0) debug('%s fd %d: refused %d queued connections while out of fds', this.constructor.name, lfd, n);
  }
}
