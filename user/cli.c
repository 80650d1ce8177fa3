// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The option tables' parser and help (cli.h). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct cli_globals cli;

void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "veer: %s: ", cli.command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_parse_u32(const char *text, uint32_t min, uint32_t max, uint32_t *out)
{
	unsigned long long v;
	char *end;

	/* Digits only: strtoull would also skip leading blanks, take signs. */
	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

const char *cli_quote(const char *text, char *buf)
{
	return veer_quote(text, strlen(text), CLI_QUOTE_MAX, buf,
			  CLI_QUOTE_BUF);
}

/* getopt is silent (opterr = 0) so that every error carries veer's prefix. */
static int bad_option(char **argv)
{
	char buf[CLI_QUOTE_BUF];

	fail("unknown option or missing value: '%s'",
	     cli_quote(argv[optind - 1], buf));
	return EXIT_USAGE;
}

/* Options without a short flag get getopt values past every character. */
#define LONG_ONLY_VAL 256

static int option_val(const struct cli_option *options,
		      const struct cli_option *opt)
{
	return opt->flag ? opt->flag : LONG_ONLY_VAL + (int)(opt - options);
}

static size_t option_count(const struct cli_option *options)
{
	size_t n = 0;

	while (options[n].name)
		n++;
	return n;
}

static int option_has_arg(const struct cli_option *opt)
{
	return opt->type == CLI_FLAG		? no_argument
	       : opt->type == CLI_OPTIONAL_PATH ? optional_argument
						: required_argument;
}

/* getopt_long's view of the table. 0, or -1 out of memory. */
static int getopt_tables(const struct cli_option *options,
			 struct option **longopts, char **optstring)
{
	size_t n = option_count(options), i, o = 0;

	*longopts = calloc(n + 1, sizeof(**longopts));
	*optstring = calloc(3 * n + 1, 1);
	if (!*longopts || !*optstring)
		return -1;
	for (i = 0; i < n; i++) {
		const struct cli_option *opt = &options[i];

		(*longopts)[i] = (struct option){
			.name = opt->name,
			.has_arg = option_has_arg(opt),
			.val = option_val(options, opt),
		};
		if (!opt->flag)
			continue;
		(*optstring)[o++] = opt->flag;
		if (opt->type != CLI_FLAG)
			(*optstring)[o++] = ':';
		if (opt->type == CLI_OPTIONAL_PATH)
			(*optstring)[o++] = ':';
	}
	return 0;
}

/* The index of the enum value after `i` that the option takes, or of
 * the terminating NULL. */
static size_t enum_next(const char *const *names, size_t i)
{
	while (names[i] && !names[i][0])
		i++;
	return i;
}

/* "a, b or c" */
static const char *choices(const char *const *names, char *buf, size_t len)
{
	size_t i, next, n = 0;

	buf[0] = '\0';
	for (i = enum_next(names, 0); names[i] && n < len; i = next) {
		next = enum_next(names, i + 1);
		n += (size_t)snprintf(buf + n, len - n, "%s%s",
				      n == 0	    ? ""
				      : names[next] ? ", "
						    : " or ",
				      names[i]);
	}
	return buf;
}

static void *field_of(void *opts, size_t offset)
{
	return (char *)opts + offset;
}

/* One option's value (optarg) into opts: 0 or an exit code. */
static int set_option(const struct cli_command *cmd,
		      const struct cli_option *opt, void *opts, int argc,
		      char **argv)
{
	void *field = field_of(opts, opt->field);
	struct cli_strings *list = field;
	const char *path;
	char names[128];
	int i;

	switch (opt->type) {
	case CLI_FLAG:
		*(bool *)field = true;
		break;
	case CLI_STRING:
		*(const char **)field = optarg;
		break;
	case CLI_U32:
		/* Named as given, glued on (--ct-size=0) or not. */
		if (cli_parse_u32(optarg, opt->min, opt->max, field)) {
			fail("bad value '%s' for --%s (%u..%u)", optarg,
			     opt->name, opt->min, opt->max);
			return EXIT_USAGE;
		}
		break;
	case CLI_ENUM:
		for (i = 0; opt->names[i] && (!opt->names[i][0] ||
					      strcmp(opt->names[i], optarg));
		     i++)
			;
		if (!opt->names[i]) {
			fail("unknown %s '%s' (%s)", opt->what, optarg,
			     choices(opt->names, names, sizeof(names)));
			return EXIT_USAGE;
		}
		*(int *)field = i;
		break;
	case CLI_STRINGS:
		if (list->count == (int)opt->max ||
		    list->count == CLI_STRINGS_MAX) {
			fail("at most %u %s", opt->max, opt->what);
			return EXIT_USAGE;
		}
		list->item[list->count++] = optarg;
		break;
	case CLI_OPTIONAL_PATH:
		if (optarg)
			path = optarg;
		else if (optind < argc && argv[optind][0] == '/')
			path = argv[optind++];
		else if (!(path = opt->absent()))
			return EXIT_FAILED;
		*(const char **)field = path;
		break;
	}
	if (opt->given)
		*(unsigned int *)field_of(opts, cmd->given_field) |= opt->given;
	return 0;
}

int cli_run(const struct cli_command *cmd, int argc, char **argv)
{
	const struct cli_option *opt;
	struct option *longopts = NULL;
	char *optstring = NULL;
	void *opts = malloc(cmd->opts_size ? cmd->opts_size : 1);
	int c, ret = 0;

	if (!opts || getopt_tables(cmd->options, &longopts, &optstring)) {
		fail("out of memory");
		ret = EXIT_FAILED;
		goto out;
	}
	if (cmd->opts_size)
		memcpy(opts, cmd->defaults, cmd->opts_size);
	while (!ret &&
	       (c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
		for (opt = cmd->options;
		     opt->name && option_val(cmd->options, opt) != c; opt++)
			;
		ret = opt->name ? set_option(cmd, opt, opts, argc, argv)
				: bad_option(argv);
	}
	if (!ret)
		ret = cmd->run(opts, argc - optind, argv + optind);
out:
	free(longopts);
	free(optstring);
	free(opts);
	return ret;
}

/* ---- --help ---------------------------------------------------------- */

/* Option help starts in this column and wraps before the next. */
#define HELP_INDENT 21
#define HELP_WIDTH 72

/* Where the help of an option has got to on its lines. */
struct help_line {
	int col;
	bool words; /* the help has begun: the next word needs a space */
};

/* Writes text on, wrapping at spaces into the help's column. */
static void print_wrapped(struct help_line *line, const char *text)
{
	int len;

	for (;; text += len) {
		text += strspn(text, " ");
		len = (int)strcspn(text, " ");
		if (!len)
			break;
		if (line->words && line->col + 1 + len > HELP_WIDTH) {
			line->col = printf("\n%*s", HELP_INDENT, "") - 1;
		} else if (line->words) {
			putchar(' ');
			line->col++;
		}
		line->col += printf("%.*s", len, text);
		line->words = true;
	}
}

/* "-f, --file FILE|DIR", "--mode tc|xdp", "--cgroup [PATH]" */
static void option_label(const struct cli_option *opt, char *buf, size_t len)
{
	char value[64] = "";
	size_t i, n = 0;

	if (opt->type == CLI_ENUM && !opt->metavar) {
		for (i = enum_next(opt->names, 0); opt->names[i];
		     i = enum_next(opt->names, i + 1))
			n += (size_t)snprintf(value + n, sizeof(value) - n,
					      "%s%s", n ? "|" : " ",
					      opt->names[i]);
	} else if (opt->metavar) {
		snprintf(value, sizeof(value),
			 opt->type == CLI_OPTIONAL_PATH ? " [%s]" : " %s",
			 opt->metavar);
	}
	if (opt->flag)
		snprintf(buf, len, "-%c, --%s%s", opt->flag, opt->name, value);
	else
		snprintf(buf, len, "--%s%s", opt->name, value);
}

/*
 * " (default N)" from the command's defaults; a list's bound. A number
 * below the option's minimum is no value a user could give: "not set",
 * which the help text says in words.
 */
static void option_default(const struct cli_command *cmd,
			   const struct cli_option *opt, char *buf, size_t len)
{
	const void *field = (const char *)cmd->defaults + opt->field;

	buf[0] = '\0';
	if (opt->type == CLI_U32 && *(const uint32_t *)field >= opt->min)
		snprintf(buf, len, " (default %u)", *(const uint32_t *)field);
	else if (opt->type == CLI_ENUM)
		snprintf(buf, len, " (default %s)",
			 opt->names[*(const int *)field]);
	else if (opt->type == CLI_STRINGS)
		snprintf(buf, len, " (at most %u)", opt->max);
	else if (opt->type == CLI_STRING && *(const char *const *)field)
		snprintf(buf, len, " (default '%s')",
			 *(const char *const *)field);
}

static void print_option_help(const struct cli_command *cmd,
			      const struct cli_option *opt)
{
	struct help_line line = {};
	char label[96], dflt[64];

	option_label(opt, label, sizeof(label));
	/* A label too long for its column has its help after two spaces. */
	line.col = printf("  %-*s ", HELP_INDENT - 3, label);
	if (line.col > HELP_INDENT)
		line.col += printf(" ");
	option_default(cmd, opt, dflt, sizeof(dflt));
	print_wrapped(&line, opt->help);
	print_wrapped(&line, dflt);
	putchar('\n');
}

void cli_print_help(const struct cli_command *cmd)
{
	const struct cli_option *opt;

	printf("usage: veer %s %s\n\n%s.\n%s%s", cmd->name, cmd->args,
	       cmd->summary, *cmd->details || cmd->options[0].name ? "\n" : "",
	       cmd->details);
	for (opt = cmd->options; opt->name; opt++)
		print_option_help(cmd, opt);
}
