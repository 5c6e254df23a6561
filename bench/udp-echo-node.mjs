// Node's own dgram, the idiomatic UDP echo: one 'message' event (a Buffer and an rinfo) and one
// send per datagram.
import { createSocket } from 'node:dgram';

const s = createSocket('udp4');
s.on('message', (msg, rinfo) => s.send(msg, rinfo.port, rinfo.address));
s.bind(Number(process.argv[2] ?? 0), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${s.address().port}`));
process.on('SIGTERM', () => process.exit(0));
