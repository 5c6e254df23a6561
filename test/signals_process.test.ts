// Signals seen from outside: a blocking-loop server (examples/blocking_server.ts) stopped by SIGTERM
// or SIGINT, and a signal's default action coming back after close(). Each runs in a child process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const windows = process.platform === 'win32';

async function stopServerWith(signal: 'SIGTERM' | 'SIGINT'): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/blocking_server.ts'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let err = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { err += d; });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 20000);
      const check = () => { const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out); if (m) { clearTimeout(t); resolve(Number(m[1])); } };
      child.stdout!.on('data', check);
    });
    // A client is connected and served, so the loop is really blocked in poll() when the signal comes.
    const c = connect(port, '127.0.0.1');
    const echoed = await new Promise<string>((resolve, reject) => {
      c.once('error', reject);
      c.once('data', (d) => resolve(d.toString()));
      c.write('ping');
    });
    assert.is(echoed, 'ping');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    child.kill(signal);
    const [code, sig] = await exited;
    const ms = performance.now() - t0;
    c.destroy();
    assert.is(sig, null, `killed by ${sig}: the signal's default action ran\n${err}`);
    assert.is(code, 0, err);
    assert.ok(ms < 1000, `exited ${ms.toFixed(0)} ms after ${signal}`);
    assert.match(out, new RegExp(`caught ${signal}`));
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

test('a blocking-loop server exits 0 within 1 s of SIGTERM', async () => {
  if (windows) { console.log('  SKIP blocking-loop server and SIGTERM: POSIX signals, this is win32'); return; }
  await stopServerWith('SIGTERM');
});

test('... and of SIGINT (Ctrl-C)', async () => {
  if (windows) { console.log('  SKIP blocking-loop server and SIGINT: POSIX signals, this is win32'); return; }
  await stopServerWith('SIGINT');
});

test("while a Signals catches SIGTERM the process lives; after close() SIGTERM's default action is back", () => {
  if (windows) { console.log('  SKIP default action: POSIX signals, this is win32'); return; }
  const dir = mkdtempSync(join(tmpdir(), 'metal-io-signals-'));
  try {
    const file = join(dir, 'child.ts');
    writeFileSync(file, `
      import { Poll, Events, Interest, Signals } from ${JSON.stringify(pathToFileURL(join(root, 'src/index.ts')).href)};
      const poll = new Poll(); const events = new Events(4);
      const s = new Signals(['SIGTERM']);
      poll.registry().register(s, 1, Interest.READABLE);
      process.kill(process.pid, 'SIGTERM');
      poll.poll(events, 5000);
      console.log('caught', s.pending().join());
      s.close();
      process.kill(process.pid, 'SIGTERM');
      setTimeout(() => console.log('still alive'), 2000);
    `);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8', timeout: 20000 });
    assert.match(r.stdout, /caught SIGTERM/, r.stderr);
    assert.is(r.signal, 'SIGTERM', `${r.stdout}${r.stderr}`);
    assert.not.match(r.stdout, /still alive/);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test.run();
