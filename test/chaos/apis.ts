import type postgres from 'postgres';
import { startSimulator, type ListOrder, type MutationResult, type MutationSpec, type Simulator, type SimulatorOptions } from '../../src/simulator/index.ts';
import { startKeyRouter, type KeyRouter } from '../helpers/key-router.ts';

/**
 * The API side of a chaos run: one simulator per workspace behind one
 * address (the key picks the workspace, as the real API does), and what each
 * workspace's tables must hold because of the deletes the API made.
 */

export interface WorkspaceSpec {
  name: string;
  items: number;
  /** 'updated': a job that gets a new version moves to the head of the list. */
  order: ListOrder;
  /** Cursors the API stops accepting this long after it issued them. */
  cursorTtlMs: number | null;
}

export const WORKSPACES: WorkspaceSpec[] = [
  { name: 'alpha', items: 600, order: 'created', cursorTtlMs: null },
  { name: 'beta', items: 1500, order: 'updated', cursorTtlMs: null },
  { name: 'gamma', items: 1000, order: 'created', cursorTtlMs: 3_000 },
];

/** Per page, so a walk of a few dozen pages is in flight for a few seconds. */
const LATENCY_MS = 40;

export class ChaosApi {
  /**
   * Deleted by the API while the copy held them: they must stay, marked
   * deleted once a reconciliation walked after the delete.
   */
  readonly deletedStored = new Set<string>();
  /**
   * Deleted by the API while the copy did not hold them (as far as a read just
   * before could tell: a page in flight may still store one). Absent, or
   * stored and marked.
   */
  readonly deletedUnseen = new Set<string>();
  /** Date.now() of the last change made to this API. */
  lastMutationAt = 0;

  constructor(
    readonly spec: WorkspaceSpec,
    readonly apiKey: string,
    readonly simulator: Simulator,
  ) {}

  get name(): string {
    return this.spec.name;
  }

  /**
   * Changes the API. A delete first reads which jobs the copy holds, so each
   * deleted job is filed as stored or not (rows are never removed, so
   * "stored then" means "must still be there").
   */
  async mutate(spec: MutationSpec, storedIds: () => Promise<Set<string>>): Promise<MutationResult & { deletedStored: string[] }> {
    const stored = spec.delete ? await storedIds() : new Set<string>();
    const result = this.simulator.mutate(spec);
    this.lastMutationAt = Date.now();
    for (const id of result.deleted) (stored.has(id) ? this.deletedStored : this.deletedUnseen).add(id);
    return { ...result, deletedStored: result.deleted.filter((id) => stored.has(id)) };
  }

  /** Every cursor handed out so far is refused from now on (a deploy rotating the API's cursor secret). */
  invalidateCursors(): void {
    this.simulator.invalidateCursors();
  }
}

export interface ChaosApis {
  apis: ChaosApi[];
  router: KeyRouter;
  close(): Promise<void>;
}

export async function startApis(seed: number): Promise<ChaosApis> {
  const apis: ChaosApi[] = [];
  try {
    for (const [i, spec] of WORKSPACES.entries()) {
      const apiKey = `sk_chaos_${spec.name}_${(seed >>> 0).toString(16)}`;
      const options: SimulatorOptions = {
        apiKeys: [apiKey],
        items: spec.items,
        seed: seed + 1_000 * (i + 1),
        latencyMs: LATENCY_MS,
        order: spec.order,
        ...(spec.cursorTtlMs === null ? {} : { cursorTtlMs: spec.cursorTtlMs }),
      };
      apis.push(new ChaosApi(spec, apiKey, await startSimulator(options)));
    }
    const router = await startKeyRouter(Object.fromEntries(apis.map((a) => [a.apiKey, a.simulator.url])));
    return {
      apis,
      router,
      async close() {
        await router.close();
        for (const api of apis) await api.simulator.close();
      },
    };
  } catch (error) {
    for (const api of apis) await api.simulator.close();
    throw error;
  }
}

/** Ids of the workspace's stored jobs (marked deleted or not). */
export async function storedIds(sql: postgres.Sql, workspace: string): Promise<Set<string>> {
  const rows = await sql<{ id: string }[]>`select id from batch_calls where workspace = ${workspace}`;
  return new Set(rows.map((r) => r.id));
}
