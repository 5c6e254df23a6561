// An echo over a Unix stream socket in a temporary directory. Both ends cope with what a stream may
// do: a read returns part of the message, a write takes part of it (the rest waits for WRITABLE).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Events, Interest, Poll } from '../src/index.js';
import { UnixListener, UnixStream } from '../src/unix.js';

const dir = mkdtempSync(join(tmpdir(), 'metal-io-'));
const path = join(dir, 'echo.sock');
const LISTENER = 0;
const CLIENT = 1;
const CONN = 2;
const poll = new Poll();
const events = new Events(16);
const listener = UnixListener.bind(path);
poll.registry().register(listener, LISTENER, Interest.READABLE);
const client = UnixStream.connect(path);
poll.registry().register(client, CLIENT, Interest.READABLE | Interest.WRITABLE);

const message = Buffer.from('hello over a Unix socket');
let sent = 0; // how much of the message the client wrote
let conn: UnixStream | null = null;
let owed = Buffer.alloc(0); // what the server read and has not written back yet
const got: Buffer[] = [];
let gotBytes = 0;
const buf = Buffer.alloc(4096);

/** Writes as much of `data` as the socket takes; returns how much. */
function writeSome(s: UnixStream, data: Buffer): number {
  let off = 0;
  for (let n; off < data.length && (n = s.write(data, off, data.length - off)) !== null; ) off += n;
  return off;
}

try {
  while (gotBytes < message.length) {
    poll.poll(events, 5000);
    if (events.isEmpty()) throw new Error('nothing within 5 s');
    for (const ev of events) {
      if (ev.token === LISTENER) {
        let r; // accept until null, as for any edge-triggered source
        while ((r = listener.accept()) !== null) {
          conn = r[0];
          poll.registry().register(conn, CONN, Interest.READABLE | Interest.WRITABLE);
        }
      } else if (ev.token === CONN && conn) {
        let n;
        while ((n = conn.read(buf)) !== null && n > 0) owed = Buffer.concat([owed, buf.subarray(0, n)]);
        owed = owed.subarray(writeSome(conn, owed));
      } else if (ev.token === CLIENT) {
        sent += writeSome(client, message.subarray(sent));
        let n;
        while ((n = client.read(buf)) !== null && n > 0) {
          got.push(Buffer.from(buf.subarray(0, n)));
          gotBytes += n;
        }
      }
    }
  }
  console.log(`echoed '${Buffer.concat(got).toString()}'`);
} finally {
  conn?.close();
  client.close();
  listener.close();
  poll.close();
  rmSync(dir, { recursive: true, force: true });
}
