import { writeFileSync } from 'node:fs';

export interface ChaosEvent {
  /** Milliseconds since the run started. */
  t: number;
  at: string;
  type: string;
  [detail: string]: unknown;
}

/**
 * Every event of a run, in order, written out whole after each round and at
 * the end, so a run that dies halfway still leaves what it saw.
 */
export class ChaosRecord {
  readonly events: ChaosEvent[] = [];
  readonly startedAt = Date.now();
  summary: Record<string, unknown> = {};

  constructor(
    readonly file: string,
    private readonly header: Record<string, unknown>,
  ) {}

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** `since`: Date.now() when what it records began (a fault is recorded once done, but placed where it started). */
  add(type: string, detail: Record<string, unknown> = {}, since = Date.now()): ChaosEvent {
    const event: ChaosEvent = { t: since - this.startedAt, at: new Date(since).toISOString(), type, ...detail };
    this.events.push(event);
    return event;
  }

  save(): void {
    const events = [...this.events].sort((a, b) => a.t - b.t);
    const body = { ...this.header, startedAt: new Date(this.startedAt).toISOString(), summary: this.summary, events };
    writeFileSync(this.file, `${JSON.stringify(body, null, 1)}\n`);
  }
}
