// SPDX-License-Identifier: GPL-2.0
/* Command-line parsing: modes, values, and the usage errors. */
#include "cli.h"
#include "options.h"
#include "tap.h"

/* A document made from the option table, in memory. */
static char *doc(void (*fn)(FILE *))
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f);
	fclose(f);
	return buf;
}

/* The table itself: unique names and letters, each option documented. */
static void check_table(void)
{
	bool unique = true, documented = true, ranged = true;

	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];

		if (d->kind == SF_OPT_SECTION)
			continue;
		if (!d->hidden && (!d->help || !*d->help))
			documented = false;
		if ((d->kind == SF_OPT_UINT || d->kind == SF_OPT_INT ||
		     d->kind == SF_OPT_U64) &&
		    (d->min > d->max || !d->arg))
			ranged = false;
		for (size_t j = 0; j < i; j++) {
			if (cli_opts[j].kind == SF_OPT_SECTION)
				continue;
			if (!strcmp(d->name, cli_opts[j].name) ||
			    (d->letter && d->letter == cli_opts[j].letter))
				unique = false;
		}
	}
	ok(unique, "option table: long names and letters are unique");
	ok(documented, "option table: every visible option has help text");
	ok(ranged,
	   "option table: numeric options have a range and a value name");
}

/* Every visible option appears in --help, the man page and the completion,
 * and --help fits 80 columns. */
static void check_docs(void)
{
	char *help = doc(cli_doc_help), *man = doc(cli_doc_man);
	char *comp = doc(cli_doc_completion);
	bool in_help = true, in_man = true, in_comp = true, narrow = true;
	char want[96];

	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];
		char *p, *q;

		if (d->kind == SF_OPT_SECTION || d->hidden)
			continue;
		snprintf(want, sizeof(want), "--%s", d->name);
		if (!strstr(help, want) || !strstr(comp, want)) {
			in_help = in_help && strstr(help, want);
			in_comp = in_comp && strstr(comp, want);
			printf("#   not documented: %s\n", want);
		}
		/* the man page writes --name as \-\-name, '-' as \- */
		q = want;
		q += snprintf(q, sizeof(want), "\\-\\-");
		for (p = (char *)d->name; *p && q < want + sizeof(want) - 3;
		     p++)
			q += *p == '-' ? sprintf(q, "\\-")
				       : sprintf(q, "%c", *p);
		if (!strstr(man, want)) {
			in_man = false;
			printf("#   not in the man page: %s\n", want);
		}
	}
	for (char *l = help; *l;) {
		size_t n = strcspn(l, "\n");

		if (n > 80) {
			narrow = false;
			printf("#   too wide: %.*s\n", (int)n, l);
		}
		l += n + (l[n] == '\n');
	}
	ok(in_help, "every option is in --help");
	ok(in_man, "every option is in the man page");
	ok(in_comp, "every option is in the bash completion");
	ok(narrow, "--help fits 80 columns");
	ok(strstr(help, "SFAGENT_BUNDLES") && strstr(help, "--btf") &&
		   strstr(help, "--mqtt-drain-timeout") &&
		   strstr(help, "sfagent-EXPORTER-PID-N"),
	   "--help names SFAGENT_BUNDLES, --btf, --mqtt-drain-timeout, the real client id");
	ok(!strncmp(man, ".TH SFAGENT 8", 13), "the man page is sfagent(8)");
	free(help);
	free(man);
	free(comp);
}

static int parse(struct sf_options *o, struct sf_error **err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "sfagent";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	sf_error_free(*err);
	*err = NULL;
	return sf_parse_args(argc, argv, o, err);
}

#define usage_err(o, err, needle, ...)                                      \
	do {                                                                \
		int r_ = parse(o, err, __VA_ARGS__, NULL);                  \
		ok(r_ < 0 && *(err) && (*(err))->status == SF_EXIT_USAGE && \
			   strstr((*(err))->msg, needle),                   \
		   "usage error: %s", needle);                              \
		if (*(err))                                                 \
			printf("#   message: %s\n", (*(err))->msg);         \
	} while (0)

int main(void)
{
	struct sf_error *err = NULL;
	struct sf_options o;

	ok(parse(&o, &err, "-X", "-w", "n", "-o", "f", "--", "ls", "-l",
		 NULL) == 0 &&
		   o.mode == SF_MODE_EXECUTE && o.argc == 2 &&
		   strcmp(o.argv[1], "-l") == 0 && strcmp(o.workload, "n") == 0,
	   "-X with program and its own options");
	ok(parse(&o, &err, "-X", "-o", "f", "ls", "-l", NULL) == 0 &&
		   o.argc == 2,
	   "options stop at the program without --");
	ok(parse(&o, &err, "-w", "bundle", "-o", "f", NULL) == 0 &&
		   o.mode == SF_MODE_CONTAINER,
	   "-w alone is container mode");
	ok(parse(&o, &err, "-R", "-o", "-", "-f", NULL) == 0 && o.follow,
	   "-R -f");
	ok(parse(&o, &err, "-R", "-o", "x", "--duration", "30", NULL) == 0 &&
		   o.duration == 30,
	   "--duration");
	ok(parse(&o, &err, "-R", "-o", "x", "--ringbuf-size", "64K", NULL) ==
			   0 &&
		   o.ringbuf_bytes == 65536,
	   "--ringbuf-size with suffix");
	ok(parse(&o, &err, "-S", NULL) == 0 && o.mode == SF_MODE_SHOW,
	   "-S needs no output");
	ok(parse(&o, &err, "-R", "-b", "localhost", "-p", "8883", "-t", "t",
		 NULL) == 0 &&
		   o.port == 8883 && strcmp(o.broker, "localhost") == 0,
	   "MQTT flags parse");
	ok(parse(&o, &err, "--help", NULL) == 0 && o.help, "--help");
	ok(parse(&o, &err, "--version", NULL) == 0 && o.version, "--version");
	ok(parse(&o, &err, "-h", NULL) == 0 && o.help, "-h is --help");
	ok(parse(&o, &err, "-R", "-o", "x", "--help", "--bogus", NULL) == 0 &&
		   o.help,
	   "--help stops parsing");
	ok(parse(&o, &err, "-R", "-b", "h", "--mqtt-drain-timeout", "3",
		 NULL) == 0 &&
		   o.drain_timeout == 3,
	   "--mqtt-drain-timeout is --drain-timeout");
	ok(parse(&o, &err, "-R", "-o", "x", "--btf", "/b", NULL) == 0 &&
		   !strcmp(o.btf_path, "/b"),
	   "--btf");
	ok(parse(&o, &err, "-R", "-o", "x", "--max-size", "3", NULL) == 0 &&
		   o.max_size == 3u << 20,
	   "--max-size in megabytes");
	ok(parse(&o, &err, "-D", "-b", "h", "-t", "a/%c", "--socket", "/s",
		 NULL) == 0 &&
		   o.mode == SF_MODE_DAEMON && !strcmp(o.socket_path, "/s"),
	   "-D with a broker and a per-container topic");
	ok(parse(&o, &err, "--inject-hook", "b", "--socket", "/s", NULL) == 0 &&
		   o.mode == SF_MODE_INJECT && !strcmp(o.inject_bundle, "b"),
	   "--inject-hook is a mode with a value");
	ok(parse(&o, &err, "-R", "-o", "x", "-v", "-v", NULL) == 0 &&
		   o.verbose == 2,
	   "-v counts");
	setenv("SFAGENT_BUNDLES", "/env/b", 1);
	ok(parse(&o, &err, "-S", NULL) == 0 && !strcmp(o.bundle_dir, "/env/b"),
	   "SFAGENT_BUNDLES is the bundle directory");
	ok(parse(&o, &err, "-S", "-B", "/opt", NULL) == 0 &&
		   !strcmp(o.bundle_dir, "/opt"),
	   "-B overrides SFAGENT_BUNDLES");
	unsetenv("SFAGENT_BUNDLES");
	check_table();
	check_docs();

	usage_err(&o, &err, "no mode given", "-o", "x");
	usage_err(&o, &err, "options -X and -R cannot be combined", "-X", "-R",
		  "-o", "x", "ls");
	usage_err(&o, &err, "-X needs a program", "-X", "-o", "x");
	usage_err(&o, &err, "no output given", "-R");
	usage_err(&o, &err, "unknown option `--nope`", "-R", "--nope");
	usage_err(&o, &err, "unknown option -Z", "-R", "-Z");
	usage_err(&o, &err, "-o needs an argument", "-R", "-o");
	usage_err(&o, &err, "bad port `70000`", "-R", "-b", "h", "-p", "70000");
	usage_err(&o, &err, "bad port `x`", "-R", "-b", "h", "-p", "x");
	usage_err(&o, &err, "bad --duration `-1`", "-R", "-o", "x",
		  "--duration", "-1");
	usage_err(&o, &err, "power of two", "-R", "-o", "x", "--ringbuf-size",
		  "3000");
	usage_err(&o, &err, "power of two", "-R", "-o", "x", "--ringbuf-size",
		  "2048M");
	usage_err(&o, &err, "-f only applies", "-X", "-f", "-o", "x", "ls");
	usage_err(&o, &err, "unexpected argument `ls`", "-R", "-o", "x", "ls");
	usage_err(&o, &err, "non-empty workload", "-X", "-w", "", "-o", "x",
		  "ls");
	usage_err(
		&o, &err,
		"-o does not apply to show mode (-S): remove it (it applies to -w NAME, -P, -X and -R)",
		"-S", "-o", "x");
	usage_err(&o, &err, "--duration does not apply to execute mode (-X)",
		  "-X", "-o", "x", "--duration", "3", "ls");
	usage_err(&o, &err, "-o does not apply to daemon mode: each container",
		  "-D", "-o", "x");
	usage_err(&o, &err, "apply to -D and --inject-hook only", "-X",
		  "--socket", "/s", "-o", "x", "ls");
	usage_err(&o, &err, "--hook-path applies to --inject-hook only", "-D",
		  "--hook-path", "/h");
	usage_err(&o, &err, "options -D and --inject-hook cannot be combined",
		  "-D", "--inject-hook", "b");
	usage_err(&o, &err, "option `--socket` needs an argument", "-D",
		  "--socket");
	usage_err(&o, &err, "bad --max-files `0`: want 1-100000", "-R", "-o",
		  "x", "-G", "1", "--max-files", "0");
	usage_err(&o, &err, "bad --mqtt-qos `2`", "-R", "-b", "h", "--mqtt-qos",
		  "2");
	usage_err(&o, &err, "a password on the command line", "-R", "-b", "h",
		  "--mqtt-password", "x");
	usage_err(&o, &err, "want 'Name: value'", "-R", "--http", "u",
		  "--http-header", "nocolon");
	usage_err(&o, &err, "--socket `rel`: want an absolute path", "-D",
		  "--socket", "rel");
	usage_err(&o, &err, "need a broker: add -b HOST", "-R", "-o", "x", "-t",
		  "t");

	sf_error_free(err);
	return tap_done();
}
