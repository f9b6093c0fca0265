import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ChaosRecord } from './record.ts';
import { sleep } from './services.ts';

// node + the bin file (which loads tsx itself), not `tsx src/cli/main.ts`: tsx runs the program in a child of
// its own, so a SIGKILL aimed at it would leave the real worker running on.
const BIN = fileURLToPath(new URL('../../bin/threetone-sync.js', import.meta.url));
const STARTED = '"msg":"worker started';

interface Slot {
  name: string;
  log: string;
  child?: ChildProcess;
  exited?: Promise<void>;
  /** Log size when the current process started: what it wrote comes after. */
  logOffset: number;
  starts: number;
  /** Set just before we kill it, so its exit is not taken for a crash. */
  killing: boolean;
}

/**
 * The worker processes, as a supervisor runs them: each one's output goes to
 * its own log file, and one that exits without being told to is recorded
 * (with its last lines) and started again a second later.
 */
export class Fleet {
  private readonly slots: Slot[];
  private stopping = false;
  /** Exits of a worker that had started and that nobody killed: a crash of the product. */
  crashes = 0;

  constructor(
    count: number,
    private readonly env: Record<string, string>,
    logPrefix: string,
    private readonly record: ChaosRecord,
  ) {
    this.slots = Array.from({ length: count }, (_, i) => ({ name: `w${i + 1}`, log: `${logPrefix}.w${i + 1}.log`, logOffset: 0, starts: 0, killing: false }));
  }

  get names(): string[] {
    return this.slots.map((s) => s.name);
  }

  get logs(): string[] {
    return this.slots.map((s) => s.log);
  }

  startAll(): void {
    for (const slot of this.slots) this.start(slot.name);
  }

  start(name: string): void {
    const slot = this.slot(name);
    if (this.stopping || this.running(slot)) return;
    slot.starts++;
    appendFileSync(slot.log, `=== chaos: start #${slot.starts} of ${name} at ${new Date().toISOString()} ===\n`);
    slot.logOffset = statSync(slot.log).size;
    const fd = openSync(slot.log, 'a');
    try {
      // Its own process group: a Ctrl-C meant for the chaos run reaches the workers only through our shutdown.
      slot.child = spawn(process.execPath, [BIN, 'worker'], { env: { PATH: process.env.PATH ?? '', ...this.env }, cwd: tmpdir(), stdio: ['ignore', fd, fd], detached: true });
    } finally {
      closeSync(fd);
    }
    const child = slot.child;
    this.record.add('worker-start', { worker: name, pid: child.pid, start: slot.starts });
    slot.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(this.onExit(slot, child, code, signal))));
  }

  /** SIGKILL, as an OOM killer or a lost node would. */
  async kill(name: string): Promise<number | undefined> {
    const slot = this.slot(name);
    const child = slot.child;
    if (!child || !this.running(slot)) return undefined;
    slot.killing = true;
    child.kill('SIGKILL');
    await slot.exited;
    return child.pid;
  }

  isRunning(name: string): boolean {
    return this.running(this.slot(name));
  }

  /** Starts any worker that is down and waits (bounded) until each says it started. */
  async ensureRunning(timeoutMs: number): Promise<string[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const slot of this.slots) if (!this.running(slot)) this.start(slot.name);
      const notReady = this.slots.filter((s) => !this.ready(s)).map((s) => s.name);
      if (notReady.length === 0 || Date.now() > deadline) return notReady;
      await sleep(200);
    }
  }

  /** SIGTERM (a clean shutdown hands running jobs back), SIGKILL for whatever is still up after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    this.stopping = true;
    const live = this.slots.filter((s) => this.running(s));
    for (const slot of live) slot.child!.kill('SIGTERM');
    const all = Promise.all(live.map((s) => s.exited));
    const timer = sleep(graceMs).then(() => 'late');
    if ((await Promise.race([all, timer])) === 'late') {
      for (const slot of live) if (this.running(slot)) slot.child!.kill('SIGKILL');
      await all;
    }
  }

  /** The last lines the worker's current process wrote. */
  tail(name: string, lines = 5): string[] {
    const slot = this.slot(name);
    try {
      const text = readFileSync(slot.log).subarray(slot.logOffset).toString('utf8');
      return text.split('\n').filter(Boolean).slice(-lines).map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l));
    } catch {
      return [];
    }
  }

  private onExit(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    const killed = slot.killing;
    slot.killing = false;
    const hadStarted = this.logSince(slot).includes(STARTED);
    const crash = !killed && !this.stopping && hadStarted;
    if (crash) this.crashes++;
    this.record.add('worker-exit', {
      worker: slot.name,
      pid: child.pid,
      code,
      signal,
      cause: killed ? 'killed by chaos' : this.stopping ? 'chaos shutdown' : hadStarted ? 'crashed' : 'failed to start',
      ...(killed || this.stopping ? {} : { lastLines: this.tail(slot.name, 12) }),
    });
    if (!killed && !this.stopping) {
      // What a supervisor does; a worker that cannot start yet (a server down) is tried again the same way.
      setTimeout(() => this.start(slot.name), 1_000).unref();
    }
  }

  private running(slot: Slot): boolean {
    const child = slot.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  private ready(slot: Slot): boolean {
    return this.running(slot) && this.logSince(slot).includes(STARTED);
  }

  private logSince(slot: Slot): string {
    try {
      return readFileSync(slot.log).subarray(slot.logOffset).toString('utf8');
    } catch {
      return '';
    }
  }

  private slot(name: string): Slot {
    const slot = this.slots.find((s) => s.name === name);
    if (!slot) throw new Error(`no worker ${name}`);
    return slot;
  }
}
