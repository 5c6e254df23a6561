// The generator: golden output on a tiny fixture, validation messages that point at the line, and
// the drift check that keeps generated/ equal to what syscalls.yaml gives.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { codeOrder, emitAll, koffiPrototype } from '../codegen/emit.js';
import { checkGenerated } from '../codegen/main.js';
import { loadSpec, parseSpec, SpecError } from '../codegen/model.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const tiny = readFileSync(here('./fixtures/tiny.yaml'), 'utf8');

test('golden: the tiny fixture generates exactly the committed files', () => {
  const files = emitAll(parseSpec(tiny, 'tiny.yaml'));
  assert.equal(
    [...files.keys()],
    [
      'generated/functions.ts',
      'generated/index.ts',
      'generated/linux-ia32.ts',
      'generated/linux-x64.ts',
      'generated/os/linux.ts',
      'generated/probes/linux-x64.c',
      'generated/types.ts',
    ],
  );
  for (const [path, text] of files) {
    const golden = here(`./fixtures/golden/${path.replace(/^generated\//, '')}`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(golden, text);
    assert.ok(existsSync(golden), `missing golden ${golden} (UPDATE_GOLDEN=1 writes it)`);
    assert.fixture(text, readFileSync(golden, 'utf8'), path);
  }
});

test('a new constant changes only the files that carry its value (shared per OS, mkmerge-style)', () => {
  const before = emitAll(parseSpec(tiny, 'tiny.yaml'));
  const changed = (text: string) => {
    const after = emitAll(parseSpec(text, 'tiny.yaml'));
    return [...after.keys()].filter((k) => after.get(k) !== before.get(k));
  };
  // The same value on every linux target: the OS's shared file, the names' union type, the probe.
  assert.equal(
    changed(tiny.replace('      EPOLLET: { linux: 0x80000000 }', '      EPOLLET: { linux: 0x80000000 }\n      EPOLLOUT: { linux: 0x4 }')),
    ['generated/os/linux.ts', 'generated/probes/linux-x64.c', 'generated/types.ts'],
  );
  // One target's value: that target only (and the names, and its probe: linux-ia32 has none).
  assert.equal(
    changed(
      tiny.replace('      EPOLLET: { linux: 0x80000000 }', '      EPOLLET: { linux: 0x80000000 }\n      EPOLLOUT: { linux-ia32: 0x4 }'),
    ),
    ['generated/linux-ia32.ts', 'generated/types.ts'],
  );
  // One target's own prototype and symbol (as AIX's naccept): a new description in functions.ts and
  // that target's file; the others keep the plain name, which the most targets' description holds.
  const own = changed(
    tiny.replace(
      '  write: { proto: "ssize_t write(int fd, const void *buf, size_t count)",',
      '  write: { proto: { linux: "ssize_t write(int fd, const void *buf, size_t count)", linux-ia32: "ssize_t nwrite(int fd, const void *buf, size_t count)" }, symbol: { linux: write, linux-ia32: nwrite },',
    ),
  );
  assert.equal(own, ['generated/functions.ts', 'generated/linux-ia32.ts']);
});

test('golden: output is deterministic', () => {
  const a = emitAll(parseSpec(tiny));
  const b = emitAll(parseSpec(tiny));
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
  assert.is(
    koffiPrototype(m.functions.find((f) => f.name === 'epoll_wait')!),
    'int epoll_wait(int epfd, uintptr_t events, int maxevents, int timeout)',
  );
  assert.is(koffiPrototype(m.functions.find((f) => f.name === 'write')!), 'intptr_t write(int fd, void * buf, uintptr_t count)');
});

function problems(text: string): string[] {
  try {
    parseSpec(text, 'x.yaml');
  } catch (e) {
    if (e instanceof SpecError) return e.problems;
    throw e;
  }
  return [];
}
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

test('validation: an unknown type names the line', () => {
  const bad = tiny.replace('fields: [events uint32_t, data uint64_t]', 'fields: [events uint32_t, data u64_t]');
  const p = problems(bad);
  assert.ok(
    p.some((x) => x.startsWith(`x.yaml:${lineOf(bad, 'data u64_t')}:`) && x.includes("unknown type 'u64_t'")),
    p.join('\n'),
  );
});

test('validation: a duplicate constant across groups', () => {
  const bad = tiny.replace('structs:', 'constants2: 1\nstructs:');
  assert.ok(
    problems(bad).some((x) => x.includes('constants2')),
    'schema rejects unknown keys',
  );
  const dup = tiny.replace(
    '      EPOLLET: { linux: 0x80000000 }',
    '      EPOLLET: { linux: 0x80000000 }\n  other:\n    header: x.h\n    values:\n      EPOLLIN: { linux: 1 }',
  );
  const p = problems(dup);
  assert.ok(
    p.some((x) => x.startsWith(`x.yaml:${lineOf(dup, 'EPOLLIN: { linux: 1 }')}:`) && x.includes("duplicate constant 'EPOLLIN'")),
    p.join('\n'),
  );
});

test('validation: a struct without a layout for a target that needs it', () => {
  const bad = tiny.replace(
    '  write:',
    '  wrapper: { proto: "int wrapper(struct epoll_event ev)", lib: libc, on: [linux], errors: errno, doc: x }\n  write:',
  );
  assert.ok(problems(bad).some((x) => x.includes('must be passed by pointer')));
  const nolayout = tiny
    .replace('    on: [linux]\n    packed', '    on: [linux-ia32]\n    packed')
    .replace('functions:', '  holder:\n    header: x.h\n    on: [linux]\n    fields: [ev epoll_event]\nfunctions:');
  const p = problems(nolayout);
  assert.ok(
    p.some((x) => x.includes("struct 'epoll_event' has no layout for linux-x64")),
    p.join('\n'),
  );
});

test('validation: unknown selectors, duplicate keys and YAML syntax point at the line', () => {
  const bad = tiny.replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { linx: 0x1 }');
  assert.ok(problems(bad).some((x) => x.startsWith(`x.yaml:${lineOf(bad, 'linx')}:`) && x.includes("unknown selector 'linx'")));
  const dupKey = tiny.replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { linux: 0x1 }\n      EPOLLIN: { linux: 0x2 }');
  assert.ok(
    problems(dupKey).some((x) => /^x\.yaml:\d+:\d+: .*(unique|Map keys)/i.test(x)),
    problems(dupKey).join('\n'),
  );
  const ambiguous = tiny
    .replace('groups:\n  x86: [linux-x64]', 'groups:\n  x86: [linux-x64]\n  also: [linux-x64]')
    .replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { x86: 1, also: 2 }');
  assert.ok(problems(ambiguous).some((x) => x.includes('ambiguous for linux-x64')));
  const schema = tiny.replace('errors: errno, doc: write(2)', 'errors: errnoo, doc: write(2)');
  assert.ok(
    problems(schema).some(
      (x) => x.startsWith(`x.yaml:${lineOf(schema, 'errnoo')}:`) && x.includes('must be equal to one of the allowed values'),
    ),
  );
});

test('drift: generated/ is what `npm run codegen` would write', () => {
  const p = checkGenerated();
  assert.equal(p, [], p.join('\n'));
});

test('locale: the output is the same bytes under any LANG (lt_LT sorts y before j; tr_TR folds I)', () => {
  for (const lang of ['lt_LT.UTF-8', 'tr_TR.UTF-8']) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', here('../codegen/main.ts'), '--check'], {
      encoding: 'utf8',
      env: { ...process.env, LANG: lang, LC_ALL: lang, LC_COLLATE: lang },
    });
    assert.is(r.status, 0, `${lang}: ${r.stdout}${r.stderr}`);
  }
  // The comparator itself: code units, not a collation.
  assert.equal(['b', 'a', 'Z', 'ą', 'y', 'j', 'I', 'ı'].sort(codeOrder), ['I', 'Z', 'a', 'b', 'j', 'y', 'ą', 'ı']);
});

test('generated files start with the command and "DO NOT EDIT." (golang/sys\'s convention)', () => {
  for (const f of ['generated/types.ts', 'generated/index.ts', 'generated/linux-x64.ts', 'generated/probes/linux-x64.c']) {
    const first = readFileSync(here(`../${f}`), 'utf8').split('\n', 1)[0]!;
    assert.match(first, /^\/\/ Code generated .* DO NOT EDIT\.$/, f);
    assert.match(first, /npm run codegen/, f);
  }
});

test('validation: an unknown OS names the target line and lists the OSes of oses:', () => {
  const bad = tiny.replace('linux-ia32: { os: linux,', 'linux-ia32: { os: netbsd,');
  const p = problems(bad);
  assert.ok(
    p.some(
      (x) =>
        x.startsWith(`x.yaml:${lineOf(bad, 'os: netbsd')}:`) && x.includes("unknown OS 'netbsd'") && x.includes("keys of 'oses:': linux"),
    ),
    p.join('\n'),
  );
  const noProbe = tiny.replace(/\n {4}probe: \[[^\]]*\]/, '');
  assert.ok(
    problems(noProbe).some((x) => x.includes('linux-x64 names a compiler but oses.linux has no probe: prelude')),
    problems(noProbe).join('\n'),
  );
  const enumBad = tiny.replace('errors: errno, doc: write(2)', 'errors: errnoo, doc: write(2)');
  assert.ok(
    problems(enumBad).some((x) => x.includes('allowed values: errno, wsa, win32, ntstatus, uv, return, none')),
    problems(enumBad).join('\n'),
  );
});

test('validation: backends: is the one list of backends; an OS, a target or a requirement naming another is refused at its line', () => {
  const bad = tiny.replace('    backends: [epoll]', '    backends: [epol]');
  const p = problems(bad);
  assert.ok(
    p.some(
      (x) =>
        x.startsWith(`x.yaml:${lineOf(bad, 'backends: [epol]')}:`) &&
        x.includes("unknown backend 'epol'") &&
        x.includes("keys of 'backends:': epoll, kqueue, poll, iocp, eventports"),
    ),
    p.join('\n'),
  );
  const req = tiny.replace('requires:\n  epoll:', 'requires:\n  epol:');
  assert.ok(
    problems(req).some((x) => x.includes("'epol' is neither a backend (backends:) nor a socket API")),
    problems(req).join('\n'),
  );
  const fewer = tiny.replace('  eventports: illumos\n', '');
  assert.match(
    emitAll(parseSpec(fewer, 'tiny.yaml')).get('generated/types.ts')!,
    /export type BackendName =\n {2}\| 'epoll'\n {2}\| 'iocp'\n {2}\| 'kqueue'\n {2}\| 'poll';/,
    'BackendName is emitted from the list',
  );
});

test('completeness: a target without what its backend needs is refused, at its line, with what it lacks', () => {
  const bad = tiny.replace('EPOLLIN: { linux: 0x1 }', 'EPOLLIN: { linux-x64: 0x1 }');
  const p = problems(bad);
  assert.ok(
    p.some(
      (x) =>
        x.startsWith(`x.yaml:${lineOf(bad, 'linux-ia32: {')}:`) &&
        x.includes('linux-ia32 lacks what epoll needs') &&
        x.includes('constants EPOLLIN'),
    ),
    p.join('\n'),
  );
  const typo = tiny.replace('constants: [EPOLLIN]', 'constants: [EPOLIN]');
  assert.ok(
    problems(typo).some((x) => x.includes("'EPOLIN' is not a function, constant or struct")),
    problems(typo).join('\n'),
  );
  assert.equal(problems(tiny), [], 'the fixture itself is complete');
});

test("per-target prototypes and symbols: the most specific selector wins (NetBSD's __kevent50 shape)", () => {
  const line = tiny.split('\n').find((l) => l.startsWith('  write:'))!;
  const varied = tiny.replace(
    line,
    '  write: { proto: { linux: "ssize_t write(int fd, const void *buf, size_t count)", linux-ia32: "ssize_t __write50(int fd, const void *buf, uint32_t count)" }, symbol: { linux: write, linux-ia32: __write50 }, lib: libc, on: [linux], errors: errno, doc: write(2) }',
  );
  const spec = parseSpec(varied, 'x.yaml');
  const w = (t: string) => spec.models.find((m) => m.target.name === t)!.functions.find((f) => f.name === 'write')!;
  assert.is(w('linux-x64').symbol, 'write');
  assert.is(w('linux-ia32').symbol, '__write50');
  assert.is(koffiPrototype(w('linux-ia32')), 'intptr_t __write50(int fd, void * buf, uint32_t count)');
  const mismatch = varied.replace('symbol: { linux: write, linux-ia32: __write50 }', 'symbol: { linux: write }');
  assert.ok(
    problems(mismatch).some((x) => x.includes("prototype names '__write50', expected 'write'")),
    problems(mismatch).join('\n'),
  );
});

test('requires: each backend and socket API lists every function, constant and struct its src/ files name', () => {
  const raw = parse(readFileSync(here('../syscalls.yaml'), 'utf8')) as {
    requires: Record<string, { functions: string[]; constants: string[]; structs: string[]; optional?: string[] }>;
  };
  const files: Record<string, string[]> = {
    'src/sys/unix/selector/epoll.ts': ['epoll'],
    'src/sys/unix/selector/kqueue.ts': ['kqueue'],
    'src/sys/unix/selector/poll.ts': ['poll'],
    'src/sys/unix/selector/pollbits.ts': ['poll', 'eventports'],
    'src/sys/unix/selector/eventports.ts': ['eventports'],
    'src/sys/windows/selector.ts': ['iocp'],
    'src/sys/unix/fd.ts': ['bsd'],
    'src/sys/unix/waker.ts': ['bsd'],
    'src/sys/unix/mmsg.ts': ['bsd'],
    'src/sys/unix/signals.ts': ['bsd'],
    'src/sys/unix/clock.ts': ['bsd'],
    'src/sys/windows/clock.ts': ['iocp'],
    'src/net/uds.ts': ['bsd'],
    'src/unix.ts': ['bsd'],
    'src/windows.ts': ['winsock', 'iocp'],
    'src/sys/net.ts': ['bsd', 'winsock'],
    'src/sys/unix/net.ts': ['bsd'],
    'src/sys/windows/net.ts': ['winsock'],
    'src/net/socket.ts': ['bsd', 'winsock'],
    'src/net/tcp.ts': ['bsd', 'winsock'],
    'src/net/udp.ts': ['bsd', 'winsock'],
    'src/net/addr.ts': ['bsd', 'winsock'],
  };
  const missing: string[] = [];
  for (const [file, keys] of Object.entries(files)) {
    const text = readFileSync(here(`../${file}`), 'utf8');
    const listed = new Set(
      keys.flatMap((k) => {
        const r = raw.requires[k]!;
        return [...r.functions, ...r.constants, ...r.structs, ...(r.optional ?? [])];
      }),
    );
    const named = new Set(
      [...text.matchAll(/\b(?:fn|has|constant|layout|offsetOf)\('([A-Za-z0-9_]+)'|\b(?:C|constants)\.([A-Z][A-Z0-9_]+)/g)].map(
        (m) => m[1] ?? m[2]!,
      ),
    );
    // Windows-only pieces of the mixed files (src/windows.ts's pipes) are listed nowhere else.
    for (const n of named) if (!listed.has(n) && !(file === 'src/windows.ts')) missing.push(`${file}: ${n} (requires.${keys.join('/')})`);
  }
  assert.equal(missing, [], missing.join('\n'));
});

test('inherited: what an unchecked target takes from a group key is listed in its module; checked targets list nothing', () => {
  const spec = loadSpec(here('../syscalls.yaml'));
  const inh = (t: string) => spec.models.find((m) => m.target.name === t)!.inherited;
  assert.equal(inh('linux-x64'), []);
  assert.equal(inh('darwin-arm64'), [], 'zig checks darwin');
  for (const n of ['EVFILT_READ', 'msghdr', 'SOL_SOCKET']) assert.ok(inh('freebsd-x64').includes(n), `freebsd-x64 inherits ${n}`);
  assert.not.ok(inh('freebsd-x64').includes('kevent'), 'its kevent is keyed by freebsd itself');
  const text = readFileSync(here('../generated/openbsd-x64.ts'), 'utf8');
  assert.match(text, /export const inherited = \[.*'EVFILT_READ'/);
});

test('every OS of oses: has a target, and the generated modules carry its backends', () => {
  const spec = loadSpec(here('../syscalls.yaml'));
  for (const os of spec.oses)
    assert.ok(
      spec.targets.some((t) => t.os === os),
      `${os} has a target`,
    );
  for (const m of spec.models) assert.ok(m.target.backends.length > 0 && ['bsd', 'winsock'].includes(m.target.net), m.target.name);
  assert.equal(spec.targets.find((t) => t.name === 'linux-x64')!.backends, ['epoll', 'poll']);
  assert.equal(spec.targets.find((t) => t.name === 'linux-libkqueue-x64')!.backends, ['kqueue']);
});

test('syscalls.yaml: darwin, freebsd and openbsd carry all the kqueue backend and net types use', () => {
  const spec = loadSpec(here('../syscalls.yaml'));
  const fns = [
    'kqueue',
    'kevent',
    'read',
    'write',
    'close',
    'fcntl',
    'pipe',
    'socket',
    'bind',
    'listen',
    'accept',
    'connect',
    'recv',
    'send',
    'recvfrom',
    'sendto',
    'getsockopt',
    'setsockopt',
    'getsockname',
    'getpeername',
    'shutdown',
    'socketpair',
    'readv',
    'writev',
  ];
  const consts = [
    'EVFILT_READ',
    'EVFILT_WRITE',
    'EV_ADD',
    'EV_DELETE',
    'EV_CLEAR',
    'EV_RECEIPT',
    'EV_ERROR',
    'EV_EOF',
    'EINTR',
    'ENOENT',
    'EPIPE',
    'EBADF',
    'EAGAIN',
    'EINPROGRESS',
    'F_GETFL',
    'F_SETFL',
    'F_GETFD',
    'F_SETFD',
    'FD_CLOEXEC',
    'O_NONBLOCK',
    'AF_INET',
    'AF_INET6',
    'AF_UNIX',
    'SOCK_STREAM',
    'SOCK_DGRAM',
    'SOL_SOCKET',
    'SO_REUSEADDR',
    'SO_ERROR',
    'IPPROTO_TCP',
    'TCP_NODELAY',
    'MSG_PEEK',
  ];
  for (const m of spec.models.filter((x) => x.target.backends.includes('kqueue') && x.target.os !== 'linux')) {
    const have = new Set(m.functions.map((f) => f.name));
    for (const f of fns) assert.ok(have.has(f), `${m.target.name} lacks ${f}`);
    const c = new Set(m.constants.map((x) => x.name));
    for (const k of consts) assert.ok(c.has(k), `${m.target.name} lacks ${k}`);
    assert.ok(
      m.structs.some((s) => s.name === 'kevent' && s.header.length > 0),
      `${m.target.name} kevent`,
    );
    // The waker: EVFILT_USER with NOTE_TRIGGER, or (OpenBSD here) a pipe.
    assert.is(c.has('EVFILT_USER'), c.has('NOTE_TRIGGER'), `${m.target.name} waker constants`);
    // macOS has neither accept4 nor SOCK_CLOEXEC nor MSG_NOSIGNAL: accept + fcntl, SO_NOSIGPIPE.
    if (m.target.libc === 'libSystem') assert.ok(!have.has('accept4') && !c.has('SOCK_CLOEXEC') && c.has('SO_NOSIGPIPE'));
    else assert.ok(have.has('accept4') && c.has('SOCK_CLOEXEC') && c.has('MSG_NOSIGNAL'));
  }
  const size = (t: string) => spec.models.find((m) => m.target.name === t)!.structs.find((s) => s.name === 'kevent')!.size;
  assert.equal(
    [
      size('darwin-arm64'),
      size('freebsd-x64'),
      size('freebsd-ia32'),
      size('openbsd-x64'),
      size('openbsd-ia32'),
      size('linux-libkqueue-x64'),
    ],
    [32, 64, 56, 32, 24, 32],
  );
});

test.run();
