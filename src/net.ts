// metal-io/net: non-blocking TCP and UDP (mio's net module).
export { TcpListener, TcpStream } from './net/tcp.js';
export { UdpSocket } from './net/udp.js';
export { PeerAddress, DatagramBatch } from './net/datagram.js';
export type { AddressInfo, SocketAddr } from './net/addr.js';
