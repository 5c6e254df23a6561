// metal-io/net: non-blocking TCP and UDP (mio's net module).

export type { AddressInfo, SocketAddr } from './net/addr.js';
export { DatagramBatch, PeerAddress } from './net/datagram.js';
export type { BindOptions } from './net/tcp.js';
export { TcpListener, TcpStream } from './net/tcp.js';
export { UdpSocket } from './net/udp.js';
// Unix-domain sockets live in net too, as in mio (mio::net::UnixStream) and Node's net; metal-io/unix keeps them as well.
export { UnixDatagram, UnixListener, UnixSocketAddress, UnixStream } from './net/uds.js';
