-- 0011_audit_config_target.sql: listing a config's audit events.
--
-- GET /v1/audit/entries?config=ns/name selects the events whose target is
-- the config or one of its versions and tags (ns/name@...), as a range of
-- targets in byte order: target COLLATE "C" from 'ns/name@' up to (not
-- including) 'ns/nameA' ('A' follows '@'). This index serves that range
-- whatever the database's collation is.
CREATE INDEX IF NOT EXISTS audit_events_target_c
    ON audit_events ((target COLLATE "C"), idx);
