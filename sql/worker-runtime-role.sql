-- The login role of a worker that does not migrate (MIGRATE_ON_START=0), beside the owner role of sql/worker-role.sql
-- that runs `threetone-sync migrate` at each upgrade: it reads and writes rows and changes no schema, so a leaked
-- DATABASE_URL of a worker cannot drop or alter a table.
-- Run as a superuser or the tables' owner, connected to the sync's own database, after `migrate`:
--   psql -v ON_ERROR_STOP=1 -d threetone -v role=threetone_sync_runtime -v password='…' -f sql/worker-runtime-role.sql
-- Run it again after an upgrade that adds a table: the grants cover the tables that exist when it runs.
-- The queue must be in Redis (REDIS_URL): with the Postgres queue backend, BullMQ creates its schema at start, which
-- needs CREATE on the database (use sql/worker-role.sql then).
--
-- Only psql's quoted variable forms appear here, never inside $$ bodies (psql does not expand variables there);
-- test/deploy/worker-role.test.ts executes this file with the same substitution.

SET threetone.runtime_role = :'role';

DO $$
BEGIN
  EXECUTE format('CREATE ROLE %I', current_setting('threetone.runtime_role'));
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- already there
END
$$;

ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'password';

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), current_setting('threetone.runtime_role'));
END
$$;

-- Rows of every table and view, the sequences behind their ids, and the functions the views call; no CREATE anywhere.
GRANT USAGE ON SCHEMA public TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"role";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"role";
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO :"role";
-- The request budget's rows (its tables come with `migrate`; the budget lives in Postgres when REDIS_URL is unset).
GRANT USAGE ON SCHEMA threetone_budget TO :"role";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA threetone_budget TO :"role";
-- The migration ledger, read-only: the worker checks at start that the schema is its release's.
GRANT USAGE ON SCHEMA drizzle TO :"role";
GRANT SELECT ON drizzle.__drizzle_migrations TO :"role";
