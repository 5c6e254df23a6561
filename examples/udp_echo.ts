// A UDP echo server and one client datagram on loopback (mio's examples/udp_server.rs, with a client).
// A send that would block (the socket's send buffer is full) is kept and sent on the next WRITABLE
// event; dropping it would be UDP's right, but then the client would wait for an echo forever.
import { Events, Interest, Poll } from '../src/index.js';
import { type AddressInfo, UdpSocket } from '../src/net.js';

const SERVER = 0;
const CLIENT = 1;
using poll = new Poll();
const events = new Events(16);
using server = UdpSocket.bind('127.0.0.1:0');
using client = UdpSocket.bind('127.0.0.1:0');
poll.registry().register(server, SERVER, Interest.READABLE | Interest.WRITABLE);
poll.registry().register(client, CLIENT, Interest.READABLE | Interest.WRITABLE);

const ping = Buffer.from('ping');
let pingSent = client.sendTo(ping, server.localAddr()) !== null;
const echoes: [Buffer, AddressInfo][] = []; // echoes whose send would block, oldest first
/** Sends the echoes waiting, in order, until the socket would block. */
function flushEchoes(): void {
  while (echoes.length > 0 && server.sendTo(echoes[0]![0], echoes[0]![1]) !== null) echoes.shift();
}

const buf = Buffer.alloc(1500);
let done = false;
while (!done) {
  poll.poll(events, 5000);
  if (events.isEmpty()) throw new Error('no datagram within 5 s');
  for (const ev of events) {
    if (ev.token === SERVER) {
      flushEchoes();
      let r;
      while ((r = server.recvFrom(buf)) !== null) {
        echoes.push([Buffer.from(buf.subarray(0, r[0])), r[1]]);
        flushEchoes();
      } // echo back
    } else {
      if (!pingSent) pingSent = client.sendTo(ping, server.localAddr()) !== null;
      let r;
      while ((r = client.recvFrom(buf)) !== null) {
        console.log(`echoed '${buf.toString('utf8', 0, r[0])}' from ${r[1].address}:${r[1].port}`);
        done = true;
      }
    }
  }
}
