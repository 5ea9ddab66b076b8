/*
 * cli/main.c: `optreg`, the command-line client. Dispatches to one function
 * per command; see `optreg --help`.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define OPTREG_VERSION "0.1.0"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{"canonicalize", cmd_canonicalize,
	 "print the RFC 8785 canonical JSON of a JSON or YAML document"},
	{"digest", cmd_digest, "print the sha256: digest of a document"},
	{"lint", cmd_lint, "check config documents against the schema"},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: optreg <command> [options] [args]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-14s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\nRun `optreg <command> --help` for a command's options.\n"
		"Exit status: 0 ok, 1 invalid document, 2 usage, 3 I/O.\n");
}

int cli_is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

int cli_load_doc(const char *file, struct optreg_doc *doc,
		 struct optreg_errors *errs)
{
	struct optreg_buf in = OPTREG_BUF_INIT;
	char chunk[65536];
	size_t n;
	int rc;

	if (strcmp(file, "-"))
		return optreg_doc_load_file(doc, file, errs);
	while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
		optreg_buf_add(&in, chunk, n);
	rc = optreg_doc_load(doc, "-", in.data, in.len, errs);
	optreg_buf_release(&in);
	return rc;
}

int cli_load(const char *file, struct optreg_doc *doc,
	     struct optreg_errors *errs)
{
	int rc = cli_load_doc(file, doc, errs);

	if (rc == 0)
		return 0;
	cli_print_errors(file, errs);
	return rc == OPTREG_EIO ? OPTREG_EXIT_IO : OPTREG_EXIT_INVALID;
}

void cli_print_errors(const char *file, const struct optreg_errors *errs)
{
	struct optreg_buf out = OPTREG_BUF_INIT;

	optreg_errors_format(errs, file, &out);
	fputs(out.data, stderr);
	optreg_buf_release(&out);
}

int cli_write_stdout(const struct optreg_buf *b)
{
	if (fwrite(b->data, 1, b->len, stdout) != b->len ||
	    fflush(stdout) != 0) {
		perror("optreg: cannot write to standard output");
		return OPTREG_EXIT_IO;
	}
	return OPTREG_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return OPTREG_EXIT_USAGE;
	}
	if (cli_is_help(argv[1]) || !strcmp(argv[1], "help")) {
		usage(stdout);
		return OPTREG_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("optreg %s\n", OPTREG_VERSION);
		return OPTREG_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "optreg: unknown command \"%s\"\n", argv[1]);
	fprintf(stderr, "hint: run `optreg --help` for the list of commands\n");
	return OPTREG_EXIT_USAGE;
}
