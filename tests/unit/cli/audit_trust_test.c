/*
 * tests/unit/cli/audit_trust_test.c: opening a signed audit checkpoint
 * with the registry keys (cli/audit_trust.c): what optreg_checkpoint_verify
 * decides, in the words `optreg audit` prints for each refusal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/audit.h"
#include "common/note.h"

#define ORIGIN "registry.example/audit"

struct fixture {
	struct optreg_key *a, *b; /* private */
	struct optreg_buf good;	  /* checkpoint of size 3 signed by a */
};

static struct optreg_key *generate(void)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_key *k = NULL;

	assert_int_equal(optreg_key_generate(&k, &errs), 0);
	return k;
}

/* The public half of `k`, as a registry lists it. */
static struct optreg_key *public_of(const struct optreg_key *k)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct optreg_key *pub = NULL;

	assert_int_equal(optreg_key_public_pem(k, &pem), 0);
	assert_int_equal(optreg_key_load_pem(&pub, pem.data, pem.len, &errs),
			 0);
	optreg_buf_release(&pem);
	return pub;
}

static void sign(const char *text, const struct optreg_key *k,
		 struct optreg_buf *out)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;

	assert_int_equal(optreg_note_sign(text, ORIGIN, k, out, &errs), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct optreg_buf body = OPTREG_BUF_INIT;
	unsigned char root[32];

	memset(root, 7, sizeof(root));
	f->a = generate();
	f->b = generate();
	assert_int_equal(optreg_note_checkpoint_body(ORIGIN, 3, root, &body),
			 0);
	sign(body.data, f->a, &f->good);
	optreg_buf_release(&body);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	optreg_key_free(f->a);
	optreg_key_free(f->b);
	optreg_buf_release(&f->good);
	free(f);
	return 0;
}

/* A trust set of the public halves of `keys`. */
static void trust_of(struct trust *t, int pinned, struct optreg_key **keys,
		     size_t n)
{
	audit_trust_init(t);
	t->pinned = pinned;
	for (size_t i = 0; i < n; i++)
		optreg_keyset_add_take(&t->keys, NULL, public_of(keys[i]), NULL,
				       NULL, NULL);
}

/* Opens `note` with `t`; returns the result, the reason in `why`. */
static int open_note(const char *note, const struct trust *t,
		     struct optreg_checkpoint *cp, struct optreg_buf *why)
{
	optreg_buf_reset(why);
	return audit_checkpoint_open(note, t, cp, why);
}

static void assert_starts(const char *s, const char *prefix)
{
	if (strncmp(s, prefix, strlen(prefix)))
		fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

static void test_opens_a_good_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct optreg_checkpoint cp;
	struct trust t;
	char id[OPTREG_KEYID_LEN + 1];
	unsigned char root[32];

	trust_of(&t, 1, &f->a, 1);
	assert_int_equal(open_note(f->good.data, &t, &cp, &why), 0);
	assert_string_equal(cp.origin, ORIGIN);
	assert_int_equal(cp.size, 3);
	memset(root, 7, sizeof(root));
	assert_memory_equal(cp.root, root, 32);
	optreg_key_id(f->a, id);
	assert_string_equal(cp.keyid, id);
	assert_int_equal(why.len, 0);
	optreg_checkpoint_release(&cp);
	audit_trust_release(&t);
	optreg_buf_release(&why);
}

static void test_names_the_key_that_did_not_verify(void **state)
{
	struct fixture *f = *state;
	struct optreg_buf why = OPTREG_BUF_INIT, want = OPTREG_BUF_INIT;
	struct optreg_key *both[2] = {f->b, f->b};
	struct optreg_checkpoint cp;
	struct trust t;
	char id[OPTREG_KEYID_LEN + 1];

	optreg_key_id(f->b, id);
	trust_of(&t, 1, &f->b, 1);
	assert_int_equal(open_note(f->good.data, &t, &cp, &why), -1);
	optreg_buf_addf(&want,
			"its signature does not verify with the pinned "
			"registry key %.16s under the name " ORIGIN ": ",
			id);
	assert_starts(why.data, want.data);
	assert_null(cp.origin);
	audit_trust_release(&t);

	trust_of(&t, 0, &f->b, 1);
	assert_int_equal(open_note(f->good.data, &t, &cp, &why), -1);
	assert_starts(why.data, "its signature does not verify with the "
				"listed registry key");
	audit_trust_release(&t);

	trust_of(&t, 0, both, 2);
	assert_int_equal(open_note(f->good.data, &t, &cp, &why), -1);
	assert_starts(why.data,
		      "its signature verifies with none of the 2 "
		      "listed registry keys under the name " ORIGIN ": ");
	audit_trust_release(&t);
	optreg_buf_release(&want);
	optreg_buf_release(&why);
}

static void test_refuses_what_is_not_a_checkpoint(void **state)
{
	struct fixture *f = *state;
	struct optreg_buf why = OPTREG_BUF_INIT, note = OPTREG_BUF_INIT;
	struct optreg_checkpoint cp;
	struct trust t;

	trust_of(&t, 1, &f->a, 1);
	assert_int_equal(open_note("no newline", &t, &cp, &why), -1);
	assert_string_equal(why.data,
			    "it is not a checkpoint: its first line is not an "
			    "origin that can name a key");
	assert_int_equal(open_note(ORIGIN "\n3\n", &t, &cp, &why), -1);
	assert_starts(why.data, "it is not a signed note (line ");
	sign(ORIGIN "\nthree\nAAAA\n", f->a, &note);
	assert_int_equal(open_note(note.data, &t, &cp, &why), -1);
	assert_starts(why.data, "its text is not a checkpoint (line 2: ");
	audit_trust_release(&t);
	optreg_buf_release(&note);
	optreg_buf_release(&why);
}

/* A file holding `text`; its path is static. */
static const char *temp_file(const char *text)
{
	static char path[] = "/tmp/optreg_audit_trust_XXXXXX";
	int fd;

	strcpy(path + strlen(path) - 6, "XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

/* A pinned key file is the one trusted key; one that cannot be read or is
 * not a key is an I/O or usage error (and stderr says why). */
static void test_loads_a_pinned_key(void **state)
{
	struct fixture *f = *state;
	struct cli_remote r = {.cmd = "audit verify"};
	struct optreg_buf pem = OPTREG_BUF_INIT;
	struct optreg_checkpoint cp;
	struct optreg_buf why = OPTREG_BUF_INIT;
	struct trust t;
	const char *path;

	assert_int_equal(optreg_key_public_pem(f->a, &pem), 0);
	path = temp_file(pem.data);
	audit_trust_init(&t);
	assert_int_equal(audit_trust_load(&r, path, &t), OPTREG_EXIT_OK);
	assert_true(t.pinned);
	assert_int_equal(t.keys.n, 1);
	assert_int_equal(open_note(f->good.data, &t, &cp, &why), 0);
	optreg_checkpoint_release(&cp);
	audit_trust_release(&t);
	unlink(path);

	audit_trust_init(&t);
	assert_int_equal(audit_trust_load(&r, path, &t), OPTREG_EXIT_IO);
	audit_trust_release(&t);
	path = temp_file("not a key\n");
	audit_trust_init(&t);
	assert_int_equal(audit_trust_load(&r, path, &t), OPTREG_EXIT_USAGE);
	assert_int_equal(t.keys.n, 0);
	audit_trust_release(&t);
	unlink(path);
	optreg_buf_release(&pem);
	optreg_buf_release(&why);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opens_a_good_checkpoint),
		cmocka_unit_test(test_names_the_key_that_did_not_verify),
		cmocka_unit_test(test_refuses_what_is_not_a_checkpoint),
		cmocka_unit_test(test_loads_a_pinned_key),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
