CREATE TABLE "reconcile_seen" (
	"run_id" bigint NOT NULL,
	"id" text NOT NULL,
	CONSTRAINT "reconcile_seen_run_id_id_pk" PRIMARY KEY("run_id","id")
);
--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "deleted" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "undeleted" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "api_count" integer;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "stored_count" integer;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "stop_reason" text;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "attempts" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Scratch space of a running reconciliation: no WAL needed (see schema.ts).
ALTER TABLE "reconcile_seen" SET UNLOGGED;
