-- The request budget's tables, for workers whose queue lives in Postgres (src/budget/postgres-store.ts). Each worker
-- used to create them at start in QUEUE_SCHEMA: every worker needed CREATE on the database for it, so a role that may
-- change no schema (sql/worker-runtime-role.sql) could not start one. A migration owns them now, in a fixed schema of
-- their own: the budget is one per database whatever QUEUE_SCHEMA says, and neither BI (public) nor BullMQ sees it.
--
-- The old tables stay in QUEUE_SCHEMA (threetone_queue by default), unread; a worker of an earlier release still
-- running during a rolling upgrade keeps using them, so they are not dropped here (nor could they be: QUEUE_SCHEMA is
-- each worker's setting). Drop them by hand once no earlier release runs. The new log starts empty, as the Redis
-- budget's did when its keys moved: for up to an hour after the upgrade it may admit requests the old log would
-- have refused, and the API's 429 or rate-limit headers then block the key (docs/budget.md).
--
-- IF NOT EXISTS: a deployment whose QUEUE_SCHEMA was threetone_budget already has these tables, of this shape.
CREATE SCHEMA IF NOT EXISTS "threetone_budget";
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "threetone_budget"."request_budget_block" (
	"key" text PRIMARY KEY NOT NULL,
	"until_ms" bigint NOT NULL,
	"reason" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE IF NOT EXISTS "threetone_budget"."request_budget_log" (
	"key" text NOT NULL,
	"at_ms" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS "request_budget_log_key_at" ON "threetone_budget"."request_budget_log" USING btree ("key","at_ms");
