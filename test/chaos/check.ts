import { isDeepStrictEqual } from 'node:util';

/**
 * Whether one workspace's tables equal the API, as a pure function of what
 * the API holds, what the tables hold and which deletes the API made: no I/O,
 * so every rule is unit-tested on its own (check.test.ts).
 */

/** A job as the API lists it (only the fields the rules read are typed). */
export interface ApiJob {
  id: string;
  last_updated_at_unix: number;
  [field: string]: unknown;
}

export interface ApiState {
  /** What the API lists now. */
  live: ApiJob[];
  /** Every version the API ever served or could have: "id@last_updated_at_unix". */
  served: ReadonlySet<string>;
}

export interface StoredJob {
  id: string;
  raw: unknown;
  /** Postgres text of deleted_at, null while live. */
  deletedAt: string | null;
}

export interface StoredVersion {
  id: string;
  lastUpdatedAtUnix: number;
  /** Postgres text of valid_to: 'infinity' for the version current now. */
  validTo: string;
}

export interface StoredCopy {
  jobs: StoredJob[];
  versions: StoredVersion[];
}

export interface Deletes {
  /** Deleted by the API while the copy held them. */
  stored: ReadonlySet<string>;
  /** Deleted by the API while the copy did not (yet) hold them. */
  unseen: ReadonlySet<string>;
}

export interface Difference {
  workspace: string;
  /** The job it is about, or null for the workspace as a whole. */
  job: string | null;
  what: string;
}

export interface CopyCounts {
  live: number;
  stored: number;
  marked: number;
  versions: number;
}

export const INFINITY = 'infinity';

/** After a reconciliation that started once the API stopped changing: the copy must be exact. */
export function compareCopy(workspace: string, api: ApiState, copy: StoredCopy, deletes: Deletes): Difference[] {
  const out: Difference[] = [];
  const diff = (job: string | null, what: string) => out.push({ workspace, job, what });
  const stored = new Map(copy.jobs.map((j) => [j.id, j]));
  const live = new Map(api.live.map((j) => [j.id, j]));

  for (const job of api.live) {
    const row = stored.get(job.id);
    if (!row) diff(job.id, 'listed by the API but not stored');
    else if (row.deletedAt !== null) diff(job.id, `listed by the API but marked deleted at ${row.deletedAt}`);
    else if (!isDeepStrictEqual(row.raw, job)) diff(job.id, `raw differs from the API: ${describeMismatch(row.raw, job)}`);
  }
  for (const row of copy.jobs) {
    if (live.has(row.id)) continue;
    const deleted = deletes.stored.has(row.id) || deletes.unseen.has(row.id);
    if (!deleted) diff(row.id, row.deletedAt === null ? 'stored, but the API never listed it' : `marked deleted at ${row.deletedAt}, but the API never deleted it`);
    else if (row.deletedAt === null) diff(row.id, 'deleted by the API but not marked deleted');
  }
  for (const id of deletes.stored) {
    if (!stored.has(id)) diff(id, 'deleted by the API after it was stored, but its row is gone');
  }

  const versions = new Map<string, StoredVersion[]>();
  for (const v of copy.versions) {
    if (!api.served.has(`${v.id}@${v.lastUpdatedAtUnix}`)) diff(v.id, `history holds version ${v.lastUpdatedAtUnix}, which the API never served`);
    const list = versions.get(v.id) ?? [];
    list.push(v);
    versions.set(v.id, list);
  }
  for (const row of copy.jobs) {
    const list = (versions.get(row.id) ?? []).sort((a, b) => a.lastUpdatedAtUnix - b.lastUpdatedAtUnix);
    const open = list.filter((v) => v.validTo === INFINITY);
    const job = live.get(row.id);
    if (list.length === 0) {
      diff(row.id, 'stored without any history');
      continue;
    }
    if (job && !row.deletedAt) {
      const current = list.find((v) => v.lastUpdatedAtUnix === job.last_updated_at_unix);
      if (!current) diff(row.id, `history lacks the current version ${job.last_updated_at_unix} (has ${list.map((v) => v.lastUpdatedAtUnix).join(', ')})`);
      else if (current.validTo !== INFINITY) diff(row.id, `current version ${job.last_updated_at_unix} has valid_to ${current.validTo}, not infinity`);
      if (open.length !== 1) diff(row.id, `${open.length} history rows with valid_to infinity (want 1)`);
    } else if (row.deletedAt !== null) {
      const newest = list[list.length - 1]!;
      if (open.length > 0) diff(row.id, `marked deleted but ${open.length} history row(s) still have valid_to infinity`);
      else if (newest.validTo !== row.deletedAt) diff(row.id, `newest version ${newest.lastUpdatedAtUnix} has valid_to ${newest.validTo}, not deleted_at ${row.deletedAt}`);
    }
  }
  return out;
}

/**
 * What holds at any moment, walks in flight or not: no job the API lists is
 * marked deleted, and every mark is on a job the API deleted.
 */
export function compareMarks(workspace: string, liveIds: Iterable<string>, marked: Iterable<string>, deletes: Deletes): Difference[] {
  const live = new Set(liveIds);
  const out: Difference[] = [];
  for (const id of marked) {
    if (live.has(id)) out.push({ workspace, job: id, what: 'marked deleted while the API lists it' });
    else if (!deletes.stored.has(id) && !deletes.unseen.has(id)) out.push({ workspace, job: id, what: 'marked deleted, but the API never deleted it' });
  }
  return out;
}

export function countCopy(api: ApiState, copy: StoredCopy): CopyCounts {
  return { live: api.live.length, stored: copy.jobs.length, marked: copy.jobs.filter((j) => j.deletedAt !== null).length, versions: copy.versions.length };
}

export function formatDifference(d: Difference): string {
  return `${d.workspace}${d.job === null ? '' : ` ${d.job}`}: ${d.what}`;
}

/** The fields that differ, stored value first: enough to see what went wrong in one line. */
export function describeMismatch(stored: unknown, api: unknown): string {
  if (typeof stored !== 'object' || stored === null || typeof api !== 'object' || api === null) {
    return `stored ${short(stored)}, API ${short(api)}`;
  }
  const a = stored as Record<string, unknown>;
  const b = api as Record<string, unknown>;
  const fields = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter((k) => !isDeepStrictEqual(a[k], b[k]));
  const shown = fields.slice(0, 4).map((k) => `${k} stored ${short(a[k])}, API ${short(b[k])}`);
  return `${shown.join('; ')}${fields.length > 4 ? ` (+${fields.length - 4} more fields)` : ''}`;
}

function short(value: unknown): string {
  const text = value === undefined ? 'absent' : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
