-- Retention deletes old runs, and each deleted run's versions must lose their link (run_id, ON DELETE SET NULL).
-- Through the BRIN index the foreign key's check read every block range a run's id could be in: ~200 ms a run at
-- 2 M versions, so a 500-run batch met the statement timeout. A btree finds a run's versions in one probe. Partial:
-- versions detached from deleted runs leave it, so it holds only the links of the runs still kept.
-- A plain CREATE INDEX (migrations run in a transaction): it blocks history writes for the seconds the build takes
-- (about 2 s at 2 M versions), once.
CREATE INDEX "batch_call_history_run_idx" ON "batch_call_history" USING btree ("run_id") WHERE run_id IS NOT NULL;--> statement-breakpoint
DROP INDEX "batch_call_history_run_brin";
