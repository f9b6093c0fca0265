/** 2026-11-02 (a Monday) 08:00 UTC, in unix seconds: the start of the fixed histories the BI tests write. */
export const T0 = 1_793_606_400;

/** A valid batch call as the API sends it: pending, agent 1, created at T0, no calls yet; `fields` override. */
export function batchCall(id: string, ts: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    name: `job ${id}`,
    agent_id: 'ag_1',
    agent_name: 'Priya',
    created_at_unix: T0,
    scheduled_time_unix: T0,
    last_updated_at_unix: ts,
    status: 'pending',
    total_calls_scheduled: 0,
    total_calls_dispatched: 0,
    total_calls_finished: 0,
    ...fields,
  };
}
