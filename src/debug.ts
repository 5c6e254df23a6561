// NODE_DEBUG=metal-io: the library's debug log (util.debuglog). Free when off: callers test
// `debug.enabled` before building a message that costs anything.
import { debuglog } from 'node:util';

export const debug = debuglog('metal-io');
