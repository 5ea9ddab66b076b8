-- 0009_ref_v2_jobs.sql: the reference suite is ref-v2 (runner 0.2.0).
--
-- Verdicts on the retired ref-v1 stay as they were and still verify, but a
-- gate counts only verdicts on the registry's reference suite, and new
-- jobs are created for ref-v2 alone. So that versions stored before the
-- upgrade can be promoted again, every version that is not yanked gets a
-- queued ref-v2 job here, and the runners judge it on ref-v2. Idempotent:
-- a version that already has a ref-v2 job keeps it.
INSERT INTO jobs (config_id, version, suite)
SELECT v.config_id, v.version, 'ref-v2'
FROM versions v
WHERE v.yanked_at IS NULL
ORDER BY v.config_id, v.version
ON CONFLICT DO NOTHING;
