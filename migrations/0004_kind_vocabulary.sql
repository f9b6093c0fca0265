-- One vocabulary of run kinds from the CLI to the job to the run row: a walk of every page is `full`
-- (it was stored as `sync`, while the job kind `sync` meant incremental unless `full` was set).
UPDATE "sync_runs" SET "kind" = 'full' WHERE "kind" = 'sync';
