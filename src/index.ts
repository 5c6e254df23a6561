// metal-io: Mio for Node.js. The event queue; net types live in metal-io/net, Unix extras in
// metal-io/unix, raw syscalls in metal-io/sys.

export type { SystemError } from './errors.js';
export { Event, Events } from './event.js';
export { Interest } from './interest.js';
export {
  type FaultPlan,
  type FaultReport,
  Poll,
  type PollOptions,
  type PollRunner,
  Registry,
  type RunOptions,
  type Source,
} from './poll.js';
export { Signals } from './signals.js';
export type { WakerHandle } from './sys/selector.js';
export type { Token } from './token.js';
export { Waker } from './waker.js';
