// metal-io: Mio for Node.js. The event queue; net types live in metal-io/net, Unix extras in
// metal-io/unix, raw syscalls in metal-io/sys.
export { Poll, Registry, type Source, type PollOptions, type FaultPlan, type FaultReport } from './poll.js';
export { Events, Event } from './event.js';
export { Interest } from './interest.js';
export type { Token } from './token.js';
export { Waker } from './waker.js';
export { Signals } from './signals.js';
export type { WakerHandle } from './sys/selector.js';
export type { SystemError } from './errors.js';
