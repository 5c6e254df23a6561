// An echo over a Unix stream socket in a temporary directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Poll, Events, Interest } from '../src/index.js';
import { UnixListener, UnixStream } from '../src/unix.js';

const dir = mkdtempSync(join(tmpdir(), 'metal-io-'));
const path = join(dir, 'echo.sock');
const LISTENER = 0; const CLIENT = 1; const CONN = 2;
const poll = new Poll();
const events = new Events(16);
const listener = UnixListener.bind(path);
poll.registry().register(listener, LISTENER, Interest.READABLE);
const client = UnixStream.connect(path);
poll.registry().register(client, CLIENT, Interest.READABLE);
client.write(Buffer.from('hello over a Unix socket'));

let conn: UnixStream | null = null;
const buf = Buffer.alloc(4096);
let done = false;
try {
  while (!done) {
    poll.poll(events, 5000);
    if (events.isEmpty()) throw new Error('nothing within 5 s');
    for (const ev of events) {
      if (ev.token === LISTENER) {
        const r = listener.accept();
        if (r) { conn = r[0]; poll.registry().register(conn, CONN, Interest.READABLE); }
      } else if (ev.token === CONN && conn) {
        let n; while ((n = conn.read(buf)) !== null && n > 0) conn.write(buf.subarray(0, n));
      } else if (ev.token === CLIENT) {
        const n = client.read(buf);
        if (n) { console.log(`echoed '${buf.toString('utf8', 0, n)}'`); done = true; }
      }
    }
  }
} finally {
  conn?.close(); client.close(); listener.close(); poll.close();
  rmSync(dir, { recursive: true, force: true });
}
