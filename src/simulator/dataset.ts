import { createHmac } from 'node:crypto';
import type { BatchCallInput } from '../resources/batch-calls.ts';
import { Rng } from './random.ts';

/**
 * The simulator's in-memory workspace: generation of realistic jobs, the
 * newest-first list with keyset cursors, mutations between walks, and the
 * "truth" tests compare a sync against.
 */

/**
 * What "newest first" means: `created` is the API's documented order
 * (created_at_unix DESC, id DESC); `updated` (last_updated_at_unix DESC, id
 * DESC) is the hostile one, where a job that gets a new version jumps to the
 * top and a walk already under way never meets it.
 */
export type ListOrder = 'created' | 'updated';

export interface DriftOptions {
  unknownFieldRate?: number;
  unknownEnumRate?: number;
  invalidRate?: number;
}

export interface MutationSpec {
  progress?: number;
  create?: number;
  delete?: number;
  amend?: number;
  lagging?: number;
  revive?: number;
}

export interface MutationResult {
  progressed: string[];
  created: string[];
  deleted: string[];
  amended: string[];
  lagging: string[];
  revived: string[];
}

export interface DatasetOptions {
  items: number;
  seed: number;
  drift: DriftOptions;
  /** Unix seconds. */
  now: () => number;
  /** Default 'created'. */
  order?: ListOrder;
}

/** Position in the list: the job's time in the list's order (created_at_unix or last_updated_at_unix) DESC, then id DESC. */
export interface SortKey {
  t: number;
  id: string;
}

/** A decoded cursor: where to continue, and when it was issued (null when it carries no issue time). */
export interface Cursor {
  key: SortKey;
  issuedMs: number | null;
}

export interface PageResult {
  items: unknown[];
  hasMore: boolean;
  /** Key of the last served item when more follow; null on the last page. */
  nextKey: SortKey | null;
}

const DAY = 86_400;
const FINAL = new Set(['completed', 'failed', 'cancelled']);

const Lag = {
  None: 0,
  /** Armed by mutate({lagging}); becomes Active when the next walk starts. */
  Pending: 1,
  /** The next time this job is served, the previous version goes out instead. */
  Active: 2,
} as const;
type Lag = (typeof Lag)[keyof typeof Lag];

interface Entry {
  /** created_at_unix as generated; kept separately because invalid items may not serve it. */
  created: number;
  /** last_updated_at_unix of the current version (as generated for invalid items, which may not serve it). */
  updated: number;
  /** Job id; for invalid items this is the internal id even if the served JSON lacks one. */
  id: string;
  /** Current served content: a BatchCallInput when valid, anything when invalid. */
  item: unknown;
  invalid: boolean;
  deleted: boolean;
  lag: Lag;
}

interface JobHistory {
  entry: Entry;
  /** Superseded versions, oldest first (the current one lives in entry.item). */
  versions: BatchCallInput[];
}

function compareAt(at: number, aid: string, bt: number, bid: string): number {
  if (at !== bt) return at < bt ? -1 : 1;
  return aid < bid ? -1 : aid > bid ? 1 : 0;
}

type Compare<K> = (a: Entry, b: K) => number;

/** How entries sort, and how an entry compares with a cursor's key, in each order. */
const ORDERS: Record<ListOrder, { entries: Compare<Entry>; key: Compare<SortKey> }> = {
  created: {
    entries: (a, b) => compareAt(a.created, a.id, b.created, b.id),
    key: (a, k) => compareAt(a.created, a.id, k.t, k.id),
  },
  updated: {
    entries: (a, b) => compareAt(a.updated, a.id, b.updated, b.id),
    key: (a, k) => compareAt(a.updated, a.id, k.t, k.id),
  },
};
const compareCreated = ORDERS.created.entries;

function current(entry: Entry): BatchCallInput {
  return entry.item as BatchCallInput;
}

function timeIn(order: ListOrder, entry: { created: number; updated: number }): number {
  return order === 'created' ? entry.created : entry.updated;
}

export class Dataset {
  /**
   * The list: ascending by (time in the list's order, id), i.e. oldest
   * first, so the common mutation (a new job, or in `updated` order a new
   * version) is an append and pages are read backwards from an index found
   * by binary search.
   */
  private entries: Entry[];
  /**
   * Ascending by (created, id); in `created` order the very same array as
   * `entries`. Mutations pick their jobs from it, so one seed picks the same
   * jobs in either order, and the scan follows allocation order: scanning
   * `entries` in `updated` order hops around memory and is 3-4x slower.
   */
  private byCreation: Entry[];
  private readonly histories = new Map<string, JobHistory>();
  private readonly deletedItems: BatchCallInput[] = [];
  private readonly invalid: unknown[] = [];
  private readonly pendingLag = new Set<Entry>();
  private readonly generator: JobGenerator;
  /** Mutations draw from their own stream so the initial dataset never depends on them. */
  private readonly mutationRng: Rng;
  private cursorSecret: string;
  private cursorGeneration = 0;
  private order: ListOrder;

  constructor(private readonly options: DatasetOptions) {
    this.generator = new JobGenerator(new Rng(options.seed), options.drift);
    this.mutationRng = new Rng(options.seed + 0x51ed);
    this.cursorSecret = `threetone-sim-${options.seed}`;
    this.order = options.order ?? 'created';
    this.byCreation = this.generateInitial(Math.max(0, Math.floor(options.items)));
    this.entries = this.byCreation;
    if (this.order === 'updated') this.entries = this.byCreation.slice().sort(ORDERS.updated.entries);
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * Re-sorts the list (O(n log n)). Cursors issued before still decode, but
   * their position is read in the new order, so a walk that spans the switch
   * skips or repeats jobs.
   */
  setOrder(order: ListOrder): void {
    if (order === this.order) return;
    this.order = order;
    this.entries = order === 'created' ? this.byCreation : this.byCreation.slice().sort(ORDERS.updated.entries);
  }

  // ---------------------------------------------------------------- reading

  /**
   * Up to `limit` items strictly after `after` in newest-first order.
   * O(log n + limit). With `commit` false (e.g. for a body that will be
   * truncated anyway) no one-shot state such as lagging versions is consumed.
   */
  page(limit: number, after: SortKey | null, commit: boolean): PageResult {
    const end = after ? lowerBound(this.entries, after, ORDERS[this.order].key) : this.entries.length;
    const start = Math.max(0, end - limit);
    const items: unknown[] = [];
    for (let i = end - 1; i >= start; i--) items.push(this.serve(this.entries[i] as Entry, commit));
    const hasMore = start > 0;
    const last = this.entries[start];
    return { items, hasMore, nextKey: hasMore && last ? { t: timeIn(this.order, last), id: last.id } : null };
  }

  /** Called when a client requests page 1: lagging versions armed since the last walk go live now. */
  beginWalk(): void {
    for (const entry of this.pendingLag) if (!entry.deleted) entry.lag = Lag.Active;
    this.pendingLag.clear();
  }

  truth(): BatchCallInput[] {
    const out: BatchCallInput[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as Entry;
      if (!entry.invalid) out.push(current(entry));
    }
    return out;
  }

  versions(): BatchCallInput[] {
    const out: BatchCallInput[] = [];
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i] as Entry;
      if (entry.invalid) continue;
      const history = this.histories.get(entry.id);
      if (history) out.push(...history.versions);
      out.push(current(entry));
    }
    for (const item of this.deletedItems) {
      const history = this.histories.get(item.id);
      if (history) out.push(...history.versions);
      out.push(item);
    }
    return out;
  }

  invalidItems(): unknown[] {
    return this.invalid.slice();
  }

  // ---------------------------------------------------------------- cursors

  /**
   * Opaque cursor: base64url("t:id"), or base64url("i<issuedMs>:t:id") when an
   * issue time is given, + "." + truncated HMAC, so any edit (the issue time
   * included) is detected. Without an issue time the bytes are those of the
   * cursors before issue times existed, so seeded runs stay reproducible.
   */
  encodeCursor(key: SortKey, issuedMs: number | null = null): string {
    const position = `${key.t}:${key.id}`;
    const payload = Buffer.from(issuedMs === null ? position : `i${issuedMs}:${position}`, 'utf8').toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** Null for anything this dataset's current secret did not sign. */
  decodeCursor(cursor: string): Cursor | null {
    const parts = cursor.split('.');
    if (parts.length !== 2) return null;
    const [payload, mac] = parts as [string, string];
    if (payload === '' || mac !== this.mac(payload)) return null;
    const match = /^(?:i(\d+):)?(-?\d+):(.+)$/s.exec(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!match) return null;
    const issuedMs = match[1] === undefined ? null : Number(match[1]);
    const t = Number(match[2]);
    if (!Number.isSafeInteger(t) || (issuedMs !== null && !Number.isSafeInteger(issuedMs))) return null;
    return { key: { t, id: match[3] as string }, issuedMs };
  }

  /** A new signing secret, as a deploy of the real API does: every cursor issued so far stops decoding. */
  rotateCursorSecret(): void {
    this.cursorGeneration++;
    this.cursorSecret = `threetone-sim-${this.options.seed}/${this.cursorGeneration}`;
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.cursorSecret).update(payload).digest('base64url').slice(0, 16);
  }

  // -------------------------------------------------------------- mutations

  mutate(spec: MutationSpec): MutationResult {
    const now = this.options.now();
    // A job touched by one kind of change is not picked by another in the
    // same call, so each id in the result means exactly one thing.
    const touched = new Set<Entry>();
    const pick = (n: number | undefined, eligible: (e: Entry) => boolean): Entry[] => {
      if (!n || n <= 0) return [];
      const candidates = this.byCreation.filter((e) => !e.invalid && !touched.has(e) && eligible(e));
      const chosen = this.mutationRng.sample(candidates, n);
      for (const e of chosen) touched.add(e);
      return chosen;
    };

    const progressed = pick(spec.progress, (e) => !FINAL.has(String(current(e).status)));
    for (const e of progressed) this.supersede(e, advance(current(e), this.mutationRng, bump(current(e), now)));

    const revived = pick(spec.revive, (e) => FINAL.has(String(current(e).status)));
    for (const e of revived) this.supersede(e, revive(current(e), bump(current(e), now)));

    const amended = pick(spec.amend, () => true);
    // Same last_updated_at_unix, different content: the old content simply stops existing.
    for (const e of amended) e.item = amend(current(e));

    const deleted = pick(spec.delete, () => true);
    for (const e of deleted) this.remove(e);

    const created = this.create(spec.create ?? 0, now);

    const lagging = this.armLagging(spec.lagging ?? 0);

    const ids = (list: Entry[]) => list.map((e) => e.id);
    return {
      progressed: ids(progressed),
      created,
      deleted: ids(deleted),
      amended: ids(amended),
      lagging,
      revived: ids(revived),
    };
  }

  /**
   * Adds `n` invalid items at the very top of the list: `schema` ones break the
   * spec; `unstorable` ones fit the spec but not Postgres (timestamps beyond
   * timestamptz, ids and keys longer than an index entry).
   */
  injectInvalid(n: number, kind: InvalidKind = 'schema'): void {
    for (let i = 0; i < n; i++) {
      const now = this.options.now();
      const top = this.entries[this.entries.length - 1];
      // Ties are broken by a random id, so only a strictly newer second guarantees "top".
      const topTime = top ? timeIn(this.order, top) : -Infinity;
      const t = now > topTime ? now : topTime + 1;
      this.insert(this.toEntry(this.generator.job(t, now, { fresh: true, forceInvalid: kind })));
    }
  }

  private create(n: number, now: number): string[] {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const job = this.generator.job(now, now, { fresh: true, forceInvalid: null });
      this.insert(this.toEntry(job));
      if (!job.invalid) ids.push(job.id);
    }
    return ids;
  }

  private armLagging(n: number): string[] {
    if (n <= 0) return [];
    const candidates: Entry[] = [];
    for (const { entry, versions } of this.histories.values()) {
      if (!entry.deleted && versions.length > 0 && entry.lag === Lag.None) candidates.push(entry);
    }
    const chosen = this.mutationRng.sample(candidates, n);
    for (const entry of chosen) {
      entry.lag = Lag.Pending;
      this.pendingLag.add(entry);
    }
    return chosen.map((e) => e.id);
  }

  private supersede(entry: Entry, next: BatchCallInput): void {
    let history = this.histories.get(entry.id);
    if (!history) {
      history = { entry, versions: [] };
      this.histories.set(entry.id, history);
    }
    history.versions.push(current(entry));
    // In `updated` order a new version moves the job to the top: O(n) for the two splices, which are memmoves;
    // simpler than a tree and fast enough for a few hundred changes on 100k jobs.
    const moves = this.order === 'updated' && next.last_updated_at_unix !== entry.updated;
    if (moves) this.entries.splice(indexIn(this.entries, entry, ORDERS.updated.entries), 1);
    entry.item = next;
    entry.updated = next.last_updated_at_unix;
    if (moves) insertInto(this.entries, entry, ORDERS.updated.entries);
  }

  private remove(entry: Entry): void {
    this.entries.splice(indexIn(this.entries, entry, ORDERS[this.order].entries), 1);
    if (this.byCreation !== this.entries) this.byCreation.splice(indexIn(this.byCreation, entry, compareCreated), 1);
    entry.deleted = true;
    entry.lag = Lag.None;
    this.pendingLag.delete(entry);
    this.deletedItems.push(current(entry));
  }

  // ---------------------------------------------------------------- storage

  private serve(entry: Entry, commit: boolean): unknown {
    if (entry.lag !== Lag.Active) return entry.item;
    const previous = this.histories.get(entry.id)?.versions.at(-1);
    if (commit) entry.lag = Lag.None;
    return previous ?? entry.item;
  }

  private insert(entry: Entry): void {
    insertInto(this.entries, entry, ORDERS[this.order].entries);
    if (this.byCreation !== this.entries) insertInto(this.byCreation, entry, compareCreated);
  }

  private toEntry(job: GeneratedJob): Entry {
    if (job.invalid) this.invalid.push(job.item);
    return { created: job.created, updated: job.updated, id: job.id, item: job.item, invalid: job.invalid, deleted: false, lag: Lag.None };
  }

  /**
   * Creation times are drawn first and sorted as plain numbers (fast even for
   * 1M), so the entries come out in creation order and only equal timestamps
   * need their ids ordered afterwards. The jobs are the same in either order.
   */
  private generateInitial(n: number): Entry[] {
    const now = this.options.now();
    const times = new Float64Array(n);
    for (let i = 0; i < n; i++) times[i] = this.generator.rng.int(now - 180 * DAY, now - 60);
    times.sort();
    const entries = new Array<Entry>(n);
    for (let i = 0; i < n; i++) {
      entries[i] = this.toEntry(this.generator.job(times[i] as number, now, { fresh: false, forceInvalid: null }));
    }
    sortTies(entries);
    return entries;
  }
}

/** First index whose key is >= `key`. */
function lowerBound<K>(list: Entry[], key: K, compare: Compare<K>): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(list[mid] as Entry, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function indexIn(list: Entry[], entry: Entry, compare: Compare<Entry>): number {
  const index = lowerBound(list, entry, compare);
  if (list[index] !== entry) throw new Error(`simulator: lost track of ${entry.id}`);
  return index;
}

/** New jobs (and new versions) nearly always belong at the end (newest); splice only when the clock says otherwise. */
function insertInto(list: Entry[], entry: Entry, compare: Compare<Entry>): void {
  const last = list[list.length - 1];
  if (!last || compare(last, entry) < 0) list.push(entry);
  else list.splice(lowerBound(list, entry, compare), 0, entry);
}

/** Orders the ids within each run of equal creation times of a list already sorted by creation time. */
function sortTies(entries: Entry[]): void {
  let runStart = 0;
  for (let i = 1; i <= entries.length; i++) {
    if (i < entries.length && (entries[i] as Entry).created === (entries[runStart] as Entry).created) continue;
    if (i - runStart > 1) {
      const run = entries.slice(runStart, i).sort(compareCreated);
      for (let k = 0; k < run.length; k++) entries[runStart + k] = run[k] as Entry;
    }
    runStart = i;
  }
}

// ------------------------------------------------------------ job lifecycle

interface Counters {
  scheduled: number;
  dispatched: number;
  finished: number;
}

function readCounters(item: BatchCallInput): Counters {
  return {
    scheduled: item.total_calls_scheduled ?? 0,
    dispatched: item.total_calls_dispatched ?? 0,
    finished: item.total_calls_finished ?? 0,
  };
}

/** last_updated_at_unix must strictly increase with every new version, even if the clock did not move. */
function bump(item: BatchCallInput, now: number): number {
  return Math.max(item.last_updated_at_unix + 1, now);
}

/** One step forward: pending -> in_progress -> completed/failed (unknown statuses resume as in_progress). */
function advance(item: BatchCallInput, rng: Rng, updated: number): BatchCallInput {
  const c = readCounters(item);
  const scheduled = Math.max(1, c.scheduled);
  if (item.status === 'in_progress') {
    if (rng.chance(0.85)) {
      return withCounters(item, 'completed', { scheduled, dispatched: scheduled, finished: scheduled }, updated);
    }
    const dispatched = rng.int(Math.max(c.dispatched, c.finished), scheduled);
    return withCounters(item, 'failed', { scheduled, dispatched, finished: dispatched }, updated);
  }
  const dispatched = rng.int(Math.max(1, c.dispatched), scheduled);
  const finished = rng.int(Math.min(c.finished, dispatched), dispatched);
  return withCounters(item, 'in_progress', { scheduled, dispatched, finished }, updated);
}

/** A final job is retried: back to in_progress with one more retry. */
function revive(item: BatchCallInput, updated: number): BatchCallInput {
  const c = readCounters(item);
  const scheduled = Math.max(1, c.scheduled);
  const dispatched = Math.min(scheduled, Math.max(1, c.dispatched));
  const next = withCounters(item, 'in_progress', { scheduled, dispatched, finished: Math.min(c.finished, dispatched) }, updated);
  next.retry_count = (item.retry_count ?? 0) + 1;
  return next;
}

/** The API bumped a counter but not last_updated_at_unix. */
function amend(item: BatchCallInput): BatchCallInput {
  const c = readCounters(item);
  if (item.status === 'in_progress' && c.finished < c.dispatched) {
    return { ...item, total_calls_finished: c.finished + 1 };
  }
  return { ...item, retry_count: (item.retry_count ?? 0) + 1 };
}

function withCounters(item: BatchCallInput, status: string, c: Counters, updated: number): BatchCallInput {
  return {
    ...item,
    status,
    total_calls_scheduled: c.scheduled,
    total_calls_dispatched: c.dispatched,
    total_calls_finished: c.finished,
    last_updated_at_unix: updated,
  };
}

// --------------------------------------------------------------- generation

interface GeneratedJob {
  /** created_at_unix and last_updated_at_unix as generated, before any corruption. */
  created: number;
  updated: number;
  id: string;
  item: Record<string, unknown>;
  invalid: boolean;
}

interface Agent {
  id: string;
  name: string;
}

interface Phone {
  id: string;
  provider: string;
}

const AGENT_NAMES = [
  'Priya — Collections',
  'Arjun — Renewals',
  'Meera — Appointment desk',
  'Kabir — Sales outreach',
  'Ananya — Customer feedback',
  'Rohan — Onboarding',
  'Sana — Support follow-up',
];

const CAMPAIGNS = [
  'Renewal reminders',
  'Payment follow-up',
  'Appointment confirmations',
  'Customer feedback survey',
  'Lead qualification',
  'Onboarding welcome calls',
  'EMI due reminders',
  'Webinar invitations',
  'Delivery confirmation',
  'Win-back offers',
];

const PROVIDERS = ['twilio', 'vobiz', 'sip_trunk'];

// Weighted tables are module constants: rebuilding them per job is measurable garbage at 1M jobs.
type Weighted<T> = readonly (readonly [T, number])[];
const OLD_JOB_STATUSES: Weighted<string> = [['completed', 85], ['failed', 10], ['cancelled', 5]];
const RECENT_JOB_STATUSES: Weighted<string> = [['pending', 25], ['in_progress', 35], ['completed', 30], ['failed', 5], ['cancelled', 5]];
const SIZE_MULTIPLIERS = [1, 5, 25, 100];
/** Seconds between creation and scheduled start: [min, max] and weight. */
const SCHEDULING_DELAYS: Weighted<readonly [number, number]> = [
  [[0, 600], 70],
  [[600, DAY], 25],
  [[DAY, 3 * DAY], 5],
];

/** Ways an item is made invalid on purpose; varied so clients see different validation failures. */
const CORRUPTIONS: ((o: Record<string, unknown>) => void)[] = [
  (o) => delete o.id,
  (o) => (o.id = ''),
  (o) => (o.created_at_unix = new Date(Number(o.created_at_unix) * 1000).toISOString()),
  (o) => (o.status = 3),
  (o) => (o.name = null),
  (o) => delete o.agent_id,
  (o) => (o.last_updated_at_unix = Number(o.last_updated_at_unix) + 0.5),
  (o) => (o.total_calls_scheduled = String(o.total_calls_scheduled ?? 0)),
  (o) => (o.whatsapp_params = { whatsapp_phone_number_id: null }),
  (o) => delete o.last_updated_at_unix,
];

export type InvalidKind = 'schema' | 'unstorable';

/** Items the spec allows but Postgres cannot hold: seen from real APIs as sentinels, unit mix-ups and runaway strings. */
const UNSTORABLE: ((o: Record<string, unknown>, rng: Rng) => void)[] = [
  (o) => (o.created_at_unix = 99_999_999_999_999),
  (o) => (o.last_updated_at_unix = -99_999_999_999_999),
  (o) => (o.scheduled_time_unix = Number(o.scheduled_time_unix) * 1_000_000),
  (o, rng) => (o.id = rng.alnum(10_000, 'bc_')),
  (o, rng) => (o.agent_id = rng.alnum(10_000, 'ag_')),
  (o, rng) => (o.status = rng.alnum(5_000, 'st_')),
];

class JobGenerator {
  private readonly agents: Agent[];
  private readonly phones: Phone[];
  /** "Campaign YYYY-MM-DD" strings are shared between jobs instead of rebuilt a million times. */
  private readonly names = new Map<number, string>();

  constructor(
    readonly rng: Rng,
    private readonly drift: DriftOptions,
  ) {
    this.agents = rng.sample(AGENT_NAMES, 5).map((name) => ({ id: rng.alnum(16, 'ag_'), name }));
    this.phones = Array.from({ length: 4 }, () => ({ id: rng.alnum(16, 'pn_'), provider: rng.pick(PROVIDERS) }));
  }

  /** `fresh` jobs were just created (pending); others get a status that fits their age. */
  job(created: number, now: number, opts: { fresh: boolean; forceInvalid: InvalidKind | null }): GeneratedJob {
    const rng = this.rng;
    const id = rng.alnum(20, 'bc_');
    const unknownEnum = rng.chance(this.drift.unknownEnumRate ?? 0) ? rng.pick(['status', 'provider'] as const) : null;
    const status = unknownEnum === 'status' ? 'paused' : this.status(created, now, opts.fresh);
    const scheduled = rng.int(1, 40) * rng.pick(SIZE_MULTIPLIERS);
    const counters = countersFor(rng, status, scheduled);
    const times = timesFor(rng, status, created, now);
    const phone = this.phone(unknownEnum === 'provider');
    const agent = rng.pick(this.agents);

    const full: Record<string, unknown> = {
      id,
      phone_number_id: phone.id,
      phone_provider: phone.provider,
      whatsapp_params: this.whatsApp(),
      name: this.name(created),
      agent_id: agent.id,
      created_at_unix: created,
      scheduled_time_unix: times.scheduled,
      total_calls_dispatched: counters.dispatched,
      total_calls_scheduled: counters.scheduled,
      total_calls_finished: counters.finished,
      last_updated_at_unix: times.updated,
      status,
      retry_count: retryCount(rng, status),
      agent_name: agent.name,
    };
    const item = this.omitDefaults(full);
    if (rng.chance(this.drift.unknownFieldRate ?? 0)) addUnknownField(rng, item);

    const invalid = opts.forceInvalid !== null || rng.chance(this.drift.invalidRate ?? 0);
    if (invalid) rng.pick(opts.forceInvalid === 'unstorable' ? UNSTORABLE : CORRUPTIONS)(item, rng);
    return { created, updated: times.updated, id, item, invalid };
  }

  private status(created: number, now: number, fresh: boolean): string {
    if (fresh) return 'pending';
    if (now - created > 2 * DAY) {
      return this.rng.weighted(OLD_JOB_STATUSES);
    }
    return this.rng.weighted(RECENT_JOB_STATUSES);
  }

  private phone(unknownProvider: boolean): { id: string | null; provider: string | null } {
    const rng = this.rng;
    if (unknownProvider) return { id: rng.alnum(16, 'pn_'), provider: 'plivo' };
    if (rng.chance(0.08)) return { id: null, provider: null };
    const phone = rng.pick(this.phones);
    return { id: phone.id, provider: rng.chance(0.03) ? null : phone.provider };
  }

  private whatsApp(): Record<string, unknown> | null {
    const rng = this.rng;
    if (!rng.chance(0.03)) return null;
    return {
      whatsapp_phone_number_id: rng.chance(0.5) ? rng.alnum(12, 'wa_') : null,
      whatsapp_call_permission_request_template_name: rng.pick(['call_permission_request', 'voice_consent_v2']),
      whatsapp_call_permission_request_template_language_code: rng.pick(['en', 'en_US', 'hi']),
    };
  }

  private name(created: number): string {
    const campaign = this.rng.int(0, CAMPAIGNS.length - 1);
    const day = Math.floor(created / DAY);
    const key = day * CAMPAIGNS.length + campaign;
    let name = this.names.get(key);
    if (name === undefined) {
      name = `${CAMPAIGNS[campaign]} ${new Date(day * DAY * 1000).toISOString().slice(0, 10)}`;
      this.names.set(key, name);
    }
    return name;
  }

  /**
   * The spec defaults counters to 0, so the API may leave zero counters out.
   * Rebuilt rather than `delete`d: delete turns the object into a slow,
   * larger dictionary-mode object, which adds up over a million jobs.
   */
  private omitDefaults(item: Record<string, unknown>): Record<string, unknown> {
    let omit: Set<string> | null = null;
    for (const field of OMITTABLE) {
      if (item[field] === 0 && this.rng.chance(0.1)) (omit ??= new Set()).add(field);
    }
    if (omit === null) return item;
    const kept = omit;
    return Object.fromEntries(Object.entries(item).filter(([field]) => !kept.has(field)));
  }
}

const OMITTABLE = ['total_calls_dispatched', 'total_calls_finished', 'retry_count'];

function countersFor(rng: Rng, status: string, scheduled: number): Counters {
  switch (status) {
    case 'pending':
      return { scheduled, dispatched: 0, finished: 0 };
    case 'completed':
      return { scheduled, dispatched: scheduled, finished: scheduled };
    case 'failed': {
      const dispatched = rng.int(0, scheduled);
      return { scheduled, dispatched, finished: dispatched };
    }
    case 'in_progress': {
      const dispatched = rng.int(1, scheduled);
      return { scheduled, dispatched, finished: rng.int(0, dispatched) };
    }
    default: {
      // cancelled, or an unknown status such as 'paused': anything consistent
      const dispatched = rng.int(0, scheduled);
      return { scheduled, dispatched, finished: rng.int(0, dispatched) };
    }
  }
}

function timesFor(rng: Rng, status: string, created: number, now: number): { scheduled: number; updated: number } {
  const delay = rng.weighted(SCHEDULING_DELAYS);
  const wanted = created + rng.int(delay[0], delay[1]);
  // Pending jobs may be scheduled in the future; anything that started did so by now.
  if (status === 'pending') return { scheduled: wanted, updated: created };
  const scheduled = Math.max(created, Math.min(wanted, now));
  if (FINAL.has(status)) {
    return { scheduled, updated: Math.max(scheduled, Math.min(now, scheduled + rng.int(120, 6 * 3600))) };
  }
  return { scheduled, updated: rng.int(scheduled, Math.max(scheduled, now)) };
}

function retryCount(rng: Rng, status: string): number {
  if (status === 'failed') return rng.int(0, 3);
  if (status === 'completed' && rng.chance(0.1)) return rng.int(1, 2);
  return 0;
}

function addUnknownField(rng: Rng, item: Record<string, unknown>): void {
  switch (rng.int(0, 2)) {
    case 0:
      item.priority = rng.pick(['high', 'normal', 'low']);
      break;
    case 1:
      item.labels = [rng.pick(['a', 'vip', 'q3-push'])];
      break;
    default:
      item.region = 'ap-south-1';
  }
}
