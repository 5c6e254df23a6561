// metal-io/sys: real syscalls through the generated layer, read back through the generated layouts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sys, {
  addressOf,
  constants as C,
  errno,
  fn,
  has,
  platform,
  structs,
  targetModule,
  UnsupportedTargetError,
} from '../src/sys/index.js';

const unix = process.platform !== 'win32';

test('platform names the running target', () => {
  assert.is(platform.name.startsWith(`${process.platform}-`), true);
  assert.is(platform.pointerSize, process.arch === 'ia32' || process.arch === 'arm' ? 4 : 8);
});

test('epoll_event is 12 bytes packed on x86, 16 on other 64-bit Linux', () => {
  assert.is(targetModule('linux-x64').structs.epoll_event!.size, 12);
  assert.is(targetModule('linux-ia32').structs.epoll_event!.size, 12);
  assert.is(targetModule('linux-x64').structs.epoll_event!.fields.data!.offset, 4);
  for (const t of ['linux-arm64', 'linux-arm', 'linux-riscv64', 'linux-ppc64']) {
    assert.is(targetModule(t).structs.epoll_event!.size, 16, t);
    assert.is(targetModule(t).structs.epoll_event!.fields.data!.offset, 8, t);
  }
});

test('musl: told apart from glibc by the loader mapped in the process; its own layouts', async () => {
  const { mapsShowMusl, isMusl, runningTargetName, targetNameFor } = await import('../src/sys/target.js');
  // Node names musl Linux linux, and DragonFly freebsd: the target name tells them apart.
  assert.is(targetNameFor({ platform: 'linux', arch: 'arm64', osType: 'Linux', musl: true }), 'linux-arm64-musl');
  assert.is(targetNameFor({ platform: 'linux', arch: 'x64', osType: 'Linux', musl: false }), 'linux-x64');
  assert.is(targetNameFor({ platform: 'freebsd', arch: 'x64', osType: 'DragonFly', musl: false }), 'dragonfly-x64');
  assert.is(targetNameFor({ platform: 'freebsd', arch: 'x64', osType: 'FreeBSD', musl: false }), 'freebsd-x64');
  assert.is(
    targetNameFor({ platform: 'sunos', arch: 'x64', osType: 'SunOS', osVersion: '11.4.42.111.0', musl: false }),
    'sunos-x64-solaris',
  );
  assert.is(
    targetNameFor({ platform: 'sunos', arch: 'x64', osType: 'SunOS', osVersion: 'joyent_20161222T003450Z', musl: false }),
    'sunos-x64',
  );
  assert.is(
    targetNameFor({ platform: 'sunos', arch: 'x64', osType: 'SunOS', osVersion: 'omnios-r151040-92ae97307e', musl: false }),
    'sunos-x64',
  );
  for (const t of ['linux-arm64-musl', 'dragonfly-x64', 'ios-arm64', 'sunos-x64', 'sunos-x64-solaris'])
    assert.is(targetModule(t).target.name, t);
  // illumos: epoll first, SVR4 numbers, no sa_len, __xnet_ socket calls; Solaris: event ports only.
  const il = targetModule('sunos-x64');
  const so = targetModule('sunos-x64-solaris');
  assert.equal(
    [il.target.backends, so.target.backends],
    [
      ['epoll', 'eventports', 'poll'],
      ['eventports', 'poll'],
    ],
  );
  assert.equal(
    [il.constants.SOCK_STREAM, il.constants.SOCK_DGRAM, il.constants.SOL_SOCKET, il.constants.EAGAIN, il.constants.EINPROGRESS],
    [2, 1, 0xffff, 11, 150],
  );
  assert.equal(
    [
      il.structs.sockaddr_in6!.size,
      il.structs.sockaddr_un!.size,
      il.structs.sockaddr_storage!.size,
      il.structs.port_event!.size,
      il.structs.epoll_event!.size,
    ],
    [32, 110, 256, 24, 12],
  );
  assert.equal([il.functions.recvmsg!.symbol, il.functions.socket!.symbol], ['__xnet_recvmsg', '__xnet_socket']);
  assert.equal(
    [il.constants.TCP_KEEPIDLE, so.constants.TCP_KEEPIDLE, il.constants.F_DUPFD_CLOEXEC, so.constants.F_DUPFD_CLOEXEC],
    [0x22, 0x1d, 37, 47],
  );
  assert.is(so.functions.epoll_create1, undefined);
  // DragonFly takes FreeBSD's values (like: freebsd) except where its headers differ.
  const df = targetModule('dragonfly-x64');
  const fb = targetModule('freebsd-x64');
  assert.equal(
    [df.constants.EVFILT_USER, df.constants.O_CLOEXEC, df.constants.MSG_NOSIGNAL, df.constants.EVFILT_READ],
    [-9, 0x20000, 0x400, fb.constants.EVFILT_READ],
  );
  assert.is(df.constants.ECAPMODE, undefined, 'absent on DragonFly (null in the YAML)');
  assert.equal([df.structs.kevent!.size, fb.structs.kevent!.size], [32, 64]);
  // NetBSD: 32-bit filter and flags, EVFILT_READ 0, the versioned __kevent50 (size_t counts) and __socket30.
  const nb = targetModule('netbsd-x64');
  assert.equal(
    [
      nb.structs.kevent!.size,
      nb.structs.kevent!.fields.filter!.size,
      nb.structs.kevent!.fields.flags!.size,
      nb.structs.kevent!.fields.data!.offset,
    ],
    [40, 4, 4, 24],
  );
  assert.equal([nb.constants.EVFILT_READ, nb.constants.EVFILT_WRITE, nb.constants.EVFILT_USER], [0, 1, 8]);
  assert.equal(
    [nb.functions.kevent!.symbol, nb.functions.socket!.symbol, fb.functions.kevent!.symbol],
    ['__kevent50', '__socket30', 'kevent'],
  );
  assert.match(nb.functions.kevent!.koffi, /uintptr_t nchanges/);
  assert.equal(nb.libraries.libc, ['libc.so.12']);
  assert.ok(mapsShowMusl('7f12-7f13 r-xp 00000000 08:01 123 /lib/ld-musl-x86_64.so.1\n'));
  assert.ok(mapsShowMusl('ffff-fffe r-xp 00000000 08:01 123 /lib/ld-musl-aarch64.so.1\n'));
  assert.not.ok(
    mapsShowMusl(
      '7f12-7f13 r-xp 00000000 08:01 123 /usr/lib/x86_64-linux-gnu/libc.so.6\n7f-7f r-xp 0 0 0 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2\n',
    ),
  );
  // This machine's Node is glibc's (process.report agrees).
  const glibc = (process.report.getReport() as { header: { glibcVersionRuntime?: string } }).header.glibcVersionRuntime;
  if (process.platform === 'linux') assert.is(isMusl(), !glibc);
  if (process.platform === 'linux' && glibc) assert.is(runningTargetName({}), `linux-${process.arch}`);
  // musl pads msghdr's int fields to 8 bytes where glibc has size_t: same offsets, 4-byte fields.
  const musl = targetModule('linux-x64-musl').structs;
  const gnu = targetModule('linux-x64').structs;
  assert.is(musl.msghdr!.size, gnu.msghdr!.size);
  assert.is(musl.msghdr!.fields.msg_controllen!.offset, gnu.msghdr!.fields.msg_controllen!.offset);
  assert.equal([musl.msghdr!.fields.msg_iovlen!.size, gnu.msghdr!.fields.msg_iovlen!.size], [4, 8]);
  assert.equal([musl.cmsghdr!.fields.cmsg_len!.size, gnu.cmsghdr!.fields.cmsg_len!.size], [4, 8]);
  assert.equal(targetModule('linux-arm64-musl').libraries.libc, ['libc.musl-aarch64.so.1', 'libc.so']);
});

test('an unsupported target is a clear error naming it', () => {
  try {
    targetModule('haiku-x64');
    assert.unreachable('should throw');
  } catch (e) {
    assert.instance(e, UnsupportedTargetError);
    assert.match((e as Error).message, /haiku-x64/);
    assert.is((e as { code: string }).code, 'ERR_METAL_IO_UNSUPPORTED_TARGET');
  }
});

test('a function the target lacks throws instead of crashing', () => {
  const missing = process.platform === 'win32' ? 'epoll_create1' : 'CreateIoCompletionPort';
  assert.is(has(missing), false);
  assert.throws(() => fn(missing), /not available/);
});

if (unix) {
  test('close(-1) sets EBADF through errno()', () => {
    assert.is(sys.close!(-1), -1);
    assert.is(errno(), C.EBADF);
  });

  test('socketpair + write/read move bytes, subarrays at their offset', () => {
    const sv = new Int32Array(2);
    assert.is(sys.socketpair!(C.AF_UNIX!, C.SOCK_STREAM! | (C.SOCK_CLOEXEC ?? 0), 0, sv), 0);
    try {
      const out = Buffer.from('metal');
      const inb = Buffer.alloc(16);
      assert.is(Number(sys.write!(sv[0]!, out, out.length)), 5);
      assert.is(Number(sys.read!(sv[1]!, inb, inb.length)), 5);
      assert.is(inb.subarray(0, 5).toString(), 'metal');
      const big = Buffer.alloc(32, 0x2e);
      assert.is(Number(sys.write!(sv[0]!, out.subarray(1, 4), 3)), 3);
      assert.is(Number(sys.read!(sv[1]!, big.subarray(10), 22)), 3);
      assert.is(big.toString('latin1', 8, 15), '..eta..');
    } finally {
      sys.close!(sv[0]!);
      sys.close!(sv[1]!);
    }
  });

  test('getsockname fills sockaddr_in at the generated offsets', () => {
    const sa = structs.sockaddr_in!;
    const fd = sys.socket!(C.AF_INET!, C.SOCK_STREAM!, 0);
    assert.ok(fd >= 0);
    try {
      const addr = Buffer.alloc(sa.size);
      if (sa.fields.sin_len) addr.writeUInt8(sa.size, sa.fields.sin_len.offset);
      addr.writeUIntLE(C.AF_INET!, sa.fields.sin_family!.offset, sa.fields.sin_family!.size);
      addr.writeUInt32BE(0x7f000001, sa.fields.sin_addr!.offset);
      assert.is(sys.bind!(fd, addr, sa.size), 0);
      const got = Buffer.alloc(sa.size);
      const len = new Uint32Array([sa.size]);
      assert.is(sys.getsockname!(fd, got, len), 0);
      assert.is(len[0], sa.size);
      assert.is(got.readUIntLE(sa.fields.sin_family!.offset, sa.fields.sin_family!.size), C.AF_INET);
      assert.is(got.readUInt32BE(sa.fields.sin_addr!.offset), 0x7f000001);
      assert.ok(got.readUInt16BE(sa.fields.sin_port!.offset) > 0, 'kernel picked a port');
    } finally {
      sys.close!(fd);
    }
  });
}

if (process.platform === 'linux' || process.platform === 'android') {
  test('epoll + eventfd: the event comes back through the epoll_event layout', () => {
    const ev = structs.epoll_event!;
    const ep = sys.epoll_create1!(C.EPOLL_CLOEXEC!);
    const efd = sys.eventfd!(0, C.EFD_CLOEXEC! | C.EFD_NONBLOCK!);
    assert.ok(ep >= 0 && efd >= 0);
    try {
      const one = Buffer.alloc(ev.size);
      one.writeUInt32LE(C.EPOLLIN!, ev.fields.events!.offset);
      one.writeBigUInt64LE(0x1234_5678_9abcn, ev.fields.data!.offset);
      assert.is(sys.epoll_ctl!(ep, C.EPOLL_CTL_ADD!, efd, one), 0);
      const events = Buffer.alloc(ev.size * 4);
      assert.is(sys.epoll_wait!(ep, addressOf(events), 4, 0), 0, 'nothing ready yet');
      const val = Buffer.alloc(8);
      val.writeBigUInt64LE(3n);
      assert.is(Number(sys.write!(efd, val, 8)), 8);
      assert.is(sys.epoll_wait!(ep, addressOf(events), 4, 100), 1);
      assert.is(events.readUInt32LE(ev.fields.events!.offset) & C.EPOLLIN!, C.EPOLLIN);
      assert.is(events.readBigUInt64LE(ev.fields.data!.offset), 0x1234_5678_9abcn);
      const back = Buffer.alloc(8);
      assert.is(Number(sys.read!(efd, back, 8)), 8);
      assert.is(back.readBigUInt64LE(0), 3n);
      assert.is(sys.epoll_ctl!(ep, C.EPOLL_CTL_ADD!, efd, one), -1);
      assert.is(errno(), C.EEXIST);
    } finally {
      sys.close!(efd);
      sys.close!(ep);
    }
  });

  test('fcntl is variadic and reads FD_CLOEXEC back', () => {
    const efd = sys.eventfd!(0, C.EFD_CLOEXEC!);
    try {
      assert.is(sys.fcntl!(efd, C.F_GETFD!, 'int', 0) & C.FD_CLOEXEC!, C.FD_CLOEXEC);
    } finally {
      sys.close!(efd);
    }
  });
}

test.run();
