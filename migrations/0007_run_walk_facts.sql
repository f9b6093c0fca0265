ALTER TABLE "sync_runs" ADD COLUMN "list_order" text;--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "walk_restarts" integer DEFAULT 0 NOT NULL;