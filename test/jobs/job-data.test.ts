import { UnrecoverableError } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { parseJobData, runKindOf } from '../../src/jobs/job-data.ts';

describe('parseJobData', () => {
  it('accepts what the schedules and `sync --enqueue` put in the queue', () => {
    expect(parseJobData('tick', { workspace: 'acme', kind: 'sync', trigger: 'schedule' })).toEqual({ workspace: 'acme', kind: 'sync', trigger: 'schedule' });
    const full = parseJobData('run', { workspace: 'acme', kind: 'sync', trigger: 'manual', full: true });
    expect(runKindOf(full)).toBe('sync');
    expect(runKindOf(parseJobData('run', { workspace: 'acme', kind: 'reconcile', trigger: 'schedule' }))).toBe('reconcile');
  });

  it('fails a job for good, in one line, when its data is not what this version runs', () => {
    const bad = () => parseJobData('run', { workspace: 'acme', kind: 'nightly', trigger: 'manual', apiKey: 'sk_live_x' });
    expect(bad).toThrow(UnrecoverableError);
    expect(bad).toThrow(/^job "run" carries data this version cannot run \(kind: .*; data: Unrecognized key: "apiKey"\)$/);
    expect(() => parseJobData('sweep', {})).toThrow('unknown job name "sweep"');
  });
});
