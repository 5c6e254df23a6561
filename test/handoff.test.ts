// Handing sockets between metal-io and node:net, both ways, for TCP and Unix streams and listeners:
// data flows through each handoff, the fd moves (no double close, no stray 'error'), nothing leaks.

import { createSocket, Socket as DgramSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Events, Interest, Poll } from '../src/index.js';
import { TcpListener, TcpStream, UdpSocket, UnixListener, UnixStream } from '../src/net.js';
import { leakedSince, openFds } from './_util/events.js';
import { readExactly, tcpPair, tempDir } from './_util/net.js';

const windows = process.platform === 'win32';
const skip = (what: string) => console.log(`  SKIP ${what}: Node's handles on Windows are not fds to hand over [win32-${process.arch}]`);
const once = <T>(e: NodeJS.EventEmitter, ev: string, ms = 3000) =>
  new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${ev}' within ${ms} ms`)), ms);
    e.once(ev, (v: T) => {
      clearTimeout(t);
      resolve(v);
    });
  });
const listening = (s: Server) => (s.listening ? Promise.resolve() : once<void>(s, 'listening'));
/**
 * Counts fds from here on, after the process-wide spare fds exist: metal-io's listeners' and
 * libuv's (Node's loop opens /dev/null as its reserve the first time a net.Server listens, and keeps it).
 */
let libuvReserve: Promise<void> | null = null;
const fdsNow = async () => {
  TcpListener.bind('127.0.0.1:0').close();
  await (libuvReserve ??= new Promise<void>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => s.close(() => r()));
  }));
  return openFds();
};
/** Node's writes and connects complete on its own loop: let it turn before blocking on a poll. */
const flushed = (s: Socket, data: string) => new Promise<void>((r) => s.write(data, () => r()));

test('TcpStream.intoNodeSocket: node:net reads and writes the same connection; the metal-io side is closed', async () => {
  if (windows) return skip('intoNodeSocket');
  const before = await fdsNow();
  const p = tcpPair();
  const node = p.server.intoNodeSocket();
  try {
    assert.ok(p.server.fd < 0, 'the metal-io stream gave the fd up');
    p.server.close(); // closing again is harmless: no EBADF, and Node's fd is untouched
    p.client.write(Buffer.from('to node'));
    assert.is((await once<Buffer>(node, 'data')).toString(), 'to node');
    node.write('to metal-io');
    assert.is(readExactly(p.client, 11).toString(), 'to metal-io');
  } finally {
    node.destroy();
    p.client.close();
    p.listener.close();
  }
  await once(node, 'close');
  if (before) assert.equal(await leakedSince(before), []);
});

test('TcpStream.fromNodeSocket: a node:net connection continues on metal-io; no double close, no error', async () => {
  if (windows) return skip('fromNodeSocket');
  const before = await fdsNow();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await listening(server);
  const accepted = once<Socket>(server, 'connection');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const nodeSide = await accepted;
  const errors: Error[] = [];
  nodeSide.on('error', (e) => errors.push(e));
  const poll = new Poll();
  const events = new Events(4);
  const stream = TcpStream.fromNodeSocket(nodeSide);
  try {
    poll.registry().register(stream, 1, Interest.READABLE);
    await flushed(client, 'hello metal-io');
    poll.poll(events, 2000);
    assert.is(readExactly(stream, 14).toString(), 'hello metal-io');
    stream.write(Buffer.from('hello node'));
    assert.is((await once<Buffer>(client, 'data')).toString(), 'hello node');
  } finally {
    stream.close();
    poll.close();
  }
  await once(client, 'end');
  client.destroy();
  server.close();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(errors, [], 'no error on the node:net side');
  if (before) assert.equal(await leakedSince(before), []);
});

test('fromNodeSocket refuses to lose buffered bytes; wrong types are TypeErrors', async () => {
  if (windows) return skip('fromNodeSocket');
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await listening(server);
  const accepted = once<Socket>(server, 'connection');
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  const nodeSide = await accepted;
  try {
    nodeSide.pause();
    client.write('unread');
    await new Promise((r) => setTimeout(r, 50));
    nodeSide.read(0); // libuv reads into Node's buffer
    if (nodeSide.readableLength > 0)
      assert.throws(
        () => TcpStream.fromNodeSocket(nodeSide),
        (e: { code?: string }) => e.code === 'ERR_INVALID_STATE',
      );
    assert.throws(
      () => TcpStream.fromNodeSocket({} as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
    assert.throws(
      () => TcpListener.fromNodeServer({} as never),
      (e: { code?: string }) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
  } finally {
    client.destroy();
    nodeSide.destroy();
    server.close();
  }
});

test('listeners both ways: intoNodeServer accepts for Node; fromNodeServer accepts for metal-io', async () => {
  if (windows) return skip('listener handoff');
  const before = await fdsNow();
  const l = TcpListener.bind('127.0.0.1:0');
  const port = l.localAddr().port;
  const server = l.intoNodeServer((s) => {
    s.end('from node server');
  });
  await listening(server);
  const c1 = connect(port, '127.0.0.1');
  assert.is((await once<Buffer>(c1, 'data')).toString(), 'from node server');
  c1.destroy();
  // And back: the node:net Server's fd goes to a metal-io listener.
  const back = TcpListener.fromNodeServer(server);
  const poll = new Poll();
  const events = new Events(4);
  try {
    poll.registry().register(back, 0, Interest.READABLE);
    const c2 = connect(port, '127.0.0.1');
    await once(c2, 'connect');
    poll.poll(events, 2000);
    const a = back.accept();
    assert.ok(a, 'accepted on metal-io');
    a![0].write(Buffer.from('from metal-io listener'));
    assert.is((await once<Buffer>(c2, 'data')).toString(), 'from metal-io listener');
    a![0].close();
    c2.destroy();
  } finally {
    back.close();
    poll.close();
  }
  await new Promise((r) => setTimeout(r, 20));
  if (before) assert.equal(await leakedSince(before), []);
});

test('Unix streams and listeners both ways', async () => {
  if (windows) return skip('Unix handoff');
  const dir = tempDir();
  const before = await fdsNow();
  try {
    const [a, b] = UnixStream.pair();
    const node = a.intoNodeSocket();
    b.write(Buffer.from('unix to node'));
    assert.is((await once<Buffer>(node, 'data')).toString(), 'unix to node');
    node.destroy();
    b.close();
    const server = createServer((s) => s.end('node unix server'));
    server.listen(dir.path('s.sock'));
    await listening(server);
    const l = UnixListener.fromNodeServer(server);
    const c = UnixStream.connect(dir.path('s.sock'));
    const poll = new Poll();
    const events = new Events(2);
    poll.registry().register(l, 0, Interest.READABLE);
    poll.poll(events, 2000);
    const acc = l.accept();
    assert.ok(acc);
    const nodeClient = connect(dir.path('s.sock'));
    await once(nodeClient, 'connect');
    await new Promise((r) => setTimeout(r, 20));
    poll.poll(events, 2000);
    const acc2 = l.accept()!;
    const back = UnixStream.fromNodeSocket(nodeClient);
    acc2[0].write(Buffer.from('x'));
    assert.is(readExactly(back, 1).toString(), 'x');
    for (const s of [acc![0], acc2[0], back, c, l]) s.close();
    poll.close();
    await new Promise((r) => setTimeout(r, 20));
    if (before) assert.equal(await leakedSince(before), []);
  } finally {
    dir.remove();
  }
});

test('UDP both ways: intoNodeDgram receives and sends for Node; fromNodeDgram continues on metal-io', async () => {
  if (windows) {
    const u = UdpSocket.bind('127.0.0.1:0');
    try {
      assert.throws(
        () => u.intoNodeDgram(),
        (e: NodeJS.ErrnoException) => e.code === 'ERR_METAL_IO_UNSUPPORTED',
      );
      assert.ok(u.fd >= 0, 'nothing given up');
    } finally {
      u.close();
    }
    return skip('UDP handoff');
  }
  const before = await fdsNow();
  const peer = UdpSocket.bind('127.0.0.1:0');
  const poll = new Poll();
  const events = new Events(4);
  poll.registry().register(peer, 1, Interest.READABLE);
  const recv = (buf = Buffer.alloc(64)) => {
    for (let i = 0; i < 100; i++) {
      const r = peer.recvFrom(buf);
      if (r) return [buf.toString('utf8', 0, r[0]), r[1].port] as const;
      poll.poll(events, 20);
    }
    throw new Error('no datagram');
  };
  // Into Node.
  const mine = UdpSocket.bind('127.0.0.1:0');
  const port = mine.localAddr().port;
  const node = mine.intoNodeDgram();
  try {
    assert.ok(node instanceof DgramSocket);
    assert.ok(mine.fd < 0);
    mine.close();
    assert.is(node.address().port, port, 'the same socket');
    peer.sendTo(Buffer.from('to node'), `127.0.0.1:${port}`);
    assert.is((await once<Buffer>(node, 'message')).toString(), 'to node');
    await new Promise<void>((r, j) => node.send('from node', peer.localAddr().port, '127.0.0.1', (e) => (e ? j(e) : r())));
    assert.equal(recv(), ['from node', port]);
  } finally {
    node.close();
  }
  // From Node: a datagram Node has not read yet stays queued for metal-io.
  const theirs = createSocket('udp4');
  await new Promise<void>((r) => theirs.bind(0, '127.0.0.1', () => r()));
  let nodeGotOne = false;
  theirs.on('message', () => {
    nodeGotOne = true;
  });
  const theirPort = theirs.address().port;
  peer.sendTo(Buffer.from('queued in the kernel'), `127.0.0.1:${theirPort}`); // Node's loop does not turn before the takeover
  const taken = UdpSocket.fromNodeDgram(theirs);
  try {
    assert.is(taken.localAddr().port, theirPort);
    const buf = Buffer.alloc(64);
    let r = null;
    poll.registry().register(taken, 2, Interest.READABLE);
    for (let i = 0; i < 100 && !r; i++) {
      r = taken.recvFrom(buf);
      if (!r) poll.poll(events, 20);
    }
    assert.ok(r, 'the datagram was kept');
    assert.is(buf.toString('utf8', 0, r![0]), 'queued in the kernel');
    taken.sendTo(Buffer.from('from metal-io'), `127.0.0.1:${peer.localAddr().port}`);
    assert.equal(recv(), ['from metal-io', theirPort]);
    await new Promise((res) => setTimeout(res, 20));
    assert.not.ok(nodeGotOne, "Node's closed copy read nothing");
    assert.throws(
      () => UdpSocket.fromNodeDgram(theirs),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_STATE',
      'closed: no fd',
    );
    assert.throws(
      () => UdpSocket.fromNodeDgram({} as never),
      (e: NodeJS.ErrnoException) => e.code === 'ERR_INVALID_ARG_TYPE',
    );
  } finally {
    taken.close();
    peer.close();
    poll.close();
  }
  if (before) assert.equal(await leakedSince(before), []);
});

test.run();
