-- ocpstore's database roles and database: a deployment step, run once per
-- PostgreSQL cluster by an administrator (a superuser, or a role with
-- CREATEROLE and CREATEDB), before the first Migrate. README: Security.
--
--   psql "postgres://admin@db.example.com:5432/postgres?sslmode=verify-full" \
--     -v owner=ocpstore_owner -v owner_password="$OWNER_PASSWORD" \
--     -v app=ocpstore_app -v app_password="$APP_PASSWORD" \
--     -v db=ocpstore -f scripts/sql/roles.sql
--
-- It creates
--   * the owner role (:owner), which owns the database and its schema
--     public: it runs Migrate (DDL), postgres.GrantApplication and
--     Audit.Purge (retention), and nothing else;
--   * the application role (:app), which the service connects as: it may
--     connect and use the schema, and gets its rights on the tables from
--     postgres.GrantApplication, which the owner runs after every Migrate
--     (the ocpstore command: ocpstore grant -role :app);
--   * the database (:db), owned by :owner, which nobody else may create
--     objects in.
-- Roles are global to the cluster; run it again only for a new set of
-- names (CREATE ROLE fails on an existing role).
\set ON_ERROR_STOP on

CREATE ROLE :"owner" LOGIN PASSWORD :'owner_password';
CREATE ROLE :"app" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
CREATE DATABASE :"db" OWNER :"owner";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app";

\connect :"db"
-- PostgreSQL 15 already keeps PUBLIC from creating in schema public; older
-- releases do not.
ALTER SCHEMA public OWNER TO :"owner";
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE ON SCHEMA public TO :"app";
