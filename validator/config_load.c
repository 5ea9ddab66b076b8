/*
 * validator/config_load.c: the load -> validate -> canonicalize -> digest
 * pipeline every program ran by hand (lint, sign, submit, the envelope
 * check, the registry's submit and validate, the runner's run and serve).
 */
#include <stdio.h>
#include <string.h>

#include "config.h"

void optreg_checked_config_init(struct optreg_checked_config *cc)
{
	optreg_doc_init(&cc->doc);
	memset(&cc->cfg, 0, sizeof(cc->cfg));
	optreg_buf_init(&cc->canon);
	cc->digest[0] = '\0';
	cc->input_canonical = false;
}

void optreg_checked_config_release(struct optreg_checked_config *cc)
{
	optreg_doc_release(&cc->doc);
	optreg_config_release(&cc->cfg);
	optreg_buf_release(&cc->canon);
	optreg_checked_config_init(cc);
}

int optreg_config_load_checked(struct optreg_checked_config *cc,
			       const char *name, const char *data, size_t len,
			       unsigned flags, struct optreg_errors *errs)
{
	int rc;

	optreg_checked_config_release(cc);
	if (flags & OPTREG_CONFIG_JSON)
		rc = optreg_doc_load_json(&cc->doc, data, len, errs);
	else
		rc = optreg_doc_load(&cc->doc, name, data, len, errs);
	if (rc == 0)
		rc = optreg_config_validate(&cc->doc, &cc->cfg, errs);
	if (rc == 0)
		rc = optreg_jcs_serialize(cc->doc.root, &cc->canon, errs);
	if (rc) {
		optreg_config_release(&cc->cfg);
		optreg_buf_release(&cc->canon);
		return rc;
	}
	optreg_jcs_digest(cc->canon.data, cc->canon.len, cc->digest);
	cc->input_canonical =
		len == cc->canon.len && !memcmp(data, cc->canon.data, len);
	return 0;
}

int optreg_config_load_checked_file(struct optreg_checked_config *cc,
				    const char *path, unsigned flags,
				    struct optreg_errors *errs)
{
	struct optreg_buf in = OPTREG_BUF_INIT;
	int rc;

	if (strcmp(path, "-")) {
		rc = optreg_doc_read_file(&in, path, errs);
		if (rc) {
			optreg_buf_release(&in);
			optreg_checked_config_release(cc);
			return rc;
		}
	} else {
		char chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			optreg_buf_add(&in, chunk, n);
	}
	rc = optreg_config_load_checked(cc, path, in.data, in.len, flags, errs);
	optreg_buf_release(&in);
	return rc;
}
