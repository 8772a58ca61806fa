// SPDX-License-Identifier: GPL-2.0
/*
 * The documents made from the option table (cli_opts.c): --help, and with
 * `sfagent --doc NAME` (for make install) the man page sfagent(8), the bash
 * completion and the sample /etc/default/sfagent.  Text that is not about
 * one option (examples, exit status, signals, environment) is written once
 * here.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define HELP_COL 24

static const char *const examples[] = {
	"sfagent -X -w build -o build.jsonl -- make -j2",
	"sfagent -P -w shell -o -",
	"sfagent -R -o host.jsonl --duration 30",
	"sfagent -S -B bundles",
	"sfagent -w shell-demo -B bundles -o demo.jsonl",
	"sfagent -X -b 127.0.0.1 -t 'lab/%w' -- ./job",
	"sfagent -R -f -o host.jsonl -G 3600 --max-files 24",
	"sfagent -D --output-dir /var/log/sfagent",
};

static const char exit_status[] =
	"the program's in -X/-P modes (128+N when killed by signal N,\n"
	"126/127 when it cannot be run), the container's with -w NAME;\n"
	"otherwise 0 success, 1 environment error, 2 usage error.";

static const char signals[] =
	"SIGINT, SIGTERM  end the stream(s) with stream.end and exit; -X/-P send\n"
	"                 the program SIGTERM first, -w forwards the signal to\n"
	"                 the container (runc kill), -D ends every stream\n"
	"SIGHUP           reopen the output files (logrotate): -o FILE, with -D\n"
	"                 the stream files in --output-dir; in every mode, never\n"
	"                 forwarded to the program or the container\n"
	"stdout closed    (-o - and its reader gone, EPIPE): as SIGTERM";

/* the commands that read streams rather than make them (agent/viewer/) */
static const char commands[] =
	"sfagent show [--filter EXPR] [--tree] FILE|DIR...   stored streams\n"
	"sfagent watch [--socket PATH] [--filter EXPR] [NAME...]   live events of -D\n"
	"sfagent status [--socket PATH] [--json]   -D's streams and counts\n"
	"(each with --help; docs/watch.md)";

static const char environment[] =
	"SFAGENT_BUNDLES        bundle directory when -B is not given\n"
	"SFAGENT_MQTT_PASSWORD  MQTT password for --mqtt-user";

/* "  -o, --output FILE" */
static int help_left(const struct sf_opt *d, char *buf, size_t n)
{
	return snprintf(buf, n, "  %c%c%s--%s%s%s", d->letter ? '-' : ' ',
			d->letter ? d->letter : ' ', d->letter ? ", " : "  ",
			d->name, d->arg ? " " : "", d->arg ? d->arg : "");
}

static void help_text(FILE *f, const char *text, int col)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(f, "%.*s\n", (int)n, p);
		p += n;
		if (*p == '\n' && *++p)
			fprintf(f, "%*s", col, "");
	}
}

/* a heading's lines, indented */
static void help_section(FILE *f, const char *text)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		fprintf(f, "  %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void cli_doc_help(FILE *f)
{
	char left[128];

	fputs("Usage: sfagent MODE [OPTIONS] [-- PROGRAM [ARGS...]]\n"
	      "Per-workload security event exporter (eBPF, cgroup filtered).\n",
	      f);
	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];
		int n;

		if (d->hidden)
			continue;
		if (d->kind == SF_OPT_SECTION) {
			fprintf(f, "\n%s:\n", d->help);
			continue;
		}
		n = help_left(d, left, sizeof(left));
		/* a long option name puts its help on the next line */
		if (n < HELP_COL)
			fprintf(f, "%s%*s", left, HELP_COL - n, "");
		else
			fprintf(f, "%s\n%*s", left, HELP_COL, "");
		help_text(f, d->help, HELP_COL);
	}
	fputs("\nCommands:\n", f);
	help_section(f, commands);
	fputs("\nEnvironment:\n", f);
	help_section(f, environment);
	fputs("\nExamples:\n", f);
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		fprintf(f, "  %s\n", examples[i]);
	fputs("\nSignals:\n", f);
	help_section(f, signals);
	fprintf(f, "\nExit status: %s\n", exit_status);
	fputs("Man page: sfagent(8); docs/ in the source tree.\n", f);
}

/* troff: a leading '.' or '\'' would be a request; '-' is a hyphen; '\' escapes */
static void man_text(FILE *f, const char *s)
{
	bool bol = true;

	for (; *s; s++) {
		if (bol && (*s == '.' || *s == '\''))
			fputs("\\&", f);
		bol = *s == '\n';
		if (*s == '-')
			fputs("\\-", f);
		else if (*s == '\\')
			fputs("\\e", f);
		else
			fputc(*s, f);
	}
}

static void man_option(FILE *f, const struct sf_opt *d)
{
	fputs(".TP\n", f);
	if (d->letter)
		fprintf(f, "\\fB\\-%c\\fR, ", d->letter);
	fputs("\\fB", f);
	fputs("\\-\\-", f);
	man_text(f, d->name);
	fputs("\\fR", f);
	if (d->arg) {
		fputs(" \\fI", f);
		man_text(f, d->arg);
		fputs("\\fR", f);
	}
	fputc('\n', f);
	/* the help's line breaks are for a terminal; the man page reflows */
	for (const char *p = d->help; *p; p++) {
		if (*p == '\n')
			fputc(' ', f);
		else {
			char c[2] = {*p, 0};

			man_text(f, c);
		}
	}
	fputc('\n', f);
}

static void man_lines(FILE *f, const char *text)
{
	fputs(".nf\n", f);
	man_text(f, text);
	fputs("\n.fi\n", f);
}

/* SOURCE_DATE_EPOCH (reproducible builds), else today */
static const char *man_date(char *buf, size_t n)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");
	time_t t = e && *e ? (time_t)strtoll(e, NULL, 10) : time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, n, "%Y-%m-%d", &tm);
	return buf;
}

void cli_doc_man(FILE *f)
{
	char date[32];

	fprintf(f,
		".TH SFAGENT 8 %s \"sfagent %s\" \"System Administration\"\n",
		man_date(date, sizeof(date)), SF_VERSION);
	fputs(".SH NAME\nsfagent \\- per\\-workload security event exporter (eBPF, cgroup filtered)\n"
	      ".SH SYNOPSIS\n.B sfagent\n\\fIMODE\\fR [\\fIOPTIONS\\fR] [\\fB\\-\\-\\fR \\fIPROGRAM\\fR [\\fIARGS\\fR...]]\n.br\n.B sfagent show\\fR|\\fBwatch\\fR|\\fBstatus\\fR [\\fIOPTIONS\\fR] ...\n"
	      ".SH DESCRIPTION\n"
	      "sfagent gives every workload its own stream of security events, taken by eBPF programs on tracepoints and kept by cgroup.\n"
	      "Run as root for every mode but \\fB\\-S\\fR and \\fB\\-\\-inject\\-hook\\fR.\n"
	      "In daemon mode (\\fB\\-D\\fR) it serves the OCI hook \\fBsfhook\\fR(8), which registers each container before it starts.\n"
	      ".SH OPTIONS\n",
	      f);
	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];

		if (d->hidden)
			continue;
		if (d->kind == SF_OPT_SECTION) {
			fputs(".SS ", f);
			man_text(f, d->help);
			fputc('\n', f);
			continue;
		}
		man_option(f, d);
	}
	fputs(".SH COMMANDS\n", f);
	man_lines(f, commands);
	fputs(".SH ENVIRONMENT\n", f);
	man_lines(f, environment);
	fputs(".SH SIGNALS\n", f);
	man_lines(f, signals);
	fputs(".SH EXIT STATUS\n", f);
	man_text(f, exit_status);
	fputs("\n.SH EXAMPLES\n", f);
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		fputs(i ? ".PP\n.nf\n" : ".nf\n", f);
		man_text(f, examples[i]);
		fputs("\n.fi\n", f);
	}
	fputs(".SH SEE ALSO\n\\fBsfhook\\fR(8), \\fBsfagent\\-filters\\fR(7), \\fBrunc\\fR(8)\n",
	      f);
}

/* bash: complete the option names, and the values the table knows of */
void cli_doc_completion(FILE *f)
{
	fputs("# bash completion for sfagent; made by sfagent --doc bash-completion\n"
	      "_sfagent()\n{\n"
	      "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	      "\tcase $prev in\n",
	      f);
	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];

		if (d->hidden || d->kind == SF_OPT_SECTION || !d->arg)
			continue;
		fprintf(f, "\t--%s", d->name);
		if (d->letter)
			fprintf(f, "|-%c", d->letter);
		if (!d->complete)
			fputs(") return ;;\n", f);
		else if (!strcmp(d->complete, "file"))
			fputs(") COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n",
			      f);
		else if (!strcmp(d->complete, "dir"))
			fputs(") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n",
			      f);
		else if (!strcmp(d->complete, "bundle"))
			fputs(") COMPREPLY=($(compgen -W \"$(sfagent -S 2>/dev/null | awk 'NR>1{print $1}')\" -- \"$cur\")); return ;;\n",
			      f);
		else
			fprintf(f,
				") COMPREPLY=($(compgen -W '%s' -- \"$cur\")); return ;;\n",
				d->complete);
	}
	fputs("\tesac\n\tif [[ $cur == -* ]]; then\n\t\tCOMPREPLY=($(compgen -W '",
	      f);
	for (size_t i = 0, first = 1; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];

		if (d->hidden || d->kind == SF_OPT_SECTION)
			continue;
		fprintf(f, "%s--%s", first ? "" : " ", d->name);
		if (d->letter)
			fprintf(f, " -%c", d->letter);
		first = 0;
	}
	fputs("' -- \"$cur\"))\n\telse\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n\tfi\n}\n"
	      "complete -F _sfagent sfagent\n",
	      f);
}

/* The sample /etc/default/sfagent: every option -D takes, commented out. */
void cli_doc_default(FILE *f)
{
	char left[128];

	fputs("# /etc/default/sfagent: options of the sfagent service (sfagent.service,\n"
	      "# EnvironmentFile=-/etc/default/sfagent).  The unit runs\n"
	      "#   sfagent -D --socket /run/sfagent/sfagent.sock --output-dir /var/log/sfagent $SFAGENT_OPTS\n"
	      "# SFAGENT_OPTS is split at spaces and not otherwise parsed: no quotes inside.\n"
	      "# Example:\n"
	      "#   SFAGENT_OPTS=\"-e node-a -b broker.example --topic-template sfagent/%h/%c\"\n"
	      "# The MQTT password (with --mqtt-user) can be set here too, as\n"
	      "#   SFAGENT_MQTT_PASSWORD=...  (make this file mode 0600 then)\n"
	      "#\n"
	      "# The options -D takes (sfagent --help, man sfagent); --socket and\n"
	      "# --output-dir are set by the unit:\n",
	      f);
	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];
		int n;

		if (d->hidden || d->kind == SF_OPT_SECTION ||
		    d->mode != SF_MODE_NONE || d->stop ||
		    (d->modes && !(d->modes & SF_MB(SF_MODE_DAEMON))))
			continue;
		n = help_left(d, left, sizeof(left));
		fprintf(f, "#%s", left);
		if (n < HELP_COL)
			fprintf(f, "%*s", HELP_COL - n, "");
		else
			fprintf(f, "\n#%*s", HELP_COL, "");
		for (const char *p = d->help; *p; p++) {
			fputc(*p, f);
			if (*p == '\n' && p[1])
				fprintf(f, "#%*s", HELP_COL, "");
		}
		fputc('\n', f);
	}
	fputs("#\n#SFAGENT_OPTS=\"\"\n", f);
}

static const struct {
	const char *name;
	cli_doc_fn fn;
} docs[] = {
	{"man", cli_doc_man},
	{"bash-completion", cli_doc_completion},
	{"default", cli_doc_default},
};

cli_doc_fn cli_doc_find(const char *name)
{
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (!strcmp(docs[i].name, name))
			return docs[i].fn;
	return NULL;
}

const char *cli_doc_names(void)
{
	return "man, bash-completion, default";
}
