// A Node child running one of the project's scripts (an example server), with its output collected.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ScriptChild {
  child: ChildProcess;
  /** Everything the child wrote so far. */
  out(): string;
  err(): string;
  /** Exit code and signal, once it exits. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** The port of the first line matching `re` (its first group), or a rejection with stderr after `ms`. */
  listening(re: RegExp, ms: number): Promise<number>;
}

/** Starts `node --import tsx <args>` in the project root (stdin ignored, stdout and stderr collected). */
export function startScript(args: string[]): ScriptChild {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  child.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.once('exit', (code, sig) => r([code, sig])));
  const listening = (re: RegExp, ms: number) =>
    new Promise<number>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`server did not start: ${err}`)), ms);
      const check = () => {
        const m = re.exec(out);
        if (m) {
          clearTimeout(t);
          child.stdout!.off('data', check);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', check);
      check();
    });
  return { child, out: () => out, err: () => err, exited, listening };
}
