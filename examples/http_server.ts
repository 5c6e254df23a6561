// An HTTP/1.1 keep-alive server on pollAsync: Node's loop keeps running (timers, signal handlers)
// while metal-io waits for readiness.
//
//   node --import tsx examples/http_server.ts [--port N]
//
// Prints `listening on 127.0.0.1:PORT`. Routes: `GET /` says hello; `GET /bytes/N` sends N bytes
// (a repeating pattern: large answers go out in partial writes); `POST /echo` sends the body back.
// Connections are kept alive (HTTP/1.1, or HTTP/1.0 with `Connection: keep-alive`); pipelined
// requests are answered in order; `Connection: close` closes after the answer. A connection whose
// answers pile up unread stops being read until they drain (1 MiB). Malformed requests get 400,
// oversized headers 431, bodies without Content-Length 411, and the connection closes after them.
// SIGINT/SIGTERM (process.on: pollAsync lets Node's loop run) close everything; exit 0.
import { parseArgs } from 'node:util';
import { type Event, Events, Interest, Poll } from '../src/index.js';
import { TcpListener, type TcpStream } from '../src/net.js';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' } } });
const SERVER = 0;
const MAX_HEAD = 16 * 1024;
const MAX_BODY = 8 * 1024 * 1024;
const MAX_OWED = 1024 * 1024; // unsent answer bytes above which a connection is not read
const PATTERN = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');

interface Conn {
  stream: TcpStream;
  input: Buffer; // bytes received, not yet parsed: input[0, have)
  have: number;
  owed: Buffer[]; // answers not yet written, in order
  owedBytes: number;
  closeAfter: boolean; // close once everything owed is written
}

const poll = new Poll();
const events = new Events(256);
const listener = TcpListener.bind(`127.0.0.1:${Number(values.port)}`);
poll.registry().register(listener, SERVER, Interest.READABLE);
const conns = new Map<number, Conn>();
let nextToken = 1;
const stop = new AbortController();
process.on('SIGINT', () => stop.abort());
process.on('SIGTERM', () => stop.abort());

function answer(c: Conn, status: string, body: Buffer, keepAlive: boolean, type = 'text/plain'): void {
  const head = `HTTP/1.1 ${status}\r\nContent-Type: ${type}\r\nContent-Length: ${body.length}\r\n${keepAlive ? '' : 'Connection: close\r\n'}\r\n`;
  c.owed.push(Buffer.from(head, 'latin1'));
  if (body.length > 0) c.owed.push(body);
  c.owedBytes += head.length + body.length;
  if (!keepAlive) c.closeAfter = true;
}

function patternBytes(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += PATTERN.length) PATTERN.copy(b, i, 0, Math.min(PATTERN.length, n - i));
  return b;
}

/** Answers every complete request in the input (pipelining), in order. */
function parse(c: Conn): void {
  let at = 0;
  while (!c.closeAfter) {
    const end = c.input.subarray(at, c.have).indexOf('\r\n\r\n');
    if (end < 0) {
      if (c.have - at > MAX_HEAD) answer(c, '431 Request Header Fields Too Large', Buffer.alloc(0), false);
      break;
    }
    const head = c.input.toString('latin1', at, at + end).split('\r\n');
    const m = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/.exec(head[0]!);
    const fields = new Map<string, string>();
    let bad = !m;
    for (const line of head.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) {
        bad = true;
        break;
      }
      fields.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    if (bad) {
      answer(c, '400 Bad Request', Buffer.from('bad request\n'), false);
      break;
    }
    const [, method, path, minor] = m!;
    const connection = (fields.get('connection') ?? '').toLowerCase();
    const keepAlive = minor === '1' ? connection !== 'close' : connection === 'keep-alive';
    if (fields.has('transfer-encoding')) {
      answer(c, '411 Length Required', Buffer.from('send Content-Length\n'), false);
      break;
    }
    const lengthText = fields.get('content-length') ?? '0';
    const length = /^\d{1,9}$/.test(lengthText) ? Number(lengthText) : -1;
    if (length < 0 || length > MAX_BODY) {
      answer(c, '400 Bad Request', Buffer.from('bad Content-Length\n'), false);
      break;
    }
    const bodyAt = at + end + 4;
    if (c.have < bodyAt + length) break; // the body is still coming
    const body = c.input.subarray(bodyAt, bodyAt + length);
    at = bodyAt + length;
    const bytes = /^\/bytes\/(\d{1,9})$/.exec(path!);
    if (method === 'GET' && path === '/') answer(c, '200 OK', Buffer.from('hello from metal-io\n'), keepAlive);
    else if (method === 'GET' && bytes && Number(bytes[1]) <= 64 * 1024 * 1024)
      answer(c, '200 OK', patternBytes(Number(bytes[1])), keepAlive, 'application/octet-stream');
    else if (method === 'POST' && path === '/echo') answer(c, '200 OK', Buffer.from(body), keepAlive, 'application/octet-stream');
    else answer(c, '404 Not Found', Buffer.from('not found\n'), keepAlive);
  }
  // Keep the unparsed rest at the front.
  if (at > 0) {
    c.input.copy(c.input, 0, at, c.have);
    c.have -= at;
  }
}

/** Writes what is owed until done or the socket is full (a partial write keeps the rest). */
function flush(c: Conn): void {
  while (c.owed.length > 0) {
    const head = c.owed[0]!;
    const n = c.stream.write(head);
    if (n === null) return;
    c.owedBytes -= n;
    if (n < head.length) c.owed[0] = head.subarray(n);
    else c.owed.shift();
  }
}

function drop(token: number): void {
  conns.get(token)?.stream.close();
  conns.delete(token);
}

function serve(token: number, c: Conn, ev: Event): void {
  if (ev.isWritable()) flush(c);
  // Read while the answers owed are few: a client that does not read stops being read.
  let eof = false;
  while (c.owedBytes < MAX_OWED && !c.closeAfter) {
    if (c.have === c.input.length) {
      if (c.input.length >= MAX_HEAD + MAX_BODY + 4) break;
      const bigger = Buffer.allocUnsafe(c.input.length * 2);
      c.input.copy(bigger, 0, 0, c.have);
      c.input = bigger;
    }
    const n = c.stream.read(c.input, c.have);
    if (n === null) break;
    if (n === 0) {
      eof = true;
      break;
    }
    c.have += n;
    parse(c);
    flush(c);
  }
  if (c.owed.length === 0 && (c.closeAfter || eof)) {
    drop(token);
    return;
  }
  if (eof) c.closeAfter = true; // the client half-closed: answer what it sent, then close
  const wantRead = c.owedBytes < MAX_OWED && !c.closeAfter;
  const interest = c.owed.length > 0 ? (wantRead ? Interest.READABLE | Interest.WRITABLE : Interest.WRITABLE) : Interest.READABLE;
  poll.registry().reregister(c.stream, token, interest);
}

console.log(`listening on 127.0.0.1:${listener.localAddr().port}`);
while (!stop.signal.aborted) {
  try {
    await poll.pollAsync(events, null, stop.signal);
  } catch (e) {
    if (stop.signal.aborted) break;
    throw e;
  }
  for (const ev of events) {
    if (ev.token === SERVER) {
      for (let r = listener.accept(); r !== null; r = listener.accept()) {
        const token = nextToken++;
        conns.set(token, { stream: r[0], input: Buffer.allocUnsafe(4096), have: 0, owed: [], owedBytes: 0, closeAfter: false });
        poll.registry().register(r[0], token, Interest.READABLE);
      }
      continue;
    }
    const c = conns.get(ev.token);
    if (!c) continue;
    try {
      serve(ev.token, c, ev);
    } catch {
      drop(ev.token);
    } // reset by the peer: that connection only
  }
}

for (const token of [...conns.keys()]) drop(token);
listener.close();
poll.close();
console.log('closed');
