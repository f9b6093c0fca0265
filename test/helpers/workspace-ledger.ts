import { expect } from 'vitest';
import type { MutationResult, MutationSpec, Simulator } from '../../src/simulator/index.ts';
import type { Database } from '../../src/db/connection.ts';
import { expectCopyMatches, storedVersions } from './stored.ts';

/**
 * What one workspace's tables must hold, kept next to the simulator that
 * serves it: the jobs the API deleted once the copy held them (they stay, and
 * a reconciliation marks exactly those), apart from the ones it deleted before
 * any walk stored them (a walk can no longer see them, so they are never in
 * the copy).
 */
export class WorkspaceLedger {
  /** Deleted by the API while stored here. */
  readonly deleted = new Set<string>();
  /** Deleted by the API before any walk stored them. */
  readonly neverStored = new Set<string>();

  constructor(
    readonly database: Database,
    readonly workspace: string,
    readonly simulator: Simulator,
  ) {}

  /**
   * Changes the API. Only while no run of this workspace is in flight (nor a
   * killed one's session still committing): which deletes hit stored jobs is
   * read from the tables just before.
   */
  async mutate(spec: MutationSpec): Promise<MutationResult & { deletedStored: string[] }> {
    const stored = await this.storedIds();
    const result = this.simulator.mutate(spec);
    const deletedStored = result.deleted.filter((id) => stored.has(id));
    for (const id of result.deleted) (stored.has(id) ? this.deleted : this.neverStored).add(id);
    return { ...result, deletedStored };
  }

  async storedIds(): Promise<Set<string>> {
    const rows = await this.database.sql<{ id: string }[]>`select id from batch_calls where workspace = ${this.workspace}`;
    return new Set(rows.map((r) => r.id));
  }

  async marked(): Promise<string[]> {
    const rows = await this.database.sql<{ id: string }[]>`
      select id from batch_calls where workspace = ${this.workspace} and deleted_at is not null order by id`;
    return rows.map((r) => r.id);
  }

  /**
   * Holds at any moment: no job the API lists is marked deleted, every mark is
   * a job the API deleted, and at least `required` are marked.
   */
  async expectMarksWithin(required: Iterable<string> = []): Promise<void> {
    const marked = await this.marked();
    const listed = new Set(this.simulator.truth().map((t) => t.id));
    expect(marked.filter((id) => listed.has(id)), `${this.workspace}: live jobs marked deleted`).toEqual([]);
    expect(marked.filter((id) => !this.deleted.has(id)), `${this.workspace}: marks on jobs the API never deleted`).toEqual([]);
    const set = new Set(marked);
    expect([...required].filter((id) => !set.has(id)), `${this.workspace}: deletes left unmarked`).toEqual([]);
  }

  /** Exactly these marked deleted. */
  async expectMarked(expected: Iterable<string>): Promise<void> {
    expect(await this.marked(), `${this.workspace}: jobs marked deleted`).toEqual([...expected].sort());
  }

  /**
   * The copy equals the API: every job it lists stored exactly as served, the
   * jobs it deleted still stored, nothing else; history holds every current
   * version, and no version twice or one the API never served.
   */
  async expectCopy(): Promise<void> {
    const truth = this.simulator.truth();
    await expectCopyMatches(this.database, this.workspace, truth, this.deleted);
    const versions = await storedVersions(this.database, this.workspace);
    expect(new Set(versions).size, `${this.workspace}: duplicate versions`).toBe(versions.length);
    const served = new Set(this.simulator.versions().map((v) => `${v.id}@${v.last_updated_at_unix}`));
    expect(versions.filter((v) => !served.has(v)), `${this.workspace}: versions the API never served`).toEqual([]);
    const stored = new Set(versions);
    expect(
      truth.map((job) => `${job.id}@${job.last_updated_at_unix}`).filter((v) => !stored.has(v)),
      `${this.workspace}: current versions missing from history`,
    ).toEqual([]);
  }

  /** After a reconciliation that walked from the top with the API unchanged since: the copy equals the API, and the marks are exactly its deletes. */
  async expectExact(): Promise<void> {
    await this.expectCopy();
    await this.expectMarked(this.deleted);
  }
}
