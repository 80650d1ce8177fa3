// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer: the command that loads, attaches and configures the data plane.
 * Table-driven: each subcommand (cmd_*.c) is a struct cli_command with one
 * options struct, its defaults, its option table and its runner; cli.c
 * parses the command line and writes --help from them.
 */
#include <bpf/libbpf.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "loader.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* Without -v veer prints its own one-line error instead. */
	if (!cli.verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static const struct cli_command *const commands[] = {
	&attach_command,  &detach_command, &apply_command,   &weight_command,
	&get_command,	  &stats_command,  &status_command,  &delete_command,
	&metrics_command, &top_command,	   &rollout_command, &watch_command,
	&fleet_command,
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: veer [--pin-root DIR] [-v] COMMAND [ARGS]\n\n"
		"Weighted TCP traffic splitting between service versions, in "
		"eBPF.\n\ncommands:\n");
	for (i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i]->name,
			commands[i]->summary);
	fprintf(out,
		"\nglobal options:\n"
		"  --pin-root DIR  where maps and programs are pinned "
		"(default %s,\n"
		"                  or $%s)\n"
		"  -v, --verbose   show libbpf and verifier messages\n"
		"  -h, --help      this help; 'veer COMMAND --help' for one "
		"command\n"
		"\nenvironment:\n"
		"  VEER_WAIT       seconds a writer waits for the pin root's "
		"lock, and\n"
		"                  apply -f for a FIFO's writer (default 10)\n",
		VEER_PIN_ROOT_DEFAULT, VEER_PIN_ROOT_ENV);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pin-root", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv(VEER_PIN_ROOT_ENV);
	const struct cli_command *cmd = NULL;
	int opt, i;
	size_t c;

	cli.pin_root = VEER_PIN_ROOT_DEFAULT;
	cli.command = "veer";
	if (env && *env)
		cli.pin_root = env;
	/* '+': stop at the command; its options belong to it. */
	while ((opt = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			cli.pin_root = optarg;
			break;
		case 'v':
			cli.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (c = 0; c < COMMAND_COUNT; c++)
		if (!strcmp(argv[optind], commands[c]->name))
			cmd = commands[c];
	if (!cmd) {
		fprintf(stderr,
			"veer: unknown command '%s' (see veer --help)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	cli.command = cmd->name;
	if (cli.pin_root[0] != '/' || strlen(cli.pin_root) >= 200) {
		fail("pin root must be an absolute path under 200 bytes");
		return EXIT_USAGE;
	}
	for (i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			cli_print_help(cmd);
			return 0;
		}
		if (!strcmp(argv[i], "--"))
			break;
	}
	libbpf_set_print(libbpf_print);
	argc -= optind;
	argv += optind;
	/* 0, not 1: glibc then forgets main's '+' (stop at first word) mode. */
	optind = 0;
	/* Usage errors from getopt itself get veer's prefix. */
	opterr = 0;
	return cli_run(cmd, argc, argv);
}
