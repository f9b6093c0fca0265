import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseJobData, runDeduplicationId } from '../../src/jobs/job-data.ts';

describe('parseJobData', () => {
  it('accepts what the schedules and `sync --enqueue` put in the queue, in the run vocabulary', () => {
    for (const kind of ['full', 'incremental', 'reconcile'] as const) {
      expect(parseJobData('run', { workspace: 'acme', kind, trigger: 'manual' })).toEqual({ workspace: 'acme', kind, trigger: 'manual' });
    }
  });

  it('reads jobs queued by an earlier version (kind "sync", optional full) as the run they asked for', () => {
    expect(parseJobData('tick', { workspace: 'acme', kind: 'sync', trigger: 'schedule' })).toEqual({ workspace: 'acme', kind: 'incremental', trigger: 'schedule' });
    expect(parseJobData('run', { workspace: 'acme', kind: 'sync', trigger: 'manual', full: true }).kind).toBe('full');
    expect(parseJobData('run', { workspace: 'acme', kind: 'sync', trigger: 'manual', full: false }).kind).toBe('incremental');
  });

  it('keeps full and incremental walks of a workspace in one deduplication lane, apart from reconciliations', () => {
    expect(runDeduplicationId({ workspace: 'acme', kind: 'full' })).toBe(runDeduplicationId({ workspace: 'acme', kind: 'incremental' }));
    expect(runDeduplicationId({ workspace: 'acme', kind: 'full' })).toBe('run:sync:acme');
    expect(runDeduplicationId({ workspace: 'acme', kind: 'reconcile' })).toBe('run:reconcile:acme');
  });

  it('fails a job for good, in one line, when its data is not what this version runs', () => {
    const bad = () => parseJobData('run', { workspace: 'acme', kind: 'nightly', trigger: 'manual', apiKey: 'sk_live_x' });
    expect(bad).toThrow(UnrecoverableError);
    expect(bad).toThrow(/^job "run" carries data this version cannot run \(kind: .*; data: Unrecognized key: "apiKey"\)$/);
    expect(() => parseJobData('sweep', {})).toThrow('unknown job name "sweep"');
  });
});
