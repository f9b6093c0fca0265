import { describe, expect, it } from 'vitest';
import { ALWAYS_ALLOWED_DELETES, refuseDeletes, refuseUntrustedWalk } from '../../src/jobs/delete-guard.ts';

const guard = { maxRatio: 0.25, allowMassDelete: false };

describe('refuseDeletes', () => {
  it('lets through deletes up to the ratio', () => {
    expect(refuseDeletes({ apiCount: 750, live: 1000, wouldDelete: 250 }, guard)).toBeUndefined();
  });

  it('refuses more than the ratio, naming the counts, the limit and how to confirm', () => {
    expect(refuseDeletes({ apiCount: 749, live: 1000, wouldDelete: 251 }, guard)).toBe(
      'reconciliation refused: it would mark 251 of 1000 live jobs deleted (25%, limit 25% from RECONCILE_MAX_DELETE_RATIO), so it marked nothing; run "threetone-sync reconcile --allow-mass-delete" to confirm',
    );
  });

  it(`always lets ${ALWAYS_ALLOWED_DELETES} deletes through, however small the workspace`, () => {
    expect(refuseDeletes({ apiCount: 2, live: 12, wouldDelete: ALWAYS_ALLOWED_DELETES }, guard)).toBeUndefined();
    expect(refuseDeletes({ apiCount: 2, live: 13, wouldDelete: ALWAYS_ALLOWED_DELETES + 1 }, guard)).toMatch(/^reconciliation refused/);
  });

  it('refuses an empty listing whenever something is live', () => {
    expect(refuseDeletes({ apiCount: 0, live: 3, wouldDelete: 3 }, guard)).toMatch(/^reconciliation refused: the API listed no jobs but 3 are live here/);
    expect(refuseDeletes({ apiCount: 0, live: 0, wouldDelete: 0 }, guard)).toBeUndefined();
  });

  it('lets an operator confirm', () => {
    expect(refuseDeletes({ apiCount: 0, live: 1000, wouldDelete: 1000 }, { ...guard, allowMassDelete: true })).toBeUndefined();
  });

  it('treats a ratio of 1 as no limit but still guards an empty listing', () => {
    expect(refuseDeletes({ apiCount: 1, live: 1000, wouldDelete: 999 }, { ...guard, maxRatio: 1 })).toBeUndefined();
    expect(refuseDeletes({ apiCount: 0, live: 1000, wouldDelete: 1000 }, { ...guard, maxRatio: 1 })).toMatch(/listed no jobs/);
  });
});

describe('refuseUntrustedWalk', () => {
  const counts = { apiCount: 90, live: 100, wouldDelete: 10 };
  it('lets a walk in a recognised order whose head settled through', () => {
    expect(refuseUntrustedWalk(counts, { order: 'created', headSettled: true })).toBeUndefined();
    expect(refuseUntrustedWalk(counts, { order: 'updated', headSettled: true })).toBeUndefined();
  });

  it('refuses the misses of a walk in an order it did not recognise, and of one whose head never settled', () => {
    expect(refuseUntrustedWalk(counts, { order: 'unknown', orderEvidence: 'page 2: …', headSettled: true })).toBe(
      'reconciliation refused: the API listed jobs in neither creation nor last-update order (page 2: …), so 10 jobs it did not list may only have moved; it marked nothing',
    );
    expect(refuseUntrustedWalk(counts, { order: 'updated', headSettled: false })).toMatch(/^reconciliation refused: jobs kept moving to the head of the list through 4 re-reads/);
  });

  it('has nothing to refuse when nothing would be marked', () => {
    expect(refuseUntrustedWalk({ ...counts, wouldDelete: 0 }, { order: 'unknown', headSettled: false })).toBeUndefined();
  });
});
