-- 0004_jobs.sql: validation jobs and runner verdicts.
--
-- A job is created with each new version, in the submit transaction, for
-- the reference suite. Runners lease jobs (state queued -> leased) with an
-- expiry and heartbeats; an expired lease goes back to the queue until the
-- job has used max_attempts, then the job fails. A verdict is recorded once
-- per job (the signed DSSE envelope the runner posted) and never changed.

CREATE TABLE jobs (
	id bigserial PRIMARY KEY,
	config_id bigint NOT NULL,
	version integer NOT NULL,
	suite text NOT NULL,
	state text NOT NULL DEFAULT 'queued'
		CHECK (state IN ('queued', 'leased', 'done', 'failed')),
	attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
	lease_owner text,
	lease_token_hash bytea,
	lease_expires_at timestamptz,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (config_id, version) REFERENCES versions (config_id, version),
	UNIQUE (config_id, version, suite),
	CHECK ((state = 'leased') = (lease_expires_at IS NOT NULL))
);
CREATE INDEX jobs_queue ON jobs (state, id);

CREATE TABLE verdicts (
	job_id bigint PRIMARY KEY REFERENCES jobs (id),
	config_id bigint NOT NULL,
	version integer NOT NULL,
	suite text NOT NULL,
	suite_digest text NOT NULL,
	result text NOT NULL CHECK (result IN ('pass', 'warn', 'fail', 'error')),
	runner text NOT NULL,
	runner_keyid text NOT NULL,
	verdict text NOT NULL,   -- the DSSE envelope, RFC 8785 form
	created_at timestamptz NOT NULL DEFAULT now(),
	FOREIGN KEY (config_id, version) REFERENCES versions (config_id, version)
);
CREATE INDEX verdicts_version ON verdicts (config_id, version, created_at);

CREATE TRIGGER verdicts_immutable BEFORE UPDATE OR DELETE ON verdicts
	FOR EACH ROW EXECUTE FUNCTION receipts_immutable();

GRANT SELECT, INSERT, UPDATE ON jobs TO optreg_app;
GRANT SELECT, INSERT ON verdicts TO optreg_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO optreg_app;
