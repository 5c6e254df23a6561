// A UDP request/response server on batches (recvMany/sendMany: one system call each way per batch,
// nothing allocated per datagram), and a client in the same process that sends it 1000 requests
// from 10 sockets. The protocol: a request is a 4-byte id and a text; the reply is the id and the
// text upper-cased. Prints `1000 replies, all correct` and exits 0.
import { Events, Interest, Poll } from '../src/index.js';
import { DatagramBatch, PeerAddress, UdpSocket } from '../src/net.js';

const SERVER = 0;
const poll = new Poll();
const events = new Events(64);
const server = UdpSocket.bind('127.0.0.1:0');
poll.registry().register(server, SERVER, Interest.READABLE);
const batch = new DatagramBatch(64, 512);
let unsentFrom = 0;
let unsentTo = 0; // replies in `batch` that the send buffer had no room for yet

/** Sends the replies not sent yet; false when the socket would block (a WRITABLE event comes). */
function sendReplies(): boolean {
  while (unsentFrom < unsentTo) {
    const m = server.sendMany(batch, unsentTo - unsentFrom, unsentFrom);
    if (m === null) return false;
    unsentFrom += m;
  }
  return true;
}

/**
 * Answers every queued request in place: same slot, same peer, the text upper-cased. When the
 * send buffer fills, reading stops (the batch still holds unsent replies) until WRITABLE says
 * there is room; the requests wait in the kernel's queue meanwhile.
 */
function serve(): void {
  if (unsentFrom < unsentTo) {
    if (!sendReplies()) return;
    poll.registry().reregister(server, SERVER, Interest.READABLE);
  }
  for (;;) {
    const n = server.recvMany(batch);
    if (n === null) return;
    for (let i = 0; i < n; i++) {
      const d = batch.slot(i);
      const len = batch.lengthOf(i);
      if (len < 4 || batch.truncated(i)) {
        batch.setLength(i, 0);
        continue;
      } // malformed: reply empty
      for (let k = 4; k < len; k++) {
        const c = d[k]!;
        if (c >= 0x61 && c <= 0x7a) d[k] = c - 32;
      }
    }
    unsentFrom = 0;
    unsentTo = n;
    if (!sendReplies()) {
      poll.registry().reregister(server, SERVER, Interest.WRITABLE);
      return;
    }
    if (n < batch.capacity) return; // a partial batch: drained for now
  }
}

// The client: 10 sockets, 100 requests each, at most 8 in flight per socket (UDP drops what a full
// receive buffer cannot take: a real client keeps a window, and would retransmit), replies matched by id.
// A send that would block is kept and sent again on the socket's next event (WRITABLE is registered).
const PER_CLIENT = 100;
const WINDOW = 8;
const clients = Array.from({ length: 10 }, () => UdpSocket.bind('127.0.0.1:0'));
clients.forEach((c, i) => {
  poll.registry().register(c, 1 + i, Interest.READABLE | Interest.WRITABLE);
});
const to = new PeerAddress(server.localAddr());
const expected = new Map<number, string>();
const sentBy = clients.map(() => 0);
const unsent: Buffer[][] = clients.map(() => []); // requests whose send would block, oldest first
/** Sends what is waiting, in order; false when the socket would block again. */
function flush(ci: number): boolean {
  const q = unsent[ci]!;
  while (q.length > 0) {
    if (clients[ci]!.sendToPeer(q[0]!, to) === null) return false;
    q.shift();
  }
  return true;
}
function sendNext(ci: number): void {
  if (sentBy[ci]! >= PER_CLIENT) return;
  const c = clients[ci]!;
  const rid = ci * PER_CLIENT + sentBy[ci]!++;
  const text = `request ${rid} from port ${c.localAddr().port}`;
  const req = Buffer.alloc(4 + text.length);
  req.writeUInt32LE(rid, 0);
  req.write(text, 4);
  expected.set(rid, text.toUpperCase());
  unsent[ci]!.push(req);
  flush(ci);
}
clients.forEach((_, ci) => {
  for (let k = 0; k < WINDOW; k++) sendNext(ci);
});
const total = clients.length * PER_CLIENT;

let replies = 0;
let wrong = 0;
const buf = Buffer.alloc(512);
const from = new PeerAddress();
const deadline = Date.now() + 10_000;
while (replies < total && Date.now() < deadline) {
  poll.poll(events, 100);
  for (const ev of events) {
    if (ev.token === SERVER) {
      serve();
      continue;
    }
    const c = clients[ev.token - 1]!;
    flush(ev.token - 1);
    let n;
    while ((n = c.recvFromPeer(buf, from)) !== null) {
      const rid = buf.readUInt32LE(0);
      if (buf.toString('utf8', 4, n) === expected.get(rid) && from.equals(to)) replies++;
      else wrong++;
      sendNext(ev.token - 1);
    }
  }
}
console.log(`${replies} replies, ${wrong ? `${wrong} wrong` : 'all correct'}`);
for (const c of [...clients, server]) c.close();
poll.close();
process.exit(replies === total && wrong === 0 ? 0 : 1);
