-- The login role threetone-sync connects as (`migrate`, the worker, `sync`): it owns what its migrations create and
-- nothing else, and is not a superuser, so a leaked DATABASE_URL reaches this one database and no further.
-- Run as a superuser, connected to the sync's own database, with two psql variables:
--   psql -v ON_ERROR_STOP=1 -d threetone -v role=threetone_sync -v password='…' -f sql/worker-role.sql
-- docker-compose.yml runs it from deploy/postgres/initdb/ when the pgdata volume is first created.
-- Safe to run again: it resets the password and attributes, and re-applies the grants.
--
-- Only psql's quoted variable forms appear here, never inside $$ bodies (psql does not expand variables there);
-- test/deploy/worker-role.test.ts executes this file with the same substitution, so it stays the one source.

-- DO blocks read the role name from a session setting, since psql variables do not reach them.
SET threetone.worker_role = :'role';

DO $$
BEGIN
  EXECUTE format('CREATE ROLE %I', current_setting('threetone.worker_role'));
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- already there (unique_violation: another session created it at the same moment)
END
$$;

-- Spelled out rather than left to the defaults, so a rerun also takes back anything granted by hand since.
ALTER ROLE :"role" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'password';

-- CREATE on the database: drizzle keeps its journal in schema `drizzle`, the request budget's migration makes schema
-- threetone_budget, and with REDIS_URL unset BullMQ lives in QUEUE_SCHEMA (default threetone_queue). drizzle and
-- BullMQ run CREATE SCHEMA IF NOT EXISTS on every start, and Postgres checks this privilege even when the schema
-- exists, so owning pre-created schemas would not be enough.
DO $$
BEGIN
  EXECUTE format('GRANT CONNECT, CREATE ON DATABASE %I TO %I', current_database(), current_setting('threetone.worker_role'));
END
$$;

-- CREATE on public instead of owning it: the tables live there, but the role cannot change who else may use it.
-- PUBLIC loses CREATE (already the default from Postgres 15): nobody else may plant objects in public that shadow
-- the ones the worker's queries name (CVE-2018-1058).
GRANT USAGE, CREATE ON SCHEMA public TO :"role";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- A database first migrated by another role (a compose stack from before this role existed migrated as the
-- superuser): the role takes over those objects, since later migrations ALTER them and only an owner may.
-- Owned sequences and indexes follow their tables. A no-op on a fresh database.
DO $$
DECLARE
  target text := current_setting('threetone.worker_role');
  ddl text;
BEGIN
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'drizzle' AND pg_get_userbyid(nspowner) <> target) THEN
    EXECUTE format('ALTER SCHEMA drizzle OWNER TO %I', target);
  END IF;
  IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'threetone_budget' AND pg_get_userbyid(nspowner) <> target) THEN
    EXECUTE format('ALTER SCHEMA threetone_budget OWNER TO %I', target);
  END IF;
  FOR ddl IN
    SELECT format('ALTER %s %s OWNER TO %I',
                  CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                  c.oid::regclass, target)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname IN ('public', 'drizzle', 'threetone_budget') AND c.relkind IN ('r', 'p', 'v', 'm')
      AND pg_get_userbyid(c.relowner) <> target
      -- Partitions follow their parent.
      AND NOT c.relispartition
    UNION ALL
    SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, target)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    WHERE n.nspname IN ('public', 'drizzle', 'threetone_budget') AND p.prokind IN ('f', 'p') AND pg_get_userbyid(p.proowner) <> target
      -- Functions an extension installed belong to it.
      AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    EXECUTE ddl;
  END LOOP;
END
$$;
