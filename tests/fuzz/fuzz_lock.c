/*
 * tests/fuzz/fuzz_lock.c: fuzzes cli_lock_parse, the reader of the lock
 * file that `optreg pin` writes and `optreg fetch --lock` trusts, and on
 * what it accepts cli_lock_format and cli_lock_key.
 *
 * Beyond memory safety it checks the contract: a refusal is -1 with a
 * message starting "lock file: " and leaves the lock empty; an accepted
 * lock has a version of at least 1, a digest of sha256: and 64 lowercase
 * hex digits, and a registry key whose own id is registry_keyid; its
 * formatted text parses back to the same fields and formats to the same
 * bytes (a fixed point).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../../cli/lock.h"
#include "../../common/buf.h"
#include "../../common/sign.h"
#include "fuzz.h"

static void check_same(const struct cli_lock *a, const struct cli_lock *b)
{
	FUZZ_CHECK(!strcmp(a->ref, b->ref), "ref changed");
	FUZZ_CHECK(!strcmp(a->ns, b->ns), "namespace changed");
	FUZZ_CHECK(!strcmp(a->name, b->name), "name changed");
	FUZZ_CHECK(a->version == b->version, "version changed");
	FUZZ_CHECK(!strcmp(a->digest, b->digest), "digest changed");
	FUZZ_CHECK(!strcmp(a->registry, b->registry), "registry changed");
	FUZZ_CHECK(!strcmp(a->keyid, b->keyid), "registry_keyid changed");
	FUZZ_CHECK(!strcmp(a->registry_key, b->registry_key),
		   "registry_key changed");
	FUZZ_CHECK(!strcmp(a->pinned_at, b->pinned_at), "pinned_at changed");
}

static void check_empty(const struct cli_lock *l)
{
	FUZZ_CHECK(!l->ref && !l->registry && !l->registry_key && !l->ns[0] &&
			   !l->name[0] && !l->digest[0] && !l->keyid[0],
		   "a refused lock is not left empty");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct optreg_buf why = OPTREG_BUF_INIT, text = OPTREG_BUF_INIT,
			  again = OPTREG_BUF_INIT;
	struct cli_lock lock, back;
	struct optreg_key *key = NULL;
	char id[OPTREG_KEYID_LEN + 1];
	int rc;

	cli_lock_init(&lock);
	cli_lock_init(&back);
	rc = cli_lock_parse((const char *)data, size, &lock, &why);
	FUZZ_CHECK(rc == 0 || rc == -1, "parse returned %d", rc);
	if (rc) {
		FUZZ_CHECK(why.len > 11 &&
				   !strncmp(why.data, "lock file: ", 11),
			   "a refusal says \"%s\"", why.len ? why.data : "");
		check_empty(&lock);
		goto out;
	}
	FUZZ_CHECK(why.len == 0, "an accepted lock has a message: %s",
		   why.data);
	FUZZ_CHECK(lock.ref && lock.registry && lock.registry_key,
		   "an accepted lock lacks a string");
	FUZZ_CHECK(lock.version >= 1, "version %ld", lock.version);
	FUZZ_CHECK(!strncmp(lock.digest, "sha256:", 7) &&
			   fuzz_lower_hex(lock.digest + 7, 64),
		   "digest \"%s\"", lock.digest);
	FUZZ_CHECK(fuzz_lower_hex(lock.keyid, 64), "registry_keyid \"%s\"",
		   lock.keyid);
	FUZZ_CHECK(cli_lock_key(&lock, &key, &why) == 0,
		   "an accepted lock's key does not load: %s", why.data);
	optreg_key_id(key, id);
	FUZZ_CHECK(!strcmp(id, lock.keyid), "the key's id is %s, not %s", id,
		   lock.keyid);

	cli_lock_format(&lock, &text);
	rc = cli_lock_parse(text.data, text.len, &back, &why);
	FUZZ_CHECK(rc == 0, "the formatted lock is refused: %s\n%s", why.data,
		   text.data);
	check_same(&lock, &back);
	cli_lock_format(&back, &again);
	FUZZ_CHECK(again.len == text.len &&
			   !memcmp(again.data, text.data, text.len),
		   "the formatted lock is not a fixed point");
out:
	optreg_key_free(key);
	cli_lock_release(&lock);
	cli_lock_release(&back);
	optreg_buf_release(&why);
	optreg_buf_release(&text);
	optreg_buf_release(&again);
	return 0;
}
