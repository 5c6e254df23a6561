// metal-io/net: non-blocking TCP and UDP (mio's net module).
export { TcpListener, TcpStream } from './net/tcp.js';
export { UdpSocket } from './net/udp.js';
export { PeerAddress, DatagramBatch } from './net/datagram.js';
// Unix-domain sockets live in net too, as in mio (mio::net::UnixStream) and Node's net; metal-io/unix keeps them as well.
export { UnixListener, UnixStream, UnixDatagram, UnixSocketAddress } from './net/uds.js';
export type { AddressInfo, SocketAddr } from './net/addr.js';
export type { BindOptions } from './net/tcp.js';
