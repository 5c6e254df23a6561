// poll(2) event bits, as the poll(2) backend and event ports (whose events are poll(2) bits) use
// them: mio's translations both ways, and what an edge-emulating source stops watching.
import { Interest } from '../../../interest.js';
import { invalidArg } from '../../../validators.js';
import { constant, mod } from '../../os.js';
import { Ready } from '../../selector.js';

/** The running target's poll(2) bits, read on first use (importing this elsewhere must not throw). */
export interface PollBits {
  IN: number;
  OUT: number;
  PRI: number;
  ERR: number;
  HUP: number;
  NVAL: number;
  RDHUP: number;
}
let bits: PollBits | null = null;
export function pollBits(): PollBits {
  return (bits ??= {
    IN: constant('POLLIN'),
    OUT: constant('POLLOUT'),
    PRI: constant('POLLPRI'),
    ERR: constant('POLLERR'),
    HUP: constant('POLLHUP'),
    NVAL: constant('POLLNVAL'),
    RDHUP: mod.constants.POLLRDHUP ?? 0,
  });
}

/** The poll(2) events an interest asks for; `backend` names who refuses AIO/LIO. */
export function interestsToPoll(interest: Interest, backend: string): number {
  const b = pollBits();
  let kind = 0;
  if (interest & Interest.READABLE) kind |= b.IN | b.RDHUP;
  if (interest & Interest.WRITABLE) kind |= b.OUT;
  if (interest & Interest.PRIORITY) kind |= b.PRI;
  if (interest & (Interest.AIO | Interest.LIO))
    throw invalidArg(`Interest.${interest & Interest.AIO ? 'AIO' : 'LIO'} is not supported by ${backend} (${mod.target.name})`);
  return kind;
}

/** mio's event translation for poll(2) bits. */
export function readiness(e: number): number {
  const b = pollBits();
  let r = 0;
  if (e & (b.IN | b.PRI)) r |= Ready.READABLE;
  if (e & b.OUT) r |= Ready.WRITABLE;
  if (e & (b.ERR | b.NVAL)) r |= Ready.ERROR;
  // POLLRDHUP alone is read-closed too: after a readable event that was not drained the source
  // watches only what did not fire, and a shutdown(read) then reports POLLRDHUP without POLLIN.
  if (e & (b.HUP | b.RDHUP)) r |= Ready.READ_CLOSED;
  if (e & b.HUP || (e & b.OUT && e & b.ERR) || e === b.ERR) r |= Ready.WRITE_CLOSED;
  if (e & b.PRI) r |= Ready.PRIORITY;
  return r;
}

/**
 * The poll events an edge-emulating source stops watching once `rev` was reported: exactly the bits
 * that fired, as mio's poll selector (`events &= !revents`). A readable event leaves POLLRDHUP
 * armed, so a later shutdown or FIN is still reported while the data waits to be read.
 */
export function triggered(rev: number): number {
  const b = pollBits();
  return rev & (b.IN | b.RDHUP | b.OUT | b.PRI);
}

/** Whether `rev` says the fd is gone or broken: the source is disabled until reregistered. */
export function isDead(rev: number): boolean {
  const b = pollBits();
  return (rev & (b.HUP | b.ERR | b.NVAL)) !== 0;
}
