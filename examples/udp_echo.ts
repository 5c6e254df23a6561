// A UDP echo server and one client datagram on loopback (mio's examples/udp_server.rs, with a client).
import { Poll, Events, Interest } from '../src/index.js';
import { UdpSocket } from '../src/net.js';

const SERVER = 0; const CLIENT = 1;
using poll = new Poll();
const events = new Events(16);
using server = UdpSocket.bind('127.0.0.1:0');
using client = UdpSocket.bind('127.0.0.1:0');
poll.registry().register(server, SERVER, Interest.READABLE);
poll.registry().register(client, CLIENT, Interest.READABLE);
client.sendTo(Buffer.from('ping'), server.localAddr());

const buf = Buffer.alloc(1500);
let done = false;
while (!done) {
  poll.poll(events, 5000);
  if (events.isEmpty()) throw new Error('no datagram within 5 s');
  for (const ev of events) {
    if (ev.token === SERVER) {
      let r;
      while ((r = server.recvFrom(buf)) !== null) server.sendTo(buf.subarray(0, r[0]), r[1]); // echo back
    } else {
      const r = client.recvFrom(buf);
      if (r) { console.log(`echoed '${buf.toString('utf8', 0, r[0])}' from ${r[1].address}:${r[1].port}`); done = true; }
    }
  }
}
