// The generator: golden output on a tiny fixture, validation messages that point at the line, and
// the drift check that keeps generated/ equal to what syscalls.yaml gives.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSpec, loadSpec, SpecError } from '../codegen/model.js';
import { emitAll, koffiPrototype } from '../codegen/emit.js';
import { checkGenerated } from '../codegen/main.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const tiny = readFileSync(here('./fixtures/tiny.yaml'), 'utf8');

test('golden: the tiny fixture generates exactly the committed files', () => {
  const files = emitAll(parseSpec(tiny, 'tiny.yaml'));
  assert.equal([...files.keys()], ['generated/index.ts', 'generated/linux-ia32.ts', 'generated/linux-x64.ts', 'generated/probes/linux-x64.c', 'generated/types.ts']);
  for (const [path, text] of files) {
    const golden = here(`./fixtures/golden/${path.replace(/^generated\//, '').replace(/\//g, '__')}`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
    assert.ok(existsSync(golden), `missing golden ${golden} (UPDATE_GOLDEN=1 writes it)`);
    assert.fixture(text, readFileSync(golden, 'utf8'), path);
  }
});

test('golden: output is deterministic', () => {
  const a = emitAll(parseSpec(tiny)); const b = emitAll(parseSpec(tiny));
  assert.equal([...a.entries()], [...b.entries()]);
});

test('layout: packed on x64 (12 bytes), natural i386 alignment gives 12 too', () => {
  const spec = parseSpec(tiny);
  const x64 = spec.models.find((m) => m.target.name === 'linux-x64')!.structs[0]!;
  const ia32 = spec.models.find((m) => m.target.name === 'linux-ia32')!.structs[0]!;
  assert.equal([x64.size, x64.align, x64.packed, x64.fields[1]!.offset], [12, 1, true, 4]);
  assert.equal([ia32.size, ia32.align, ia32.packed, ia32.fields[1]!.offset], [12, 4, false, 4]);
  const unpacked = parseSpec(tiny.replace('packed: [x86]', 'packed: []')).models[0]!.structs[0]!;
  assert.equal([unpacked.size, unpacked.align, unpacked.fields[1]!.offset], [16, 8, 8]);
});

test('koffi prototypes: hot pointer arguments become addresses', () => {
  const m = parseSpec(tiny).models[0]!;
  assert.is(koffiPrototype(m.functions.find((f) => f.name === 'epoll_wait')!), 'int epoll_wait(int epfd, uintptr_t events, int maxevents, int timeout)');
  assert.is(koffiPrototype(m.functions.find((f) => f.name === 'write')!), 'intptr_t write(int fd, void * buf, uintptr_t count)');
});

function problems(text: string): string[] {
  try { parseSpec(text, 'x.yaml'); } catch (e) { if (e instanceof SpecError) return e.problems; throw e; }
  return [];
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('validation: an unknown type names the line', () => {
  const bad = tiny.replace('fields: [events uint32_t, data uint64_t]', 'fields: [events uint32_t, data u64_t]');
  const p = problems(bad);
  assert.ok(p.some((x) => x.startsWith(`x.yaml:${lineOf(bad, 'data u64_t')}:`) && x.includes("unknown type 'u64_t'")), p.join('\n'));
});

test('validation: a duplicate constant across groups', () => {
  const bad = tiny.replace('structs:', 'constants2: 1\nstructs:');
  assert.ok(problems(bad).some((x) => x.includes('constants2')), 'schema rejects unknown keys');
  const dup = tiny.replace("      EPOLLET: { linux: 0x80000000 }", "      EPOLLET: { linux: 0x80000000 }\n  other:\n    header: x.h\n    values:\n      EPOLLIN: { linux: 1 }");
  const p = problems(dup);
  assert.ok(p.some((x) => x.startsWith(`x.yaml:${lineOf(dup, 'EPOLLIN: { linux: 1 }')}:`) && x.includes("duplicate constant 'EPOLLIN'")), p.join('\n'));
});

test('validation: a struct without a layout for a target that needs it', () => {
  const bad = tiny.replace('  write:', '  wrapper: { proto: "int wrapper(struct epoll_event ev)", lib: libc, on: [linux], errors: errno, doc: x }\n  write:');
  assert.ok(problems(bad).some((x) => x.includes('must be passed by pointer')));
  const nolayout = tiny.replace('    on: [linux]\n    packed', '    on: [linux-ia32]\n    packed')
    .replace('functions:', '  holder:\n    header: x.h\n    on: [linux]\n    fields: [ev epoll_event]\nfunctions:');
  const p = problems(nolayout);
  assert.ok(p.some((x) => x.includes("struct 'epoll_event' has no layout for linux-x64")), p.join('\n'));
});

test('validation: unknown selectors, duplicate keys and YAML syntax point at the line', () => {
  const bad = tiny.replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { linx: 0x1 }');
  assert.ok(problems(bad).some((x) => x.startsWith(`x.yaml:${lineOf(bad, 'linx')}:`) && x.includes("unknown selector 'linx'")));
  const dupKey = tiny.replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { linux: 0x1 }\n      EPOLLIN: { linux: 0x2 }');
  assert.ok(problems(dupKey).some((x) => /^x\.yaml:\d+:\d+: .*(unique|Map keys)/i.test(x)), problems(dupKey).join('\n'));
  const ambiguous = tiny.replace('groups:\n  x86: [linux-x64]', 'groups:\n  x86: [linux-x64]\n  also: [linux-x64]').replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { x86: 1, also: 2 }');
  assert.ok(problems(ambiguous).some((x) => x.includes('ambiguous for linux-x64')));
  const schema = tiny.replace("errors: errno, doc: write(2)", "errors: errnoo, doc: write(2)");
  assert.ok(problems(schema).some((x) => x.startsWith(`x.yaml:${lineOf(schema, 'errnoo')}:`) && x.includes('must be equal to one of the allowed values')));
});

test('drift: generated/ is what `npm run codegen` would write', () => {
  const p = checkGenerated();
  assert.equal(p, [], p.join('\n'));
});

test('syscalls.yaml: every target has the functions its backends need', () => {
  const spec = loadSpec(here('../syscalls.yaml'));
  const need: Record<string, string[]> = {
    linux: ['epoll_create1', 'epoll_ctl', 'epoll_wait', 'eventfd', 'poll', 'pipe2', 'socket', 'accept4', 'fcntl'],
    android: ['epoll_create1', 'epoll_ctl', 'epoll_wait', 'eventfd', 'poll', 'pipe2', 'socket', 'accept4'],
    darwin: ['kqueue', 'kevent', 'poll', 'pipe', 'socket', 'accept', 'fcntl'],
    freebsd: ['kqueue', 'kevent', 'poll', 'pipe2', 'socket', 'accept4'],
    openbsd: ['kqueue', 'kevent', 'poll', 'pipe2', 'socket', 'accept4'],
    win32: ['CreateIoCompletionPort', 'GetQueuedCompletionStatusEx', 'NtDeviceIoControlFile', 'WSAIoctl', 'ws_socket'],
  };
  for (const m of spec.models) {
    const have = new Set(m.functions.map((f) => f.name));
    for (const f of need[m.target.os]!) assert.ok(have.has(f), `${m.target.name} lacks ${f}`);
  }
});

test('syscalls.yaml: darwin, freebsd and openbsd carry all the kqueue backend and net types use', () => {
  const spec = loadSpec(here('../syscalls.yaml'));
  const fns = ['kqueue', 'kevent', 'read', 'write', 'close', 'fcntl', 'pipe', 'socket', 'bind', 'listen', 'accept', 'connect', 'recv', 'send', 'recvfrom', 'sendto', 'getsockopt', 'setsockopt', 'getsockname', 'getpeername', 'shutdown', 'socketpair', 'readv', 'writev'];
  const consts = ['EVFILT_READ', 'EVFILT_WRITE', 'EV_ADD', 'EV_DELETE', 'EV_CLEAR', 'EV_RECEIPT', 'EV_ERROR', 'EV_EOF', 'EINTR', 'ENOENT', 'EPIPE', 'EBADF', 'EAGAIN', 'EINPROGRESS',
    'F_GETFL', 'F_SETFL', 'F_GETFD', 'F_SETFD', 'FD_CLOEXEC', 'O_NONBLOCK', 'AF_INET', 'AF_INET6', 'AF_UNIX', 'SOCK_STREAM', 'SOCK_DGRAM', 'SOL_SOCKET', 'SO_REUSEADDR', 'SO_ERROR', 'IPPROTO_TCP', 'TCP_NODELAY', 'MSG_PEEK'];
  for (const m of spec.models.filter((x) => ['darwin', 'freebsd', 'openbsd'].includes(x.target.os))) {
    const have = new Set(m.functions.map((f) => f.name));
    for (const f of fns) assert.ok(have.has(f), `${m.target.name} lacks ${f}`);
    const c = new Set(m.constants.map((x) => x.name));
    for (const k of consts) assert.ok(c.has(k), `${m.target.name} lacks ${k}`);
    assert.ok(m.structs.some((s) => s.name === 'kevent' && s.header.length > 0), `${m.target.name} kevent`);
    // The waker: EVFILT_USER with NOTE_TRIGGER, or (OpenBSD here) a pipe.
    assert.is(c.has('EVFILT_USER'), c.has('NOTE_TRIGGER'), `${m.target.name} waker constants`);
    // macOS has neither accept4 nor SOCK_CLOEXEC nor MSG_NOSIGNAL: accept + fcntl, SO_NOSIGPIPE.
    if (m.target.os === 'darwin') assert.ok(!have.has('accept4') && !c.has('SOCK_CLOEXEC') && c.has('SO_NOSIGPIPE'));
    else assert.ok(have.has('accept4') && c.has('SOCK_CLOEXEC') && c.has('MSG_NOSIGNAL'));
  }
  const size = (t: string) => spec.models.find((m) => m.target.name === t)!.structs.find((s) => s.name === 'kevent')!.size;
  assert.equal([size('darwin-arm64'), size('freebsd-x64'), size('freebsd-ia32'), size('openbsd-x64'), size('openbsd-ia32'), size('linux-libkqueue-x64')], [32, 64, 56, 32, 24, 32]);
});

test.run();
