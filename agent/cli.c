// SPDX-License-Identifier: GPL-2.0
/*
 * Command line: quixote-export's letters plus long options, all in one table
 * (cli_opts in cli_opts.c; its entry type is described in cli.h).  getopt's tables,
 * the parsing, the range checks and the modes an option applies to come from
 * it; cli_doc.c makes --help, the man page and the completion from it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "budget.h"
#include "cli.h"
#include "formats.h"
#include "proto.h"
#include "sink.h"
#include "sink_spool.h"

#define DEFAULT_RINGBUF (16u << 20)
/* getopt_long's value for an option without a letter: its table index + this */
#define LONG_BASE     256
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

const char *sf_mode_name(enum sf_mode m)
{
	static const char *const names[] = {
		[SF_MODE_NONE] = "none",
		[SF_MODE_CONTAINER] = "container",
		[SF_MODE_PROCESS] = "process",
		[SF_MODE_EXECUTE] = "execute",
		[SF_MODE_ROOT] = "root",
		[SF_MODE_SHOW] = "show",
		[SF_MODE_DAEMON] = "daemon",
		[SF_MODE_INJECT] = "inject-hook",
	};
	return names[m];
}

const char *cli_opt_flag(const struct sf_opt *d, char buf[static 64])
{
	if (d->letter)
		snprintf(buf, 64, "-%c", d->letter);
	else
		snprintf(buf, 64, "--%s", d->name);
	return buf;
}

const struct sf_opt *cli_mode_opt(enum sf_mode m)
{
	for (size_t i = 0; i < cli_opts_count; i++)
		if (cli_opts[i].mode == m && m != SF_MODE_NONE)
			return &cli_opts[i];
	return NULL;
}

/* How a mode is named in messages: its option ("-X"), "-w" for container. */
static const char *mode_flag(enum sf_mode m, char buf[static 64])
{
	const struct sf_opt *d = cli_mode_opt(m);

	if (!d)
		return strcpy(buf, "-w");
	return cli_opt_flag(d, buf);
}

int cli_set_mode(struct sf_options *o, enum sf_mode m, struct sf_error **err)
{
	char a[64], b[64];

	if (o->mode != SF_MODE_NONE && o->mode != m)
		return sf_usage(
			err,
			"options %s and %s cannot be combined: choose one mode",
			mode_flag(o->mode, a), mode_flag(m, b));
	o->mode = m;
	return 0;
}

static int parse_ulong(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int bad_value(const struct sf_opt *d, const char *arg,
		     struct sf_error **err)
{
	if (d->bad)
		return sf_usage(err, d->bad, arg);
	return sf_usage(err, "bad --%s `%s`: want %lu-%lu", d->name, arg,
			d->min, d->max);
}

/* Stores one option's value into o, as its table entry says. */
static int apply(struct sf_options *o, const struct sf_opt *d, const char *arg,
		 struct sf_error **err)
{
	char *field = (char *)o + d->off;
	unsigned long v;

	switch (d->kind) {
	case SF_OPT_MODE:
		return cli_set_mode(o, d->mode, err);
	case SF_OPT_BOOL:
		*(bool *)field = true;
		return 0;
	case SF_OPT_COUNT:
		++*(int *)field;
		return 0;
	case SF_OPT_STR:
		if (d->bad && !*arg)
			return sf_usage(err, "%s", d->bad);
		*(const char **)field = arg;
		return 0;
	case SF_OPT_PATH:
		if (arg[0] != '/')
			return bad_value(d, arg, err);
		*(const char **)field = arg;
		return 0;
	case SF_OPT_UINT:
	case SF_OPT_INT:
	case SF_OPT_U64:
		if (parse_ulong(arg, d->min, d->max, &v) < 0)
			return bad_value(d, arg, err);
		if (d->kind == SF_OPT_UINT)
			*(unsigned *)field = v;
		else if (d->kind == SF_OPT_INT)
			*(int *)field = v;
		else
			*(uint64_t *)field = (uint64_t)v << d->shift;
		return 0;
	case SF_OPT_FUNC:
		return d->parse(o, d, arg, err);
	case SF_OPT_SECTION:
		break;
	}
	return 0;
}

/* getopt_long's tables, made from cli_opts.  Freed by getopt_tables_free. */
struct getopt_tables {
	struct option *longs;
	char shorts[2 + 3 * 64];
};

static void getopt_tables_make(struct getopt_tables *t)
{
	size_t n = 0, s = 0;

	t->longs = xzalloc((cli_opts_count + 1) * sizeof(*t->longs));
	/* "+": options stop at the program (-X ls -l); ":": tell a missing value */
	t->shorts[s++] = '+';
	t->shorts[s++] = ':';
	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];
		bool has_arg = d->arg != NULL;

		if (d->kind == SF_OPT_SECTION)
			continue;
		t->longs[n++] = (struct option){
			.name = d->name,
			.has_arg = has_arg ? required_argument : no_argument,
			.val = d->letter ? d->letter : LONG_BASE + (int)i,
		};
		if (d->letter && s + 3 < sizeof(t->shorts)) {
			t->shorts[s++] = d->letter;
			if (has_arg)
				t->shorts[s++] = ':';
		}
	}
	t->shorts[s] = '\0';
}

static const struct sf_opt *opt_of_val(int c)
{
	if (c >= LONG_BASE && (size_t)(c - LONG_BASE) < cli_opts_count)
		return &cli_opts[c - LONG_BASE];
	for (size_t i = 0; i < cli_opts_count; i++)
		if (cli_opts[i].letter && cli_opts[i].letter == c)
			return &cli_opts[i];
	return NULL;
}

static int getopt_error(int c, char **argv, struct sf_error **err)
{
	if (c == ':') {
		if (optopt && optopt < LONG_BASE)
			return sf_usage(
				err,
				"option -%c needs an argument (see --help)",
				optopt);
		return sf_usage(err,
				"option `%s` needs an argument (see --help)",
				argv[optind - 1]);
	}
	if (optopt)
		return sf_usage(err, "unknown option -%c (see --help)", optopt);
	return sf_usage(err, "unknown option `%s` (see --help)",
			argv[optind - 1]);
}

static void set_defaults(struct sf_options *o)
{
	memset(o, 0, sizeof(*o));
	o->port = 1883;
	o->queue_size = 1000;
	o->format = SF_FORMAT_DEFAULT;
	o->duration = 10;
	o->ringbuf_bytes = DEFAULT_RINGBUF;
	o->mqtt_qos = 1;
	o->mqtt_batch = 1;
	o->nats_batch = 1;
	o->drain_timeout = 10;
	o->spool_max = SINK_SPOOL_MAX_DEFAULT;
	o->spool_total = 1ull << 30;
	o->http_batch = 1000;
	o->http_interval_ms = 1000;
	o->flow_interval = 30; /* SysFlow's own default */
	budget_opt_defaults(o);
	o->bundle_dir = getenv("SFAGENT_BUNDLES");
	if (!o->bundle_dir || !*o->bundle_dir)
		o->bundle_dir = "/var/lib/sfagent/bundles";
}

/* Runs getopt over argv; seen[i] tells which table entries were given. */
static int parse_options(int argc, char **argv, struct sf_options *o,
			 bool *seen, struct sf_error **err)
{
	struct getopt_tables t;
	const struct sf_opt *d;
	int c, ret = 0;

	getopt_tables_make(&t);
	optind = 1;
	opterr = 0;
	while (ret == 0 &&
	       (c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
		d = (c == ':' || c == '?') ? NULL : opt_of_val(c);
		if (!d) {
			ret = getopt_error(c, argv, err);
			break;
		}
		seen[d - cli_opts] = true;
		ret = apply(o, d, optarg, err);
		if (ret == 0 && d->stop)
			ret = 1;
	}
	free(t.longs);
	return ret;
}

/* "-w NAME, -P, -X and -R": the modes in a SF_MB set, in enum order */
static const char *modes_list(unsigned set, char buf[static 256])
{
	char f[64];
	size_t len = 0, n = 0, total = 0;

	for (int m = SF_MODE_NONE + 1; m < SF_MODE_COUNT; m++)
		total += !!(set & SF_MB(m));
	buf[0] = '\0';
	for (int m = SF_MODE_NONE + 1; m < SF_MODE_COUNT && len < 200; m++) {
		if (!(set & SF_MB(m)))
			continue;
		n++;
		len += snprintf(buf + len, 256 - len, "%s%s%s",
				n == 1	     ? ""
				: n == total ? " and "
					     : ", ",
				mode_flag(m, f),
				m == SF_MODE_CONTAINER ? " NAME" : "");
	}
	return buf;
}

/* The options given that the mode does not take. */
static int check_modes(const struct sf_options *o, const bool *seen,
		       struct sf_error **err)
{
	char flag[64], mflag[64], list[256];

	for (size_t i = 0; i < cli_opts_count; i++) {
		const struct sf_opt *d = &cli_opts[i];

		if (!seen[i] || !d->modes || (d->modes & SF_MB(o->mode)))
			continue;
		if (d->modes_bad)
			return sf_usage(err, "%s", d->modes_bad);
		return sf_usage(
			err,
			"%s does not apply to %s mode (%s): remove it (it applies to %s)",
			cli_opt_flag(d, flag), sf_mode_name(o->mode),
			mode_flag(o->mode, mflag), modes_list(d->modes, list));
	}
	return 0;
}

/* What the arguments after the options, the mode and its output must be. */
static int check_combinations(const struct sf_options *o, struct sf_error **err)
{
	if (o->mode == SF_MODE_NONE)
		return sf_usage(
			err,
			"no mode given: use -X, -P, -R, -w NAME, -S or -D (see --help)");
	if (o->mode == SF_MODE_EXECUTE && o->argc == 0)
		return sf_usage(
			err,
			"-X needs a program to run: sfagent -X -o FILE -- PROGRAM [ARGS...]");
	if (o->mode != SF_MODE_EXECUTE && o->argc > 0)
		return sf_usage(
			err,
			"unexpected argument `%s` (only -X runs a program)",
			o->argv[0]);
	if (o->mode == SF_MODE_DAEMON && o->output)
		return sf_usage(
			err,
			"-o does not apply to daemon mode: each container's export comes from its io.sfagent.export annotation, files go to --output-dir");
	return 0;
}

static int check_output(const struct sf_options *o, struct sf_error **err)
{
	if ((SF_MB(o->mode) & SF_MB_LOCAL) && !o->output && !o->broker &&
	    !o->http_url && !o->nats_url)
		return sf_usage(
			err,
			"no output given: use -o FILE ('-' for stdout), -b BROKER, --http URL or --nats URL");
	return 0;
}

/* Combinations of sink options that cannot work, refused before anything starts. */
static int check_sinks(const struct sf_options *o, struct sf_error **err)
{
	if ((o->rotate_secs || o->max_size || o->max_files) &&
	    o->mode != SF_MODE_DAEMON &&
	    (!o->output || strcmp(o->output, "-") == 0))
		return sf_usage(
			err,
			"-G, --max-size and --max-files rotate an output file: give -o FILE (not stdout), or use them with -D");
	if (o->max_files && !o->rotate_secs && !o->max_size)
		return sf_usage(
			err, "--max-files needs -G SECONDS or --max-size MB");
	/* an Avro container file is one document with one writer: no message
	 * sinks, no per-output copies (docs/formats.md) */
	if (o->format && strcmp(o->format, "sysflow") == 0 &&
	    (o->broker || o->http_url || o->nats_url))
		return sf_usage(
			err,
			"-F sysflow writes an Avro file: use -o FILE (MQTT, HTTP and NATS take json, quixote or cadets)");
	if (o->format && strcmp(o->format, "sysflow") == 0 && o->file_filter)
		return sf_usage(
			err,
			"-F sysflow has one output: filter it with -f EXPR, not --file-filter");
	if (o->mqtt_filter && !o->broker)
		return sf_usage(err,
				"--mqtt-filter needs a broker: add -b HOST");
	if (o->http_filter && !o->http_url)
		return sf_usage(err, "--http-filter needs --http URL");
	if (o->file_filter && !o->output && o->mode != SF_MODE_DAEMON)
		return sf_usage(err, "--file-filter needs -o FILE");
	if ((o->mqtt_user || o->mqtt_password_file || o->mqtt_cafile ||
	     o->mqtt_cert || o->mqtt_key || o->mqtt_client_id || o->topic) &&
	    !o->broker)
		return sf_usage(
			err,
			"MQTT options (-t, --topic-template, --mqtt-*) need a broker: add -b HOST");
	if (o->mqtt_password_file && !o->mqtt_user)
		return sf_usage(err, "--mqtt-password-file needs --mqtt-user");
	if (!!o->mqtt_cert != !!o->mqtt_key)
		return sf_usage(err, "--mqtt-cert and --mqtt-key go together");
	if ((o->http_nheaders || o->http_cafile) && !o->http_url)
		return sf_usage(err, "--http-* options need --http URL");
	if ((o->nats_subject || o->nats_stream || o->nats_create_stream ||
	     o->nats_replicas || o->nats_creds || o->nats_user ||
	     o->nats_password_file || o->nats_cafile || o->nats_cert ||
	     o->nats_key || o->nats_batch != 1) &&
	    !o->nats_url)
		return sf_usage(err, "--nats-* options need --nats URL");
	if ((o->nats_create_stream || o->nats_replicas) && !o->nats_stream)
		return sf_usage(
			err,
			"--nats-create-stream and --nats-replicas need --nats-stream NAME");
	if (o->nats_password_file && !o->nats_user)
		return sf_usage(err, "--nats-password-file needs --nats-user");
	if (!!o->nats_cert != !!o->nats_key)
		return sf_usage(err, "--nats-cert and --nats-key go together");
	return 0;
}

/* What can be checked now is, before the probe loads: the topic, the files. */
static int check_sink_values(const struct sf_options *o, struct sf_error **err)
{
	const char *files[] = {o->mqtt_password_file, o->mqtt_cafile,
			       o->mqtt_cert,	      o->mqtt_key,
			       o->http_cafile,	      o->nats_creds,
			       o->nats_password_file, o->nats_cafile,
			       o->nats_cert,	      o->nats_key};
	const char *names[] = {"--mqtt-password-file", "--mqtt-cafile",
			       "--mqtt-cert",	       "--mqtt-key",
			       "--http-cafile",	       "--nats-creds",
			       "--nats-password-file", "--nats-cafile",
			       "--nats-cert",	       "--nats-key"};

	if (o->topic) {
		char *t = sink_topic_expand(o->topic, "h", "w", "c", err);
		char *t2;
		bool same;

		if (!t)
			return -1;
		t2 = sink_topic_expand(o->topic, "h", "w2", "c2", NULL);
		same = t2 && !strcmp(t, t2);
		free(t);
		free(t2);
		if (same && o->mode == SF_MODE_DAEMON)
			return sf_usage(
				err,
				"topic template `%s` has neither %%w nor %%c: every container would publish to one topic (try 'sfagent/%%h/%%w')",
				o->topic);
	}
	if (o->nats_subject) {
		char *t = sink_topic_expand_nats(o->nats_subject, "h", "w", "c",
						 err);

		if (!t)
			return -1;
		free(t);
	}
	/* JetStream takes a stream's name into its API subjects and its
	 * store's directory: refused here in one line, not by a server as a
	 * timeout or an error number */
	if (o->nats_stream)
		for (const char *p = o->nats_stream; *p; p++)
			if (*p <= ' ' || *p > '~' || strchr(".*>/\\", *p))
				return sf_usage(
					err,
					"bad --nats-stream `%s`: a JetStream stream name has no spaces, control characters, `.`, `*`, `>`, `/` or `\\`",
					o->nats_stream);
	for (size_t i = 0; i < ARRAY_SIZE(files); i++)
		if (files[i] && access(files[i], R_OK) < 0)
			return sf_fail(
				err, 0,
				"cannot read %s `%s`: %s: give a file this user can read",
				names[i], files[i], strerror(errno));
	return 0;
}

/* The default socket's is /run/sfagent/watch.sock; another --socket S gets
 * S's name with -watch (a.sock: a-watch.sock), so two agents on two
 * sockets never share a watch socket. */
static const char *watch_socket_beside(const char *hook_socket)
{
	static char buf[4096];
	size_t n = strlen(hook_socket);

	if (!strcmp(hook_socket, "/run/sfagent/sfagent.sock"))
		return "/run/sfagent/watch.sock";
	if (n > 5 && !strcmp(hook_socket + n - 5, ".sock"))
		n -= 5;
	snprintf(buf, sizeof(buf), "%.*s-watch.sock", (int)n, hook_socket);
	return buf;
}

int sf_parse_args(int argc, char **argv, struct sf_options *o,
		  struct sf_error **err)
{
	cleanup_free bool *seen = xzalloc(cli_opts_count * sizeof(*seen));
	int r;

	set_defaults(o);
	r = parse_options(argc, argv, o, seen, err);
	if (r != 0)
		return r < 0 ? -1 : 0; /* an error, or --help/--version */
	o->argc = argc - optind;
	o->argv = argv + optind;
	if (o->mode == SF_MODE_NONE && o->workload)
		o->mode = SF_MODE_CONTAINER;
	if (check_combinations(o, err) < 0 || check_modes(o, seen, err) < 0)
		return -1;
	if (!o->socket_path)
		o->socket_path = SF_SOCKET_DEFAULT;
	if (!o->output_dir)
		o->output_dir = "/var/log/sfagent";
	if (!o->seccomp_dir)
		o->seccomp_dir = "/etc/sfagent/seccomp";
	if (!o->watch_socket)
		o->watch_socket = watch_socket_beside(o->socket_path);
	if (!o->access_file)
		o->access_file = "/etc/sfagent/access";
	if (check_output(o, err) < 0 || check_sinks(o, err) < 0 ||
	    budget_opt_check(o, err) < 0)
		return -1;
	return check_sink_values(o, err);
}
