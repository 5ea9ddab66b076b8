/*
 * cli/canonicalize.c: `optreg canonicalize FILE` and `optreg digest FILE`.
 *
 * Both load the document the way the registry does (YAML or JSON, same
 * tree), so a YAML file and a JSON file of the same content print the same
 * bytes and the same digest.
 */
#include <stdio.h>
#include <string.h>

#include "../validator/jcs.h"
#include "cli.h"

/* Loads FILE and appends its canonical form to `out`; exit status. */
static int canonical_bytes(const char *file, struct optreg_buf *out)
{
	struct optreg_errors errs = OPTREG_ERRORS_INIT;
	struct optreg_doc doc;
	int rc;

	optreg_doc_init(&doc);
	rc = cli_load(file, &doc, &errs);
	if (rc == 0 && optreg_jcs_serialize(doc.root, out, &errs) < 0) {
		optreg_errors_print(stderr, file, &errs);
		rc = OPTREG_EXIT_INVALID;
	}
	optreg_doc_release(&doc);
	optreg_errors_release(&errs);
	return rc;
}

static int one_file_command(int argc, char **argv, const char *help,
			    const char **file)
{
	if (argc == 2 && cli_is_help(argv[1])) {
		fputs(help, stdout);
		return -1;
	}
	if (argc != 2 || (argv[1][0] == '-' && argv[1][1])) {
		fprintf(stderr, "optreg %s: expected exactly one FILE\n%s",
			argv[0], help);
		return OPTREG_EXIT_USAGE;
	}
	*file = argv[1];
	return 0;
}

int cmd_canonicalize(int argc, char **argv)
{
	static const char help[] =
		"usage: optreg canonicalize FILE\n\n"
		"Prints the RFC 8785 canonical JSON of a JSON or YAML document "
		"(FILE or - for\nstandard input): sorted keys, no whitespace, "
		"shortest numbers. The output is\nexactly the bytes that are "
		"digested, with no trailing newline.\n";
	struct optreg_buf out = OPTREG_BUF_INIT;
	const char *file;
	int rc = one_file_command(argc, argv, help, &file);

	if (rc)
		return rc < 0 ? OPTREG_EXIT_OK : rc;
	rc = canonical_bytes(file, &out);
	if (rc == 0)
		rc = cli_write_stdout(&out);
	optreg_buf_release(&out);
	return rc;
}

int cmd_digest(int argc, char **argv)
{
	static const char help[] =
		"usage: optreg digest FILE\n\n"
		"Prints the identity of a document: sha256: and the hex "
		"SHA-256 of its RFC 8785\ncanonical JSON. A YAML file and a "
		"JSON file of the same content have the\nsame digest.\n";
	struct optreg_buf out = OPTREG_BUF_INIT;
	char digest[OPTREG_DIGEST_LEN + 1];
	const char *file;
	int rc = one_file_command(argc, argv, help, &file);

	if (rc)
		return rc < 0 ? OPTREG_EXIT_OK : rc;
	rc = canonical_bytes(file, &out);
	if (rc == 0) {
		optreg_jcs_digest(out.data, out.len, digest);
		printf("%s\n", digest);
	}
	optreg_buf_release(&out);
	return rc;
}
