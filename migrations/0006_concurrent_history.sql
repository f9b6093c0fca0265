-- Concurrent writers of one job's history (a backfill while the worker runs, an operator's repair, a reconciliation's
-- marks): under READ COMMITTED each writer's triggers saw only committed rows, so two transactions inserting versions
-- of one job both found no other version and both left theirs current, and a restamp computed from a snapshot that
-- missed the other writer's version overwrote its stamps. Now every trigger takes a per-workspace transaction lock
-- before it looks at history, so of two overlapping writers the second waits until the first commits and then
-- decides and restamps from a fresh statement that sees the first one's rows.
--
-- Per workspace, not per job: a page of 500 new jobs would take 500 entries of the shared lock table until commit
-- (about 6,400 entries in all with default settings, shared by every session) and a bulk backfill far more. It
-- serialises nothing that runs today: a workspace's runs already hold its workspace lock, and two transactions
-- inserting history of one workspace already queue on its batch_call_history_daily row from the end of the trigger
-- to commit; the lock only moves that wait before the decision. Under REPEATABLE READ a writer's snapshot is older
-- than the lock, so such writers are still not covered; SERIALIZABLE ones get a serialization failure instead.
--
-- Class id 'hist' (two-int form): never meets the one-bigint workspace and migration locks, nor the budget's 'budg'.
-- Sorted by key, so two writers of several workspaces take them in the same order.
CREATE FUNCTION batch_call_history_lock(workspaces text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock(1751741300, k.key)
  FROM (SELECT DISTINCT pg_catalog.hashtext(w) AS key FROM pg_catalog.unnest(workspaces) AS w) k
  ORDER BY k.key;
END
$$;--> statement-breakpoint
-- As in 0005, after taking the lock: the EXECUTE below is a statement of its own, so under READ COMMITTED it reads
-- what every writer that held the lock before committed. Every trigger restamps through here.
CREATE OR REPLACE FUNCTION batch_call_history_restamp(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM public.batch_call_history_lock(workspaces);
  EXECUTE $q$
    UPDATE public.batch_call_history h
    SET valid_to = x.valid_to, previous_status = x.previous_status
    FROM (
      SELECT v.workspace, v.id, v.last_updated_at_unix, v.valid_to AS stored_to, v.previous_status AS stored_previous,
             COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS valid_to,
             lag(v.status) OVER w AS previous_status
      FROM (SELECT DISTINCT k.workspace, k.id FROM unnest($1::text[], $2::text[]) AS k(workspace, id)) k
      JOIN public.batch_call_history v ON v.workspace = k.workspace AND v.id = k.id
      LEFT JOIN public.batch_calls c ON c.workspace = k.workspace AND c.id = k.id
      WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
    ) x
    WHERE h.workspace = x.workspace AND h.id = x.id AND h.last_updated_at_unix = x.last_updated_at_unix
      AND (x.valid_to IS DISTINCT FROM x.stored_to OR x.previous_status IS DISTINCT FROM x.stored_previous)
  $q$ USING workspaces, ids;
END
$$;--> statement-breakpoint
-- As in 0005, but the lock comes before the decision and is taken even when nothing is restamped: a writer that
-- found its job alone must keep the next writer waiting until its version is visible.
CREATE OR REPLACE FUNCTION batch_call_history_touched() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  workspaces text[];
  ids text[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM touched) THEN
    RETURN NULL;
  END IF;
  PERFORM public.batch_call_history_lock((SELECT array_agg(DISTINCT t.workspace) FROM touched t));
  IF TG_OP = 'DELETE' THEN
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids FROM (SELECT DISTINCT workspace, id FROM touched) t;
  ELSE
    -- Two versions of one job inserted together each see the other; restamp de-duplicates the pairs.
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids
    FROM touched t
    WHERE (SELECT 1 FROM public.batch_call_history o
           WHERE o.workspace = t.workspace AND o.id = t.id AND o.last_updated_at_unix <> t.last_updated_at_unix LIMIT 1) IS NOT NULL
       OR (SELECT c.deleted_at FROM public.batch_calls c WHERE c.workspace = t.workspace AND c.id = t.id) IS NOT NULL;
  END IF;
  IF workspaces IS NOT NULL THEN
    PERFORM public.batch_call_history_restamp(workspaces, ids);
  END IF;
  INSERT INTO public.batch_call_history_daily AS d (workspace, day, versions)
  SELECT t.workspace, (t.observed_at AT TIME ZONE 'UTC')::date, CASE WHEN TG_OP = 'DELETE' THEN -count(*) ELSE count(*) END
  FROM touched t GROUP BY 1, 2
  ON CONFLICT (workspace, day) DO UPDATE SET versions = d.versions + excluded.versions;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Versions the race already stamped wrong (two current versions of one job, a stale predecessor status or end), in
-- one pass that writes only the rows that differ. Writers wait for it (they would run the old triggers until this
-- migration commits); readers do not.
LOCK TABLE "batch_call_history", "batch_calls" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
UPDATE "batch_call_history" h
SET valid_to = x.valid_to, previous_status = x.previous_status
FROM (
  SELECT v.workspace, v.id, v.last_updated_at_unix, v.valid_to AS stored_to, v.previous_status AS stored_previous,
         COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS valid_to,
         lag(v.status) OVER w AS previous_status
  FROM "batch_call_history" v
  LEFT JOIN "batch_calls" c ON c.workspace = v.workspace AND c.id = v.id
  WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
) x
WHERE h.workspace = x.workspace AND h.id = x.id AND h.last_updated_at_unix = x.last_updated_at_unix
  AND (x.valid_to IS DISTINCT FROM x.stored_to OR x.previous_status IS DISTINCT FROM x.stored_previous);
