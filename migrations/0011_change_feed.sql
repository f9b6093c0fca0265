CREATE TABLE "change_feed" (
	"id" bigserial NOT NULL,
	"xid" "xid8" DEFAULT pg_current_xact_id() NOT NULL,
	"kind" text NOT NULL,
	"workspace" text NOT NULL,
	"job_id" text NOT NULL,
	"version" bigint NOT NULL,
	"status" text NOT NULL,
	"previous_status" text,
	"observed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" bigint,
	CONSTRAINT "change_feed_xid_id_pk" PRIMARY KEY("xid","id")
);
--> statement-breakpoint
CREATE TABLE "feed_consumers" (
	"name" text PRIMARY KEY NOT NULL,
	"position_xid" "xid8" NOT NULL,
	"position_id" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
-- The change feed's triggers: every event is written by the transaction that makes the change, whoever writes
-- (the sync, a reconciliation, an operator's backfill), so there is no event without its change and no change
-- without its event. Each writing transaction also NOTIFYs threetone_changes once (Postgres folds identical
-- notifications of one transaction), delivered at commit, which wakes `threetone-sync changes --follow`.
--
-- New versions: statement-level over the inserted rows (one call per page, however many rows). A page the sync
-- found unchanged inserts nothing: the trigger writes no row and sends nothing. Per row, one probe of history's
-- primary key for any other version of the job: a job's first version (a first load) stops there. Otherwise a
-- probe for the previous version (the next lower one, which may be in the same statement), and, when there is
-- none, one for a higher version stored before this statement (a late older version is `updated`, not a second
-- `created`). Scalar subqueries, so the cached plan stays index probes whatever the statement's size.
CREATE FUNCTION change_feed_versions_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  written bigint;
BEGIN
  INSERT INTO public.change_feed (kind, workspace, job_id, version, status, previous_status, observed_at, run_id)
  SELECT CASE
           WHEN s.other IS NULL THEN 'created'
           WHEN s.previous_status IS NOT NULL THEN 'updated'
           WHEN (SELECT 1 FROM public.batch_call_history o
                 WHERE o.workspace = s.workspace AND o.id = s.id AND o.last_updated_at_unix > s.last_updated_at_unix
                   AND NOT EXISTS (SELECT 1 FROM inserted n
                                   WHERE n.workspace = o.workspace AND n.id = o.id AND n.last_updated_at_unix = o.last_updated_at_unix)
                 LIMIT 1) IS NOT NULL THEN 'updated'
           ELSE 'created'
         END,
         s.workspace, s.id, s.last_updated_at_unix, s.status, s.previous_status, s.observed_at, s.run_id
  FROM (
    SELECT o.*,
           CASE WHEN o.other IS NOT NULL THEN
             (SELECT p.status FROM public.batch_call_history p
               WHERE p.workspace = o.workspace AND p.id = o.id AND p.last_updated_at_unix < o.last_updated_at_unix
               ORDER BY p.last_updated_at_unix DESC LIMIT 1)
           END AS previous_status
    FROM (
      -- Any other version of the job: none for a first load's rows, which then cost this one probe.
      SELECT t.workspace, t.id, t.last_updated_at_unix, t.status, t.observed_at, t.run_id,
             (SELECT 1 FROM public.batch_call_history x
               WHERE x.workspace = t.workspace AND x.id = t.id AND x.last_updated_at_unix <> t.last_updated_at_unix LIMIT 1) AS other
      FROM inserted t
      OFFSET 0
    ) o
    OFFSET 0 -- not pulled up: other and previous_status are read twice above and must be probed once
  ) s;
  GET DIAGNOSTICS written = ROW_COUNT;
  IF written > 0 THEN
    PERFORM pg_notify('threetone_changes', '');
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER change_feed_versions_inserted AFTER INSERT ON batch_call_history
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION change_feed_versions_inserted();--> statement-breakpoint
-- The run in progress of a workspace (the workspace lock lets one run at a time): who amended, deleted or
-- undeleted, since those statements carry no run. Null for a change made outside a run.
CREATE FUNCTION change_feed_running_run(ws text) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, public
AS $$
  SELECT r.id FROM public.sync_runs r WHERE r.workspace = ws AND r.status = 'running' ORDER BY r.id DESC LIMIT 1
$$;--> statement-breakpoint
-- Amendments and delete marks are rare, so these are row-level with a column list and a WHEN: a transition table
-- cannot take a column list, and would copy every row of every update (the restamps of 0005, retention's
-- detaching, each page's update of batch_calls) to find the few that matter. Here a row that does not match the
-- WHEN costs one comparison, and an UPDATE that does not name the column costs nothing.
CREATE FUNCTION change_feed_version_amended() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO public.change_feed (kind, workspace, job_id, version, status, previous_status, observed_at, run_id)
  VALUES ('amended', NEW.workspace, NEW.id, NEW.last_updated_at_unix, NEW.status, OLD.status,
          COALESCE(NEW.amended_at, now()), public.change_feed_running_run(NEW.workspace));
  PERFORM pg_notify('threetone_changes', '');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER change_feed_version_amended AFTER UPDATE OF raw ON batch_call_history
FOR EACH ROW WHEN (OLD.raw IS DISTINCT FROM NEW.raw) EXECUTE FUNCTION change_feed_version_amended();--> statement-breakpoint
-- deleted: a reconciliation (or an operator) set deleted_at; undeleted: it was cleared. The status did not change:
-- previous_status repeats it.
CREATE FUNCTION change_feed_job_marked() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO public.change_feed (kind, workspace, job_id, version, status, previous_status, observed_at, run_id)
  VALUES (CASE WHEN NEW.deleted_at IS NULL THEN 'undeleted' ELSE 'deleted' END, NEW.workspace, NEW.id,
          NEW.last_updated_at_unix, NEW.status, NEW.status, now(), public.change_feed_running_run(NEW.workspace));
  PERFORM pg_notify('threetone_changes', '');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER change_feed_job_marked AFTER UPDATE OF deleted_at ON batch_calls
FOR EACH ROW WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)) EXECUTE FUNCTION change_feed_job_marked();--> statement-breakpoint
-- A consumer's start (`changes --since`, threetone_consumer_create): 'beginning'; 'now' (what commits from now
-- on: the snapshot's xmin, so a transaction still running is included); 'XID:ID' (a position printed by
-- `changes`); or a timestamp, or an interval meaning that long ago: from the first entry, in feed order,
-- observed at or after it (at least once: later entries observed before it come too). A time not in the past, or
-- after every entry, is 'now'. Finding a time walks the feed from its start: once, when the consumer is created.
CREATE FUNCTION threetone_feed_position(since text, OUT position_xid xid8, OUT position_id bigint)
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, public
AS $$
DECLARE
  at timestamptz;
  parts text[];
BEGIN
  IF since = 'beginning' THEN
    position_xid := '0'::xid8; position_id := 0; RETURN;
  END IF;
  parts := regexp_match(since, '^([0-9]{1,20}):([0-9]{1,19})$');
  IF parts IS NOT NULL THEN
    position_xid := parts[1]::xid8; position_id := parts[2]::bigint; RETURN;
  END IF;
  IF since <> 'now' THEN
    BEGIN
      at := since::timestamptz;
    EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_parameter_value OR data_exception THEN
      BEGIN
        at := now() - since::interval;
      EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow OR interval_field_overflow OR data_exception THEN
        RAISE EXCEPTION 'since must be beginning, now, XID:ID, a timestamp or an interval, not "%"', since
          USING ERRCODE = 'invalid_parameter_value';
      END;
    END;
    IF at < now() THEN
      SELECT f.xid, f.id - 1 INTO position_xid, position_id FROM public.change_feed f
      WHERE f.observed_at >= at ORDER BY f.xid, f.id LIMIT 1;
      IF FOUND THEN RETURN; END IF;
    END IF;
  END IF;
  position_xid := pg_snapshot_xmin(pg_current_snapshot()); position_id := 0;
END
$$;--> statement-breakpoint
-- Creates the consumer at `since` unless it exists; returns its position as 'XID:ID'.
CREATE FUNCTION threetone_consumer_create(consumer text, since text DEFAULT 'beginning') RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
DECLARE
  p record;
BEGIN
  SELECT c.position_xid, c.position_id INTO p FROM public.feed_consumers c WHERE c.name = consumer;
  IF NOT FOUND THEN
    SELECT * INTO p FROM public.threetone_feed_position(since);
    INSERT INTO public.feed_consumers (name, position_xid, position_id) VALUES (consumer, p.position_xid, p.position_id)
    ON CONFLICT (name) DO NOTHING;
    SELECT c.position_xid, c.position_id INTO p FROM public.feed_consumers c WHERE c.name = consumer;
  END IF;
  RETURN p.position_xid::text || ':' || p.position_id::text;
END
$$;--> statement-breakpoint
-- The next entries after the consumer's position, in feed order, up to `max`; only entries of transactions below
-- the snapshot's xmin, all finished: none can commit later behind them. Reads only: acknowledge with
-- threetone_changes_ack once they are processed (at least once).
CREATE FUNCTION threetone_changes(consumer text, max integer DEFAULT 1000)
RETURNS TABLE (id bigint, xid xid8, kind text, workspace text, job_id text, version bigint, status text,
               previous_status text, observed_at timestamptz, run_id bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
#variable_conflict use_column
DECLARE
  p record;
BEGIN
  SELECT c.position_xid, c.position_id INTO p FROM public.feed_consumers c WHERE c.name = consumer;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no feed consumer named "%"', consumer
      USING ERRCODE = 'no_data_found', HINT = 'create it with SELECT threetone_consumer_create(''' || consumer || ''', ''beginning'')';
  END IF;
  RETURN QUERY
    SELECT f.id, f.xid, f.kind, f.workspace, f.job_id, f.version, f.status, f.previous_status, f.observed_at, f.run_id
    FROM public.change_feed f
    WHERE (f.xid, f.id) > (p.position_xid, p.position_id) AND f.xid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY f.xid, f.id
    LIMIT max;
END
$$;--> statement-breakpoint
-- Moves the consumer's position to (xid, id), the last entry it processed; never backwards, and never past what
-- a reader can have been given (the current xmin), since entries could still commit behind such a position.
CREATE FUNCTION threetone_changes_ack(consumer text, xid xid8, id bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
DECLARE
  p record;
BEGIN
  IF xid >= pg_snapshot_xmin(pg_current_snapshot()) THEN
    RAISE EXCEPTION 'position %:% is past what threetone_changes returns', xid, id USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE public.feed_consumers c SET position_xid = xid, position_id = id, updated_at = now()
  WHERE c.name = consumer AND (c.position_xid, c.position_id) < (xid, id);
  SELECT c.position_xid, c.position_id INTO p FROM public.feed_consumers c WHERE c.name = consumer;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no feed consumer named "%"', consumer USING ERRCODE = 'no_data_found';
  END IF;
  RETURN p.position_xid::text || ':' || p.position_id::text;
END
$$;--> statement-breakpoint
-- SECURITY DEFINER: callable only by the roles granted it (sql/bi-reader-role.sql grants threetone_reader).
REVOKE EXECUTE ON FUNCTION threetone_consumer_create(text, text), threetone_changes(text, integer), threetone_changes_ack(text, xid8, bigint) FROM PUBLIC;
