import postgres from 'postgres';
import { sessionOptions } from './session.ts';
import type { RunKind } from '../domain/runs.ts';
import { SyncLockedError } from '../errors/SyncLockedError.ts';
import { TimeoutError, withTimeout } from '../util/with-timeout.ts';

/**
 * Runs of a workspace go in two lanes, each with a lock of its own, so that
 * incremental syncs keep the copy fresh while a reconciliation (or a full walk)
 * of the same workspace takes an hour: `walk` for full and reconcile runs,
 * `fresh` for incremental ones. At most one run per lane and workspace.
 */
export type LockLane = 'walk' | 'fresh';

export const LANE_OF_KIND: Record<RunKind, LockLane> = { full: 'walk', reconcile: 'walk', incremental: 'fresh' };

/** The kinds whose runs share a lane (a run that opens abandons the dead runs of its own lane only). */
export const KINDS_OF_LANE: Record<LockLane, RunKind[]> = { walk: ['full', 'reconcile'], fresh: ['incremental'] };

/**
 * A lock's key is the hash of its lane's prefix and the workspace's name; src/db/health/workspace-facts.ts and
 * prove-ownership.ts look for it in pg_locks. The walk lane keeps the key every run took before lanes existed, so a
 * worker of an older version still excludes a reconciliation. The prefixes differ before the first `:`, so no
 * workspace's name makes one lane's key equal another's.
 */
export const LOCK_PREFIXES: Record<LockLane, string> = { walk: 'threetone-sync:', fresh: 'threetone-sync-fresh:' };

export function workspaceLockKey(workspace: string, lane: LockLane): string {
  return LOCK_PREFIXES[lane] + workspace;
}

export interface WorkspaceLock {
  /** Backend pid of the session holding the lock: page transactions check the lock (its key) is still there. */
  pid: number;
  /** Aborted, with a one-line reason, as soon as the lock is known to be gone. */
  lost: AbortSignal;
  /** Unlocks at once (the key is free when this resolves); the session stays for other locks. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Which of the workspace's two locks. Default `walk`. */
  lane?: LockLane;
  /** How often each lock session is checked. Only read when this call creates the URL's pool. Default 5000 ms. */
  heartbeatMs?: number;
}

export interface LockPoolOptions {
  /** Most sessions the pool opens; locks share them. Default LOCK_SESSIONS. */
  sessions?: number;
  /** How often each session checks that it still holds every lock on it. Default 5000 ms. */
  heartbeatMs?: number;
  /** A session holding no lock for this long is closed. Default 60000 ms. */
  idleMs?: number;
}

/** Lock sessions per process and database: enough that one slow statement on a session does not hold up every lock. */
export const LOCK_SESSIONS = 2;

interface Held {
  key: string;
  workspace: string;
  /** Backend pid the lock was granted on; undefined while it is being taken. */
  pid: number | undefined;
  lost: AbortController;
  releasing: boolean;
  /** Called once the lock is lost: the key is no longer this process's to guard. */
  onLost?: () => void;
}

/**
 * Session advisory locks held for a whole run: at most one run per workspace
 * and lane across every process on this database, dropped by Postgres itself
 * if the process dies.
 *
 * Many locks share a few long-lived sessions (LOCK_SESSIONS per process). A
 * session per run cost a connection, its backend's start-up and teardown,
 * and one more slot of max_connections for every run in flight; at
 * thousands of workspaces that is tens of connections opened a second
 * (issue 22, bench/fleet.ts).
 *
 * The sessions are one-connection clients of their own rather than reserved
 * connections of the shared pool: postgres.js 3.4 (3.4.10 included) throws an
 * uncatchable TypeError when a reserved connection's socket dies with a write
 * pending (porsager/postgres#1208), which would take the worker down with it.
 * Do not use `sql.reserve()` here.
 *
 * A lock goes with its session's backend (a Postgres restart or failover,
 * idle_session_timeout, pg_terminate_backend, a pooler), and another process
 * may then take the workspace. So a session's close aborts `lost` of every
 * lock on it, and one heartbeat per session asks which of its locks its
 * backend still holds, by key: postgres.js reconnects silently, and a new
 * backend holds nothing. A heartbeat that does not answer in time (a network
 * partition) gives up every lock on the session and retires it; new locks go
 * to a fresh session. The heartbeat also keeps the session from ever being
 * idle in Postgres's eyes.
 *
 * Advisory locks are re-entrant within a session, so Postgres would grant a
 * second run of the same workspace and lane on the same session: the pool
 * refuses a key it already holds before asking Postgres.
 *
 * Ownership checks (runs/prove-ownership.ts) and health (health/workspace-facts.ts)
 * look for the run's own key in pg_locks: "the session holds an advisory lock"
 * proves nothing on a shared session.
 */
export class LockSessionPool {
  private readonly sessions: LockSession[] = [];
  /** Keys held or being taken through this pool, until released or lost. */
  private readonly keys = new Map<string, Held>();
  private readonly size: number;
  readonly heartbeatMs: number;
  private readonly idleMs: number;
  private draining = false;

  constructor(
    private readonly databaseUrl: string,
    options: LockPoolOptions = {},
  ) {
    this.size = Math.max(1, options.sessions ?? LOCK_SESSIONS);
    this.heartbeatMs = options.heartbeatMs ?? 5_000;
    this.idleMs = options.idleMs ?? 60_000;
  }

  /** Sessions open now (for tests and the bench). */
  get sessionCount(): number {
    return this.sessions.length;
  }

  async lock(workspace: string, lane: LockLane = 'walk'): Promise<WorkspaceLock> {
    const key = workspaceLockKey(workspace, lane);
    if (this.keys.has(key)) throw new SyncLockedError(workspace);
    this.draining = false;
    const session = this.pick();
    const unguard = () => {
      if (this.keys.get(key) === held) this.keys.delete(key);
    };
    // A lost lock stops guarding its key: the run that lost it is winding down (it can no longer write: its token is
    // fenced and its unlock skipped), and a new run, here or in another process, may take the workspace.
    const held: Held = { key, workspace, pid: undefined, lost: new AbortController(), releasing: false, onLost: unguard };
    this.keys.set(key, held);
    session.add(held);
    const drop = () => {
      session.remove(held);
      unguard();
      this.idle(session);
    };
    try {
      const [row] = await session.sql<{ locked: boolean; pid: number }[]>`
        select pg_catalog.pg_try_advisory_lock(pg_catalog.hashtextextended(${key}::text, 0::bigint)) as locked, pg_catalog.pg_backend_pid() as pid`;
      if (!row?.locked) throw new SyncLockedError(workspace);
      held.pid = row.pid;
      // The session closed or was retired around the grant: whatever was granted went with its backend.
      if (held.lost.signal.aborted) throw held.lost.signal.reason;
    } catch (error) {
      held.releasing = true;
      drop();
      throw error;
    }
    const pid = held.pid;
    let released: Promise<void> | undefined;
    return {
      pid,
      lost: held.lost.signal,
      release: () =>
        (released ??= (async () => {
          held.releasing = true;
          // Unlocked only on the backend that granted it: a new backend (a silent reconnect) holds nothing.
          if (!session.retired && !held.lost.signal.aborted) {
            await session.sql`select pg_catalog.pg_advisory_unlock(pg_catalog.hashtextextended(${key}::text, 0::bigint))`.catch(() => undefined);
          }
          drop();
        })()),
    };
  }

  /**
   * Closes every session once it holds no lock: idle ones now, the others as their last lock is released. A lock
   * taken later opens sessions again.
   */
  async drain(): Promise<void> {
    this.draining = true;
    await Promise.all(this.sessions.filter((s) => s.size === 0).map((s) => this.close(s)));
  }

  /** Ends every session now; runs still holding a lock lose it. */
  async close(session?: LockSession): Promise<void> {
    const targets = session ? [session] : [...this.sessions];
    for (const s of targets) {
      const at = this.sessions.indexOf(s);
      if (at >= 0) this.sessions.splice(at, 1);
    }
    await Promise.all(targets.map((s) => s.end('its lock session was closed')));
  }

  /** The least loaded live session, or a new one while every session holds something and the pool has room. */
  private pick(): LockSession {
    const live = this.sessions.filter((s) => !s.retired);
    const least = live.reduce<LockSession | undefined>((best, s) => (best === undefined || s.size < best.size ? s : best), undefined);
    if (least !== undefined && (least.size === 0 || live.length >= this.size)) return least;
    const session = new LockSession(this.databaseUrl, this.heartbeatMs, (s) => this.retire(s));
    this.sessions.push(session);
    return session;
  }

  private retire(session: LockSession): void {
    void this.close(session);
  }

  private idle(session: LockSession): void {
    if (session.size > 0 || !this.sessions.includes(session)) return;
    if (this.draining || session.retired) {
      void this.close(session);
      return;
    }
    session.closeAfter(this.idleMs, () => void this.close(session));
  }
}

/** One connection holding many locks, and its heartbeat. */
class LockSession {
  readonly sql: postgres.Sql;
  /** No new lock goes here: its heartbeat went unanswered, or it is closing. */
  retired = false;
  private readonly held = new Set<Held>();
  private readonly heartbeat: NodeJS.Timeout;
  private idleTimer: NodeJS.Timeout | undefined;
  private beating = false;

  constructor(
    databaseUrl: string,
    private readonly heartbeatMs: number,
    private readonly onRetire: (session: LockSession) => void,
  ) {
    this.sql = postgres(databaseUrl, sessionOptions('threetone-sync-lock', { onclose: () => this.loseAll('its Postgres connection closed') }));
    this.heartbeat = setInterval(() => this.beat(), heartbeatMs);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.held.size;
  }

  add(held: Held): void {
    clearTimeout(this.idleTimer);
    this.held.add(held);
  }

  remove(held: Held): void {
    this.held.delete(held);
  }

  closeAfter(ms: number, close: () => void): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.held.size === 0) close();
    }, ms);
    this.idleTimer.unref();
  }

  async end(why: string): Promise<void> {
    this.retired = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.idleTimer);
    this.loseAll(why);
    await this.sql.end({ timeout: 1 });
  }

  private loseAll(why: string): void {
    for (const held of this.held) lose(held, why);
  }

  private beat(): void {
    if (this.beating || this.retired) return;
    this.beating = true;
    const checked = [...this.held].filter((h) => h.pid !== undefined && !h.releasing);
    // Bounded: a network partition neither closes the connection nor answers.
    withTimeout(
      this.sql<{ pid: number; missing: string[] }[]>`
        select pg_catalog.pg_backend_pid() as pid,
               array(select k from unnest(${checked.map((h) => h.key)}::text[]) k
                     where not exists (
                       select 1 from pg_catalog.pg_locks l
                       where l.locktype = 'advisory' and l.granted and l.pid = pg_catalog.pg_backend_pid() and l.objsubid = 1
                         and l.classid = ((pg_catalog.hashtextextended(k, 0::bigint) >> 32) & 4294967295)::oid
                         and l.objid = (pg_catalog.hashtextextended(k, 0::bigint) & 4294967295)::oid)) as missing`,
      this.heartbeatMs,
      'the lock session',
    )
      .then(
        ([row]) => {
          const missing = new Set(row?.missing ?? []);
          for (const held of checked) {
            if (held.pid !== row?.pid) lose(held, 'its session reconnected, and the new backend holds nothing');
            else if (missing.has(held.key)) lose(held, 'its session no longer holds it');
          }
        },
        (error: unknown) => {
          const why = error instanceof TimeoutError ? `its Postgres session did not answer within ${this.heartbeatMs} ms` : 'its Postgres session failed';
          this.retired = true;
          this.loseAll(why);
          this.onRetire(this);
        },
      )
      .finally(() => (this.beating = false));
  }
}

function lose(held: Held, why: string): void {
  if (held.releasing || held.lost.signal.aborted) return;
  held.lost.abort(new Error(`the workspace lock of "${held.workspace}" was lost: ${why}`));
  held.onLost?.();
}

interface Registered {
  pool: LockSessionPool;
  /** Open Database handles on this URL (openDatabase); at 0 the pool drains, so nothing keeps the process alive. */
  retained: number;
}

const pools = new Map<string, Registered>();

function registered(databaseUrl: string, options: LockPoolOptions = {}): Registered {
  let entry = pools.get(databaseUrl);
  if (!entry) {
    entry = { pool: new LockSessionPool(databaseUrl, options), retained: 0 };
    pools.set(databaseUrl, entry);
  }
  return entry;
}

/** This process's lock sessions on `databaseUrl`. */
export function lockSessionPool(databaseUrl: string): LockSessionPool {
  return registered(databaseUrl).pool;
}

/**
 * Called by openDatabase for as long as the handle is open: once the last handle on the URL closes, the pool's
 * sessions end as soon as they hold nothing.
 */
export function retainLockSessions(databaseUrl: string): { release(): Promise<void> } {
  const entry = registered(databaseUrl);
  entry.retained++;
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      if (--entry.retained === 0) await entry.pool.drain();
    },
  };
}

/** Takes the workspace's lock of `lane` on one of this process's lock sessions; SyncLockedError if anyone holds it. */
export function lockWorkspace(databaseUrl: string, workspace: string, options: LockOptions = {}): Promise<WorkspaceLock> {
  return registered(databaseUrl, options.heartbeatMs === undefined ? {} : { heartbeatMs: options.heartbeatMs }).pool.lock(workspace, options.lane ?? 'walk');
}
