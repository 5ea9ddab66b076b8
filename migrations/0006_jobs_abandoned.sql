-- 0006_jobs_abandoned.sql: a job that runs out of attempts ends `abandoned`,
-- with the last error, instead of a silent `failed`.
--
-- An attempt is now counted when a lease ends without a verdict (it
-- expired, possibly after a verdict posted under it was refused), no longer
-- when the lease is taken: short leases cannot burn a job's attempts.
-- last_error says why the last counted attempt ended; lease_error holds the
-- refusal of a verdict posted under the current lease until that lease ends.

ALTER TABLE jobs DROP CONSTRAINT jobs_state_check;
UPDATE jobs SET state = 'abandoned' WHERE state = 'failed';
ALTER TABLE jobs ADD CONSTRAINT jobs_state_check
	CHECK (state IN ('queued', 'leased', 'done', 'abandoned'));
ALTER TABLE jobs ADD COLUMN last_error text;
ALTER TABLE jobs ADD COLUMN lease_error text;
UPDATE jobs SET last_error = 'ran out of attempts (before migration 0006)'
	WHERE state = 'abandoned';
-- A lease held now was counted when it was taken; it is counted again
-- when it ends.
UPDATE jobs SET attempts = attempts - 1
	WHERE state = 'leased' AND attempts > 0;

GRANT SELECT, INSERT, UPDATE ON jobs TO optreg_app;
