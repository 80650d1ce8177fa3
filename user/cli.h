/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The command line as data, in the spirit of xdp-tools' lib/util/params.h:
 * each command describes its options once (name, flag, type, field of its
 * options struct, help) and gives one const instance of that struct with
 * the defaults. getopt_long's tables, the value checks and the options in
 * `veer CMD --help` (defaults included) are all generated from that, so
 * the help cannot disagree with the code.
 */
#ifndef VEER_CLI_H
#define VEER_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* Exit codes: 0 success, 1 the operation failed, 2 the command line is bad. */
#define EXIT_FAILED 1
#define EXIT_USAGE 2

/* What every command sees: global options and the command's name. */
struct cli_globals {
	const char *pin_root;
	bool verbose;
	const char *command; /* for the "veer: CMD: " prefix */
};

extern struct cli_globals cli;

/* "veer: CMD: message" on stderr: every error veer prints is one line. */
void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Digits only, in [min, max]: 0, or -1 for anything else. */
int cli_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out);

/*
 * An argument as it may go into a one-line message (veer_quote), cut after
 * CLI_QUOTE_MAX bytes (as long as the messages showed before veer_quote);
 * buf holds CLI_QUOTE_BUF bytes.
 */
#define CLI_QUOTE_MAX 152
#define CLI_QUOTE_BUF VEER_QUOTE_BUF(CLI_QUOTE_MAX)
const char *cli_quote(const char *text, char *buf);

enum cli_type {
	CLI_FLAG, /* bool; no value */
	CLI_STRING, /* const char * */
	CLI_U32, /* uint32_t in [min, max] */
	CLI_ENUM, /* int: the index of the value in names[] */
	CLI_STRINGS, /* struct cli_strings; the option repeats */
	/*
	 * const char *, the value optional: --opt=PATH, --opt PATH (an
	 * absolute path: the next argument is taken only if it starts with
	 * '/'), or bare --opt for the path absent() returns.
	 */
	CLI_OPTIONAL_PATH,
};

/* The values of a repeatable string option, in command-line order. */
#define CLI_STRINGS_MAX 64
struct cli_strings {
	const char *item[CLI_STRINGS_MAX];
	int count;
};

struct cli_option {
	const char *name; /* long name, without "--" */
	char flag; /* short flag, or 0 */
	enum cli_type type;
	size_t field; /* offsetof() in the command's options struct */
	const char *metavar; /* the value in --help: "N", "FILE|DIR" */
	const char *help; /* one sentence; --help wraps it */
	/*
	 * In messages about a bad value: "unknown <what> 'x'" (CLI_ENUM), "at
	 * most N <what>" (CLI_STRINGS).
	 */
	const char *what;
	uint32_t min, max; /* CLI_U32: range; CLI_STRINGS: max count */
	/*
	 * CLI_ENUM: the values, NULL-terminated, by index; "" is an index
	 * this option does not take (not listed, not accepted), so commands
	 * can share one enum and each take part of it.
	 */
	const char *const *names;
	/* CLI_OPTIONAL_PATH: the path of a bare --opt; NULL has failed. */
	const char *(*absent)(void);
	/* Bits ORed into the command's `given` mask when the option appears. */
	unsigned int given;
};

struct cli_command {
	const char *name;
	/*
	 * The synopsis after "veer CMD": the positional arguments and how
	 * they go with the options (detach's are alternatives).
	 */
	const char *args;
	const char *summary; /* one line, for `veer --help` */
	const char *details; /* --help prose, before the options */
	const struct cli_option *options; /* ends with a NULL name */
	const void *defaults; /* the options struct's initial values */
	size_t opts_size; /* 0: no options struct (and no defaults) */
	size_t given_field; /* offsetof() an unsigned int, if any given */
	/* Runs with the options parsed and the positional arguments. */
	int (*run)(const void *opts, int argc, char **argv);
};

/* A command's option table and its defaults (which give the struct's size). */
#define CLI_OPTIONS(table, defaults_instance)                                  \
	.options = (table), .defaults = &(defaults_instance),                  \
	.opts_size = sizeof(defaults_instance)

/*
 * Parses argv (argv[0] is the command's name) into a copy of the
 * command's defaults and runs the command with what is left: its exit
 * code, or EXIT_USAGE after a one-line error.
 */
int cli_run(const struct cli_command *cmd, int argc, char **argv);

/* `veer CMD --help`, on stdout. */
void cli_print_help(const struct cli_command *cmd);

#endif /* VEER_CLI_H */
