-- Seen ids of a reconciliation must survive a Postgres crash between attempts (an unlogged table is
-- emptied by crash recovery), and belong to their run: rows of runs that no longer exist go first.
DELETE FROM "reconcile_seen" s WHERE NOT EXISTS (SELECT 1 FROM "sync_runs" r WHERE r.id = s.run_id);--> statement-breakpoint
ALTER TABLE "reconcile_seen" SET LOGGED;--> statement-breakpoint
ALTER TABLE "reconcile_seen" ADD CONSTRAINT "reconcile_seen_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "owner" text;--> statement-breakpoint
ALTER TABLE "rejected_records" RENAME COLUMN "received_at" TO "first_seen_at";--> statement-breakpoint
ALTER TABLE "rejected_records" ADD COLUMN "item_key" text GENERATED ALWAYS AS (COALESCE(item_id, md5(raw))) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "rejected_records" ADD COLUMN "last_seen_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "rejected_records" ADD COLUMN "times_seen" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- One row per workspace, item and reason from now on: fold the rows earlier versions added on every run
-- into the oldest, keeping the latest run, page and raw text. Reasons are one line of at most 300 characters.
UPDATE "rejected_records" SET "reason" = left("reason", 300) WHERE length("reason") > 300;--> statement-breakpoint
WITH grouped AS (
  SELECT workspace, item_key, reason, min(id) AS keep, count(*)::int AS n, max(first_seen_at) AS last_seen,
         (array_agg(id ORDER BY id DESC))[1] AS latest
  FROM "rejected_records" GROUP BY workspace, item_key, reason HAVING count(*) > 1
), folded AS (
  UPDATE "rejected_records" r
  SET times_seen = g.n, last_seen_at = g.last_seen, run_id = l.run_id, page = l.page, raw = l.raw
  FROM grouped g JOIN "rejected_records" l ON l.id = g.latest
  WHERE r.id = g.keep
  RETURNING r.id
)
DELETE FROM "rejected_records" d USING grouped g
WHERE d.workspace = g.workspace AND d.item_key = g.item_key AND d.reason = g.reason AND d.id <> g.keep;--> statement-breakpoint
UPDATE "rejected_records" SET last_seen_at = first_seen_at WHERE times_seen = 1;--> statement-breakpoint
CREATE UNIQUE INDEX "rejected_records_item_reason_idx" ON "rejected_records" USING btree ("workspace","item_key","reason");--> statement-breakpoint
-- The status page's versions-per-day chart reads history by observed_at.
CREATE INDEX "batch_call_history_observed_brin" ON "batch_call_history" USING brin ("observed_at");
--> statement-breakpoint
-- Every page asks whether it lists a job marked deleted (to clear the mark): a probe into this small index.
CREATE INDEX "batch_calls_deleted_idx" ON "batch_calls" USING btree ("workspace","id") WHERE deleted_at IS NOT NULL;
