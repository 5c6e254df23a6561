// The seed in force is printed when a process under METAL_IO_FAULTS exits with an error, so one
// environment variable reproduces the run; a clean exit prints nothing. (Spawns Node children.)

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { onLibkqueue } from './_util/events.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const child = (code: string, env: Record<string, string>) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30000,
    env: { ...process.env, ...env },
  });

test('a failing run under METAL_IO_FAULTS prints the seed and rate on stderr', () => {
  const r = child("import { Poll } from './src/index.ts'; new Poll(); throw new Error('boom');", { METAL_IO_FAULTS: '77,rate=0.25' });
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /metal-io faults: this run used METAL_IO_FAULTS=77,rate=0\.25 \(injected: \{"wouldBlock":\d+/);
});

test('a clean exit prints nothing; a bad METAL_IO_FAULTS is refused at load with ERR_INVALID_ARG_VALUE', () => {
  const ok = child("import { Poll } from './src/index.ts'; new Poll().close();", { METAL_IO_FAULTS: '77' });
  assert.is(ok.status, 0, ok.stderr);
  assert.not.match(ok.stderr, /metal-io faults/);
  const bad = child("import './src/index.ts';", { METAL_IO_FAULTS: 'seven' });
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /ERR_INVALID_ARG_VALUE/);
});

test('METAL_IO_FAULTS connect=<n> and refuse=<n>: the chosen connects fail (socket EMFILE-like at once; ECONNREFUSED from the kernel when it completes)', () => {
  const code = `
    import { Poll, Events, Interest } from './src/index.ts';
    import { TcpListener, TcpStream } from './src/net.ts';
    const l = TcpListener.bind('127.0.0.1:0');
    const target = '127.0.0.1:' + l.localAddr().port;
    const out = [];
    try { TcpStream.connect(target); out.push('first ok'); } catch (e) { out.push('first ' + e.code); }
    try { TcpStream.connect(target); out.push('second ok'); } catch (e) { out.push('second ' + e.syscall + ' ' + e.code); }
    const s = TcpStream.connect(target);
    const poll = new Poll(); const events = new Events(4);
    poll.registry().register(s, 1, Interest.WRITABLE);
    const deadline = Date.now() + 3000; let err = null; let errorEvent = false;
    while (!err && !errorEvent && Date.now() < deadline) { poll.poll(events, 100); for (const e of events) { errorEvent ||= e.isError(); err = s.takeError(); } }
    out.push('third ' + (err ? err.code + ' ' + err.message : errorEvent ? 'error event, SO_ERROR already read' : 'no error'));
    console.log(out.join('; '));
  `;
  const r = child(code, { METAL_IO_FAULTS: '5,rate=0,connect=2,refuse=3' });
  assert.is(r.status, 0, r.stderr);
  // libkqueue (kqueue on Linux) reads SO_ERROR itself to fill the event's fflags (src/linux/write.c),
  // which clears it: there the error event is what remains to see. A real kqueue leaves so_error set.
  const third = onLibkqueue
    ? '(ECONNREFUSED connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+|error event, SO_ERROR already read)'
    : 'ECONNREFUSED connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+';
  assert.match(r.stdout, new RegExp(`^first ok; second socket (EMFILE|ENFILE|ENOBUFS); third ${third}`));
});

test.run();
