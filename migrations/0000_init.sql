CREATE TABLE "batch_call_history" (
	"workspace" text NOT NULL,
	"id" text NOT NULL,
	"phone_number_id" text,
	"phone_provider" text,
	"whatsapp_params" jsonb,
	"name" text NOT NULL,
	"agent_id" text NOT NULL,
	"created_at_unix" bigint NOT NULL,
	"scheduled_time_unix" bigint NOT NULL,
	"total_calls_dispatched" bigint DEFAULT 0 NOT NULL,
	"total_calls_scheduled" bigint DEFAULT 0 NOT NULL,
	"total_calls_finished" bigint DEFAULT 0 NOT NULL,
	"last_updated_at_unix" bigint NOT NULL,
	"status" text NOT NULL,
	"retry_count" bigint DEFAULT 0 NOT NULL,
	"agent_name" text NOT NULL,
	"created_at" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(created_at_unix)) STORED,
	"scheduled_time" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(scheduled_time_unix)) STORED,
	"last_updated_at" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(last_updated_at_unix)) STORED,
	"raw" jsonb NOT NULL,
	"observed_at" timestamp with time zone DEFAULT now() NOT NULL,
	"run_id" bigint,
	"amended_at" timestamp with time zone,
	CONSTRAINT "batch_call_history_workspace_id_last_updated_at_unix_pk" PRIMARY KEY("workspace","id","last_updated_at_unix")
);
--> statement-breakpoint
CREATE TABLE "batch_calls" (
	"workspace" text NOT NULL,
	"id" text NOT NULL,
	"phone_number_id" text,
	"phone_provider" text,
	"whatsapp_params" jsonb,
	"name" text NOT NULL,
	"agent_id" text NOT NULL,
	"created_at_unix" bigint NOT NULL,
	"scheduled_time_unix" bigint NOT NULL,
	"total_calls_dispatched" bigint DEFAULT 0 NOT NULL,
	"total_calls_scheduled" bigint DEFAULT 0 NOT NULL,
	"total_calls_finished" bigint DEFAULT 0 NOT NULL,
	"last_updated_at_unix" bigint NOT NULL,
	"status" text NOT NULL,
	"retry_count" bigint DEFAULT 0 NOT NULL,
	"agent_name" text NOT NULL,
	"created_at" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(created_at_unix)) STORED,
	"scheduled_time" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(scheduled_time_unix)) STORED,
	"last_updated_at" timestamp with time zone GENERATED ALWAYS AS (to_timestamp(last_updated_at_unix)) STORED,
	"raw" jsonb NOT NULL,
	"first_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
	"deleted_at" timestamp with time zone,
	CONSTRAINT "batch_calls_workspace_id_pk" PRIMARY KEY("workspace","id")
);
--> statement-breakpoint
CREATE TABLE "rejected_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" bigint NOT NULL,
	"workspace" text NOT NULL,
	"page" integer NOT NULL,
	"item_id" text,
	"reason" text NOT NULL,
	"raw" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sync_runs" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace" text NOT NULL,
	"kind" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"pages" integer DEFAULT 0 NOT NULL,
	"items_seen" integer DEFAULT 0 NOT NULL,
	"rows_inserted" integer DEFAULT 0 NOT NULL,
	"rows_updated" integer DEFAULT 0 NOT NULL,
	"versions_added" integer DEFAULT 0 NOT NULL,
	"versions_amended" integer DEFAULT 0 NOT NULL,
	"rejected" integer DEFAULT 0 NOT NULL,
	"requests" integer DEFAULT 0 NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"next_cursor" text,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "batch_call_history" ADD CONSTRAINT "batch_call_history_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rejected_records" ADD CONSTRAINT "rejected_records_run_id_sync_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."sync_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "batch_calls_workspace_status_idx" ON "batch_calls" USING btree ("workspace","status");--> statement-breakpoint
CREATE INDEX "batch_calls_workspace_created_idx" ON "batch_calls" USING btree ("workspace","created_at_unix");--> statement-breakpoint
CREATE INDEX "rejected_records_run_idx" ON "rejected_records" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "sync_runs_workspace_started_idx" ON "sync_runs" USING btree ("workspace","started_at" DESC NULLS LAST);