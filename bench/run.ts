// `npm run bench`: the echo benchmark. Builds the native load generator and the native echo
// baseline (cc), then runs three echo servers in the same run (C epoll, metal-io's
// examples/tcp_server.ts, Node's net with s.pipe(s)), each pinned to one core with the load
// generator on the other, and reports msgs/s, the server's CPU-µs per message (from
// /proc/PID/stat), bulk MB/s and metal-io's GC count in the measured window.
//   npm run bench [-- --seconds 5 --warmup 2 --size 64]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '5' }, warmup: { type: 'string', default: '2' }, size: { type: 'string', default: '64' }, 'bulk-size': { type: 'string', default: '65536' } } });
const build = join(root, 'bench', 'build');
mkdirSync(build, { recursive: true });
for (const name of ['loadgen', 'echo']) {
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', join(build, name), join(root, 'bench', `${name}.c`)], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`cc ${name}.c failed`);
}
const haveTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pin = (cpu: number, cmd: string[]) => (haveTaskset ? ['taskset', '-c', String(cpu), ...cmd] : cmd);
const TICK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}

interface Server { name: string; child: ChildProcess; port: number; stats?: () => Promise<string> }

async function startServer(name: string, cmd: string[], env: NodeJS.ProcessEnv = {}): Promise<Server> {
  const [bin, ...args] = pin(0, cmd);
  const child = spawn(bin!, args, { cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${name} did not start`)), 20000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    });
    child.once('exit', (c) => reject(new Error(`${name} exited ${c}`)));
  });
  const s: Server = { name, child, port };
  if (env.METAL_IO_BENCH_STATS) {
    s.stats = () => new Promise((resolve) => {
      const before = out.length;
      const check = setInterval(() => { const m = /gc (\d+)\n/.exec(out.slice(before)); if (m) { clearInterval(check); resolve(m[1]!); } }, 10);
      child.kill('SIGUSR2');
    });
  }
  return s;
}

async function load(s: Server, conns: number, size: number, mode: 'pingpong' | 'bulk') {
  const [bin, ...args] = pin(1, [join(build, 'loadgen'), '127.0.0.1', String(s.port), String(conns), String(size), values.seconds!, mode, values.warmup!]);
  const child = spawn(bin!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = ''; let cpu0 = 0; let gcReset: Promise<string> | null = null;
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => {
    if (d.toString().includes('measuring')) { cpu0 = cpuSeconds(s.child.pid!); gcReset = s.stats?.() ?? null; }
    else process.stderr.write(d);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const cpu = cpuSeconds(s.child.pid!) - cpu0;
  if (code !== 0) throw new Error(`loadgen against ${s.name} exited ${code}`);
  await gcReset;
  const gcs = s.stats ? await s.stats() : 'n/a';
  const r = JSON.parse(out) as { msgs: number; bytes: number; seconds: number };
  return { msgsPerSec: r.msgs / r.seconds, cpuUsPerMsg: (cpu * 1e6) / r.msgs, mbPerSec: r.bytes / r.seconds / 1e6, gcs };
}

const scenarios = [
  { label: `ping-pong ${values.size} B, 32 conns`, conns: 32, size: Number(values.size), mode: 'pingpong' as const },
  { label: `ping-pong ${values.size} B, 256 conns`, conns: 256, size: Number(values.size), mode: 'pingpong' as const },
  { label: `bulk ${values['bulk-size']} B writes, 32 conns`, conns: 32, size: Number(values['bulk-size']), mode: 'bulk' as const },
];

const servers: [string, string[], NodeJS.ProcessEnv?][] = [
  ['native C epoll', [join(build, 'echo'), '0']],
  ['metal-io', [process.execPath, '--import', 'tsx', 'examples/tcp_server.ts', '--port', '0', '--quiet'], { METAL_IO_BENCH_STATS: '1' }],
  ['node net', [process.execPath, 'bench/node-echo.mjs', '0']],
];

const rounds = Number(values.rounds);
console.log(`echo bench: node ${process.version}, ${rounds} rounds (medians), ${values.seconds} s measured after ${values.warmup} s warm-up each, ${haveTaskset ? 'server on CPU 0, load on CPU 1' : 'not pinned (no taskset)'}`);
type Result = Awaited<ReturnType<typeof load>>;
const all: Record<string, Record<string, Result[]>> = {};
// Rounds interleave the servers, so slow phases of this noisy machine hit all of them alike.
for (let round = 0; round < rounds; round++) {
  for (const [name, cmd, env] of servers) {
    const s = await startServer(name, cmd, env);
    all[name] ??= {};
    try {
      for (const sc of scenarios) (all[name]![sc.label] ??= []).push(await load(s, sc.conns, sc.size, sc.mode));
    } finally { s.child.kill('SIGTERM'); await new Promise((r) => s.child.once('exit', r)); }
  }
}
const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v[Math.floor(v.length / 2)]!; };
const results: Record<string, Record<string, Result>> = {};
for (const [name, byScenario] of Object.entries(all)) {
  results[name] = {};
  for (const [label, rs] of Object.entries(byScenario)) {
    results[name]![label] = {
      msgsPerSec: median(rs.map((r) => r.msgsPerSec)), cpuUsPerMsg: median(rs.map((r) => r.cpuUsPerMsg)), mbPerSec: median(rs.map((r) => r.mbPerSec)),
      gcs: rs.map((r) => r.gcs).join('/'),
    };
  }
}

const rows = [];
for (const sc of scenarios) {
  const node = results['node net']![sc.label]!;
  for (const [name] of servers) {
    const r = results[name]![sc.label]!;
    rows.push(sc.mode === 'bulk'
      ? { scenario: sc.label, server: name, 'MB/s': r.mbPerSec.toFixed(1), 'vs node': `${(r.mbPerSec / node.mbPerSec).toFixed(2)}x`, 'CPU-µs/MB': (r.cpuUsPerMsg * (1e6 / sc.size)).toFixed(0), 'GCs': r.gcs }
      : { scenario: sc.label, server: name, 'msgs/s': Math.round(r.msgsPerSec), 'vs node': `${(r.msgsPerSec / node.msgsPerSec).toFixed(2)}x`, 'CPU-µs/msg': r.cpuUsPerMsg.toFixed(2), 'CPU vs node': `${(r.cpuUsPerMsg / node.cpuUsPerMsg).toFixed(2)}x`, 'GCs': r.gcs });
  }
}
console.table(rows);
