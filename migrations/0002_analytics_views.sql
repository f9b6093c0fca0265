-- Analytics over the history: validity intervals, an as-of function and BI views.
-- Names are meant to be read by an analyst who has not seen the code; every timestamp is timestamptz,
-- and day/month buckets are UTC.

-- Every version with the interval during which it was the job's current state:
-- from its own last_updated_at until the next version's (or, for a job the API no longer lists, until
-- reconciliation marked it deleted). A view rather than columns kept up to date on write: writes stay a
-- single insert per new version, and a version that arrives late (a lagging replica) cannot leave a
-- stored interval wrong.
CREATE VIEW batch_call_versions AS
SELECT
  h.*,
  h.last_updated_at AS valid_from,
  COALESCE(lead(h.last_updated_at) OVER w, c.deleted_at) AS valid_to
FROM batch_call_history h
LEFT JOIN batch_calls c ON c.workspace = h.workspace AND c.id = h.id
WINDOW w AS (PARTITION BY h.workspace, h.id ORDER BY h.last_updated_at_unix);
--> statement-breakpoint
COMMENT ON VIEW batch_call_versions IS 'Every observed version of every batch call with valid_from/valid_to: the state at time T is WHERE valid_from <= T AND (valid_to IS NULL OR valid_to > T).';
--> statement-breakpoint
-- What every batch call looked like at `ts`: one row per job that existed (had a version) and was not yet deleted.
CREATE FUNCTION batch_calls_as_of(ts timestamptz)
RETURNS SETOF batch_call_versions
LANGUAGE sql STABLE
AS $$
  SELECT * FROM batch_call_versions WHERE valid_from <= ts AND (valid_to IS NULL OR valid_to > ts)
$$;
--> statement-breakpoint
CREATE VIEW bi_current_batch_calls AS
SELECT
  workspace, id, name, status, agent_id, agent_name, phone_provider, phone_number_id,
  total_calls_scheduled AS calls_scheduled,
  total_calls_dispatched AS calls_dispatched,
  total_calls_finished AS calls_finished,
  retry_count,
  created_at, scheduled_time, last_updated_at, first_seen_at
FROM batch_calls
WHERE deleted_at IS NULL;
--> statement-breakpoint
-- Jobs created per UTC day, by their current status.
CREATE VIEW bi_daily_status_counts AS
SELECT workspace, (created_at AT TIME ZONE 'UTC')::date AS day, status, count(*)::int AS jobs
FROM batch_calls
WHERE deleted_at IS NULL
GROUP BY workspace, day, status;
--> statement-breakpoint
CREATE VIEW bi_agent_performance AS
SELECT
  workspace, agent_id, max(agent_name) AS agent_name,
  count(*)::int AS jobs,
  sum(total_calls_scheduled)::bigint AS calls_scheduled,
  sum(total_calls_dispatched)::bigint AS calls_dispatched,
  sum(total_calls_finished)::bigint AS calls_finished,
  round(sum(total_calls_finished)::numeric / NULLIF(sum(total_calls_scheduled), 0), 4) AS finish_rate
FROM batch_calls
WHERE deleted_at IS NULL
GROUP BY workspace, agent_id;
--> statement-breakpoint
-- The same per agent and UTC month in which the jobs were created.
CREATE VIEW bi_agent_performance_monthly AS
SELECT
  workspace, agent_id, max(agent_name) AS agent_name,
  date_trunc('month', created_at AT TIME ZONE 'UTC')::date AS month,
  count(*)::int AS jobs,
  sum(total_calls_scheduled)::bigint AS calls_scheduled,
  sum(total_calls_dispatched)::bigint AS calls_dispatched,
  sum(total_calls_finished)::bigint AS calls_finished,
  round(sum(total_calls_finished)::numeric / NULLIF(sum(total_calls_scheduled), 0), 4) AS finish_rate
FROM batch_calls
WHERE deleted_at IS NULL
GROUP BY workspace, agent_id, month;
--> statement-breakpoint
-- From creation to the first observed final status (completed, failed or cancelled).
CREATE VIEW bi_time_to_completion AS
SELECT
  c.workspace, c.id, c.name, c.agent_id, c.agent_name, c.created_at,
  f.final_status, f.final_at,
  f.final_at - c.created_at AS time_to_final,
  round(extract(epoch FROM f.final_at - c.created_at) / 3600, 2) AS hours_to_final
FROM batch_calls c
JOIN LATERAL (
  SELECT h.status AS final_status, h.last_updated_at AS final_at
  FROM batch_call_history h
  WHERE h.workspace = c.workspace AND h.id = c.id AND h.status IN ('completed', 'failed', 'cancelled')
  ORDER BY h.last_updated_at_unix
  LIMIT 1
) f ON true;
--> statement-breakpoint
-- Observed status changes between consecutive versions of a job.
CREATE VIEW bi_status_transitions AS
SELECT workspace, from_status, to_status, count(*)::int AS transitions
FROM (
  SELECT workspace, status AS to_status,
         lag(status) OVER (PARTITION BY workspace, id ORDER BY last_updated_at_unix) AS from_status
  FROM batch_call_history
) t
WHERE from_status IS NOT NULL AND from_status <> to_status
GROUP BY workspace, from_status, to_status;
--> statement-breakpoint
-- Jobs the API no longer lists (set by reconciliation; cleared if they come back).
CREATE VIEW bi_deleted_batch_calls AS
SELECT workspace, id, name, status, agent_name, created_at, last_updated_at, deleted_at
FROM batch_calls
WHERE deleted_at IS NOT NULL;
--> statement-breakpoint
-- Last successful run per workspace and its age: "the copy is older than X" is one WHERE.
CREATE VIEW bi_sync_freshness AS
SELECT
  workspace,
  max(finished_at) FILTER (WHERE status = 'succeeded') AS last_success_at,
  now() - max(finished_at) FILTER (WHERE status = 'succeeded') AS age,
  extract(epoch FROM now() - max(finished_at) FILTER (WHERE status = 'succeeded'))::bigint AS age_seconds,
  (array_agg(status ORDER BY started_at DESC, id DESC))[1] AS last_run_status,
  max(started_at) AS last_run_started_at
FROM sync_runs
GROUP BY workspace;
