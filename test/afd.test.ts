// Windows only (run under Wine by test/platform/wine.sh): the generated win32 layer alone drives the
// AFD poll the Windows backend stands on: \Device\Afd opened with NtCreateFile, associated with
// an I/O completion port, IOCTL_AFD_POLL on a listening socket's base handle, a client connects,
// and GetQueuedCompletionStatusEx returns the completion with AFD_POLL_ACCEPT.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import sys, { addressOf, constants as C, pinnedBuffer, platform, structs as S } from '../src/sys/index.js';

const windows = platform.os === 'win32';
const f = (s: string) => S[s as keyof typeof S]!;

test('AFD poll through an I/O completion port reports AFD_POLL_ACCEPT', () => {
  if (!windows) {
    console.log(`  SKIP AFD poll: Windows-only (test/platform/wine.sh runs it under Wine), this is ${platform.name}`);
    return;
  }
  const wsa = Buffer.alloc(f('WSADATA').size);
  assert.is(sys.WSAStartup!(0x202, wsa), 0);
  const AF_INET = C.AF_INET!;
  const SOCK_STREAM = C.SOCK_STREAM!;
  const ls = sys.ws_socket!(AF_INET, SOCK_STREAM, C.IPPROTO_TCP!);
  const sin = f('sockaddr_in');
  const addr = Buffer.alloc(sin.size);
  addr.writeUInt16LE(AF_INET, sin.fields.sin_family!.offset);
  addr.writeUInt32BE(0x7f000001, sin.fields.sin_addr!.offset);
  assert.is(sys.ws_bind!(ls, addr, sin.size), 0);
  assert.is(sys.ws_listen!(ls, 16), 0);
  const len = new Int32Array([sin.size]);
  assert.is(sys.ws_getsockname!(ls, addr, len), 0);
  const nb = new Uint32Array([1]);
  assert.is(sys.ioctlsocket!(ls, C.FIONBIO! | 0, nb), 0);
  // The base socket handle: AFD wants it, not a layered provider's.
  const base = Buffer.alloc(8);
  const ret = new Uint32Array(1);
  assert.is(sys.WSAIoctl!(ls, C.SIO_BASE_HANDLE!, null, 0, base, platform.pointerSize, ret, null, null), 0);
  const baseHandle = platform.pointerSize === 8 ? base.readBigUInt64LE(0) : BigInt(base.readUInt32LE(0));

  const iocp = sys.CreateIoCompletionPort!(BigInt.asUintN(platform.pointerSize * 8, -1n), 0, 0, 0);
  assert.ok(BigInt(iocp) !== 0n);
  // \\Device\\Afd\\Mio through UNICODE_STRING and OBJECT_ATTRIBUTES at their generated offsets.
  const name = pinnedBuffer(64);
  const text = Buffer.from('\\Device\\Afd\\Mio', 'utf16le');
  text.copy(name);
  const us = pinnedBuffer(f('UNICODE_STRING').size);
  us.writeUInt16LE(text.length, f('UNICODE_STRING').fields.Length!.offset);
  us.writeUInt16LE(text.length, f('UNICODE_STRING').fields.MaximumLength!.offset);
  us.writeBigUInt64LE(BigInt(addressOf(name)), f('UNICODE_STRING').fields.Buffer!.offset);
  const oa = pinnedBuffer(f('OBJECT_ATTRIBUTES').size);
  oa.writeUInt32LE(f('OBJECT_ATTRIBUTES').size, f('OBJECT_ATTRIBUTES').fields.Length!.offset);
  oa.writeBigUInt64LE(BigInt(addressOf(us)), f('OBJECT_ATTRIBUTES').fields.ObjectName!.offset);
  const handle = new BigUint64Array(1);
  const iosb0 = pinnedBuffer(f('IO_STATUS_BLOCK').size);
  const st = sys.NtCreateFile!(
    handle,
    C.SYNCHRONIZE!,
    oa,
    iosb0,
    null,
    0,
    C.FILE_SHARE_READ! | C.FILE_SHARE_WRITE!,
    C.FILE_OPEN!,
    0,
    null,
    0,
  );
  assert.is(st, C.STATUS_SUCCESS, `NtCreateFile status 0x${(st >>> 0).toString(16)}`);
  assert.ok(BigInt(sys.CreateIoCompletionPort!(handle[0]!, iocp, 7, 0)) !== 0n);

  // One AFD_POLL_INFO with one handle; the kernel owns it and the IO_STATUS_BLOCK until completion.
  const info = pinnedBuffer(f('AFD_POLL_INFO').size);
  const hi = f('AFD_POLL_HANDLE_INFO');
  info.writeBigInt64LE(0x7fffffffffffffffn, f('AFD_POLL_INFO').fields.Timeout!.offset);
  info.writeUInt32LE(1, f('AFD_POLL_INFO').fields.NumberOfHandles!.offset);
  const h0 = f('AFD_POLL_INFO').fields.Handles!.offset;
  info.writeBigUInt64LE(baseHandle, h0 + hi.fields.Handle!.offset);
  info.writeUInt32LE(
    C.AFD_POLL_ACCEPT! | C.AFD_POLL_RECEIVE! | C.AFD_POLL_DISCONNECT! | C.AFD_POLL_ABORT! | C.AFD_POLL_CONNECT_FAIL!,
    h0 + hi.fields.Events!.offset,
  );
  const iosb = pinnedBuffer(f('IO_STATUS_BLOCK').size);
  iosb.writeInt32LE(C.STATUS_PENDING!, f('IO_STATUS_BLOCK').fields.Status!.offset);
  const s2 = sys.NtDeviceIoControlFile!(
    handle[0]!,
    0,
    0,
    addressOf(iosb),
    addressOf(iosb),
    C.IOCTL_AFD_POLL!,
    addressOf(info),
    info.length,
    addressOf(info),
    info.length,
  );
  assert.is(s2, C.STATUS_PENDING, `AFD poll status 0x${(s2 >>> 0).toString(16)}`);

  const cs = sys.ws_socket!(AF_INET, SOCK_STREAM, C.IPPROTO_TCP!);
  assert.is(sys.ioctlsocket!(cs, C.FIONBIO! | 0, nb), 0);
  sys.ws_connect!(cs, addr, sin.size); // WSAEWOULDBLOCK: in progress
  const oe = f('OVERLAPPED_ENTRY');
  const entries = pinnedBuffer(oe.size * 4);
  const removed = new Uint32Array(1);
  assert.is(sys.GetQueuedCompletionStatusEx!(iocp, addressOf(entries), 4, addressOf(removed), 5000, 0), 1);
  assert.is(removed[0], 1);
  assert.is(Number(entries.readBigUInt64LE(oe.fields.lpCompletionKey!.offset)), 7);
  assert.is(Number(entries.readBigUInt64LE(oe.fields.lpOverlapped!.offset)), addressOf(iosb), 'the completion names our IO_STATUS_BLOCK');
  assert.is(iosb.readInt32LE(f('IO_STATUS_BLOCK').fields.Status!.offset), C.STATUS_SUCCESS);
  assert.is(info.readUInt32LE(h0 + hi.fields.Events!.offset) & C.AFD_POLL_ACCEPT!, C.AFD_POLL_ACCEPT);
  sys.closesocket!(cs);
  sys.closesocket!(ls);
  sys.CloseHandle!(handle[0]!);
  sys.CloseHandle!(iocp);
});

test.run();
