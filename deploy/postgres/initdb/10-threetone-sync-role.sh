#!/bin/sh
# Creates threetone_sync, the non-superuser role migrate and the worker connect as (grants: sql/worker-role.sql).
# The postgres image runs /docker-entrypoint-initdb.d/* only while it initialises an empty pgdata volume, as
# POSTGRES_USER and connected to POSTGRES_DB. An existing volume (a stack from before this role) needs one manual run,
# as the superuser that volume was created with (see docker-compose.yml).
#
# The image executes this file when it is executable and sources it otherwise, so it changes no shell options and
# calls no `exit`: a missing variable or a failing psql stops the init either way.

: "${THREETONE_DB_PASSWORD:?set THREETONE_DB_PASSWORD in .env}"

# \getenv (psql 15+) keeps the password off psql's command line, where `ps` would show it.
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v role=threetone_sync \
  -c '\getenv password THREETONE_DB_PASSWORD' \
  -f "${THREETONE_SQL_DIR:-/threetone/sql}/worker-role.sql"
