import type { MutationResult, MutationSpec } from '../../src/simulator/index.ts';
import type { Rng } from '../../src/simulator/random.ts';
import { storedIds, type ChaosApi } from './apis.ts';
import type { Fleet } from './fleet.ts';
import type { ChaosQueue } from './queue.ts';
import { sleep, type ChaosPostgres, type PrivateRedis } from './services.ts';

/** Every way a chaos round hurts the system; each is also the name in the record. */
export const FAULT_KINDS = [
  'worker-kill',
  'postgres-crash',
  'redis-restart',
  'redis-wipe',
  'lock-terminate',
  'cursor-invalidate',
  'list-move',
  'mutate',
  'delete',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * Kinds dealt from shuffled decks: each deck holds every kind once, so n
 * faults hit every kind at least floor(n / kinds) times, in an order the
 * seed decides.
 */
export class FaultDeck {
  private deck: FaultKind[] = [];

  constructor(private readonly rng: Rng) {}

  next(): FaultKind {
    if (this.deck.length === 0) this.deck = this.rng.sample(FAULT_KINDS, FAULT_KINDS.length);
    return this.deck.shift()!;
  }
}

/** One fault, decided from the seed before anything waits, so a run's faults replay from its seed whatever the timing. */
export interface FaultPlan {
  kind: FaultKind;
  /** A worker or a workspace name; '' for a whole server. */
  target: string;
  /** How long a killed process or server stays down. */
  downMs: number;
  /** Pause after the fault, before the next one. */
  gapMs: number;
  mutation?: MutationSpec;
}

export function planFault(kind: FaultKind, rng: Rng, workers: string[], apis: ChaosApi[]): FaultPlan {
  const worker = rng.pick(workers);
  const workspace = rng.pick(apis).name;
  const downMs = rng.int(300, 2_500);
  const gapMs = rng.int(300, 1_500);
  const moving = apis.find((a) => a.spec.order === 'updated')!.name;
  switch (kind) {
    case 'worker-kill':
      return { kind, target: worker, downMs, gapMs };
    case 'postgres-crash':
    case 'redis-restart':
    case 'redis-wipe':
      return { kind, target: '', downMs, gapMs };
    case 'lock-terminate':
    case 'cursor-invalidate':
      return { kind, target: workspace, downMs: 0, gapMs };
    case 'list-move':
      return { kind, target: moving, downMs: 0, gapMs, mutation: { progress: rng.int(1, 4), revive: rng.int(1, 4) } };
    case 'mutate':
      return { kind, target: workspace, downMs: 0, gapMs, mutation: { progress: rng.int(1, 8), create: rng.int(1, 6), amend: rng.int(1, 5), revive: rng.int(0, 3) } };
    case 'delete':
      return { kind, target: workspace, downMs: 0, gapMs, mutation: { delete: rng.int(1, 4) } };
  }
}

export interface FaultContext {
  pg: ChaosPostgres;
  redis: PrivateRedis;
  fleet: Fleet;
  apis: ChaosApi[];
  queue: ChaosQueue;
}

/** A walk in flight: its workspace lock is held by a live session. */
export interface Walk {
  workspace: string;
  lockPid: number;
  /** Pages its run has committed, and whether it has a next page: past page 1 and not at the end is mid-walk. */
  pages: number | null;
  midWalk: boolean;
}

/** Injects one planned fault while walks are in flight; what it did, for the record. */
export async function injectFault(plan: FaultPlan, ctx: FaultContext): Promise<Record<string, unknown>> {
  const { pg, redis, fleet } = ctx;
  switch (plan.kind) {
    case 'worker-kill': {
      const walks = await awaitWalks(ctx, null, false);
      const pid = await fleet.kill(plan.target);
      await sleep(plan.downMs);
      fleet.start(plan.target);
      return { worker: plan.target, pid: pid ?? null, downMs: plan.downMs, walks: names(walks) };
    }
    case 'postgres-crash': {
      const walks = await awaitWalks(ctx, null, false);
      await pg.server.crash();
      await sleep(plan.downMs);
      await pg.server.start();
      return { downMs: plan.downMs, walks: names(walks) };
    }
    case 'redis-restart':
    case 'redis-wipe': {
      const walks = await awaitWalks(ctx, null, false);
      await redis.kill();
      if (plan.kind === 'redis-wipe') redis.wipe();
      await sleep(plan.downMs);
      await redis.start();
      return { downMs: plan.downMs, walks: names(walks) };
    }
    case 'lock-terminate': {
      const walks = await awaitWalks(ctx, plan.target, false);
      const walk = walks.find((w) => w.workspace === plan.target);
      let terminated = false;
      if (walk) {
        const [row] = await pg.sql<{ ok: boolean }[]>`select pg_terminate_backend(${walk.lockPid}::int) as ok`;
        terminated = row?.ok === true;
      }
      return { workspace: plan.target, lockPid: walk?.lockPid ?? null, terminated, walks: names(walks) };
    }
    case 'cursor-invalidate': {
      const walks = await awaitWalks(ctx, plan.target, true);
      api(ctx, plan.target).invalidateCursors();
      return { workspace: plan.target, midWalk: walks.some((w) => w.workspace === plan.target && w.midWalk), walks: names(walks) };
    }
    case 'list-move':
    case 'mutate':
    case 'delete': {
      const midWalk = plan.kind === 'list-move';
      const walks = await awaitWalks(ctx, plan.target, midWalk);
      const result = await api(ctx, plan.target).mutate(plan.mutation!, () => storedIds(pg.sql, plan.target));
      return { workspace: plan.target, spec: plan.mutation, ...changed(result), midWalk: walks.some((w) => w.workspace === plan.target && w.midWalk), walks: names(walks) };
    }
  }
}

const WALK_WAIT_MS = 8_000;

/**
 * Asks for walks (a full and a reconciliation per workspace; the queue drops
 * duplicates) until `workspace` (or any, when null) has one in flight, and
 * past its first page when `midWalk`. Bounded: after WALK_WAIT_MS the fault
 * goes in anyway, and the record says no walk was in flight.
 */
export async function awaitWalks(ctx: FaultContext, workspace: string | null, midWalk: boolean): Promise<Walk[]> {
  const deadline = Date.now() + WALK_WAIT_MS;
  let asked = 0;
  let walks: Walk[] = [];
  const targets = workspace === null ? ctx.apis.map((a) => a.name) : [workspace];
  for (;;) {
    if (Date.now() - asked > 1_500) {
      asked = Date.now();
      for (const w of targets) {
        await ctx.queue.enqueue(w, 'full');
        await ctx.queue.enqueue(w, 'reconcile');
      }
    }
    walks = await walksInFlight(ctx).catch(() => []);
    const fits = walks.filter((w) => (workspace === null || w.workspace === workspace) && (!midWalk || w.midWalk));
    if (fits.length > 0 || Date.now() > deadline) return walks;
    await sleep(50);
  }
}

/** Walks whose workspace lock (src/db/workspace-lock.ts: one bigint advisory lock per workspace) is held right now. */
export async function walksInFlight(ctx: Pick<FaultContext, 'pg' | 'apis'>): Promise<Walk[]> {
  const rows = await ctx.pg.sql<{ workspace: string; lockPid: number; pages: number | null; hasNext: boolean | null }[]>`
    select w.name as workspace, l.pid as "lockPid", r.pages, r.next_cursor is not null as "hasNext"
    from pg_catalog.pg_locks l
    join (select name, pg_catalog.hashtextextended('threetone-sync:' || name, 0) as key
          from unnest(${ctx.apis.map((a) => a.name)}::text[]) as name) w
      on l.classid::text::bigint = ((w.key >> 32) & 4294967295) and l.objid::text::bigint = (w.key & 4294967295) and l.objsubid = 1
    left join lateral (select pages, next_cursor from sync_runs r where r.workspace = w.name and r.status = 'running' order by r.id desc limit 1) r on true
    where l.locktype = 'advisory' and l.granted`;
  return rows.map((r) => ({ workspace: r.workspace, lockPid: r.lockPid, pages: r.pages, midWalk: (r.pages ?? 0) >= 1 && r.hasNext === true }));
}

function api(ctx: FaultContext, name: string): ChaosApi {
  const found = ctx.apis.find((a) => a.name === name);
  if (!found) throw new Error(`no workspace ${name}`);
  return found;
}

function names(walks: Walk[]): string[] {
  return walks.map((w) => `${w.workspace}${w.midWalk ? `@${w.pages}` : ''}`);
}

/** Counts of what changed, and the deleted ids (the record must say which jobs to look for). */
function changed(result: MutationResult & { deletedStored: string[] }): Record<string, unknown> {
  return {
    progressed: result.progressed.length,
    created: result.created.length,
    amended: result.amended.length,
    revived: result.revived.length,
    deleted: result.deleted,
    deletedStored: result.deletedStored,
  };
}
