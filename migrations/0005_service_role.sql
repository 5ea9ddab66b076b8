-- 0005_service_role.sql: what `optreg-server serve` needs as optreg_app.
--
-- The service logs in as a role that is a member of optreg_app and neither
-- superuser nor owner of the tables (docs/operations.md). 0003 and 0004
-- grant it the rows it reads and writes; `serve` also checks at start that
-- no migration is pending, which reads schema_migrations (the migration
-- runner creates that table, owned by whoever runs `migrate`).
--
-- Nothing more: no UPDATE, DELETE or TRUNCATE on schema_migrations or the
-- audit tables, no ownership (so no ALTER TABLE, DISABLE TRIGGER or
-- CREATE OR REPLACE of the trigger functions), and no CREATE in schema
-- public (the default before PostgreSQL 15 let every role create tables
-- and functions there; revoking it is a no-op on 15 and later, and only a
-- warning where `migrate` does not own the schema).
GRANT SELECT ON schema_migrations TO optreg_app;
DO $$
BEGIN
	IF EXISTS (SELECT FROM pg_namespace WHERE nspname = 'public') THEN
		REVOKE CREATE ON SCHEMA public FROM PUBLIC;
	END IF;
END $$;
