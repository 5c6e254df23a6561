// mio's README example, line by line: a TCP server and a client on one event loop.
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream } from '../src/net.js';

// Some tokens to allow us to identify which event is for which socket.
const SERVER = 0;
const CLIENT = 1;

// Create a poll instance.
const poll = new Poll();
// Create storage for events.
const events = new Events(128);

// Setup the server socket.
const addr = '127.0.0.1:0'; // mio's example uses 127.0.0.1:13265; port 0 picks a free one
const server = TcpListener.bind(addr);
// Start listening for incoming connections.
poll.registry().register(server, SERVER, Interest.READABLE);

// Setup the client socket.
const client = TcpStream.connect(server.localAddr());
// Register the socket.
poll.registry().register(client, CLIENT, Interest.READABLE | Interest.WRITABLE);

let accepted = false;
let connected = false;
// Start an event loop.
while (!(accepted && connected)) {
  // Poll Mio for events, blocking until we get an event.
  poll.poll(events, null);
  // Process each event.
  for (const event of events) {
    // We can use the token we previously provided to `register` to determine for which socket the event is.
    switch (event.token) {
      case SERVER: {
        // If this is an event for the server, it means a connection is ready to be accepted.
        // Accept the connection and drop it immediately. This will close the socket and notify the client of the EOF.
        const conn = server.accept();
        if (conn) {
          conn[0].close();
          accepted = true;
          console.log('server accepted a connection');
        }
        break;
      }
      case CLIENT:
        if (event.isWritable() && !connected) {
          connected = true;
          console.log('client connected');
        }
        if (event.isReadable()) {
          /* We can (likely) read from the socket without blocking. */
        }
        // Since the server just shuts down the connection, let's just exit from our event loop.
        break;
      default:
        // We don't expect any events with tokens other than those we provided.
        throw new Error('unreachable');
    }
  }
}
client.close();
server.close();
poll.close();
