// SPDX-License-Identifier: GPL-2.0
/*
 * The option table of sfagent: every command-line option, in --help order,
 * with the value checks that do not fit a kind of cli.h.  cli.c parses with
 * it; cli_doc.c makes --help, the man page and the completion from it.
 * Adding an option: docs/hacking.md.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "budget.h"
#include "cli.h"
#include "encode.h"
#include "exehash.h"
#include "filter.h"

#define OFF(field) offsetof(struct sf_options, field)
#define DAY_SECS   (365ul * 86400)

static int opt_format(struct sf_options *o, const struct sf_opt *d,
		      const char *arg, struct sf_error **err)
{
	if (!encoder_find(arg))
		return sf_usage(err, "unknown format `%s`: choose one of %s",
				arg, encoder_names());
	o->format = arg;
	return 0;
}

/* --hash none|exec|open */
static int opt_hash(struct sf_options *o, const struct sf_opt *d,
		    const char *arg, struct sf_error **err)
{
	if (!strcmp(arg, "exec"))
		o->hash_mode = EXEHASH_EXEC;
	else if (!strcmp(arg, "none"))
		o->hash_mode = EXEHASH_NONE;
	else if (!strcmp(arg, "open"))
		o->hash_mode = EXEHASH_OPEN;
	else
		return sf_usage(err, "bad --hash `%s`: want none, exec or open",
				arg);
	return 0;
}

/* the kernel wants a power of two, at least a page */
static int opt_ringbuf(struct sf_options *o, const struct sf_opt *d,
		       const char *arg, struct sf_error **err)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = (*arg && *arg != '-') ? strtoull(arg, &end, 10) : 0;
	if (v && !errno && v <= (1ull << 30)) {
		if (*end == 'K' || *end == 'k')
			v <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			v <<= 20, end++;
		if (*end)
			v = 0;
	}
	if (!v || errno || v > (1ull << 30) || v < 4096 || (v & (v - 1)))
		return sf_usage(
			err,
			"bad --ringbuf-size `%s`: want a power of two from 4K to 1024M",
			arg);
	o->ringbuf_bytes = v;
	return 0;
}

/* BYTES[K|M|G], 0 or 1M to 1024G; ULLONG_MAX when bad */
static unsigned long long spool_bytes(const char *arg)
{
	unsigned long long v;
	char *end = NULL;

	errno = 0;
	v = (*arg >= '0' && *arg <= '9') ? strtoull(arg, &end, 10) : 0;
	if (end && end != arg && !errno && v <= (1ull << 40)) {
		if (*end == 'K' || *end == 'k')
			v <<= 10, end++;
		else if (*end == 'M' || *end == 'm')
			v <<= 20, end++;
		else if (*end == 'G' || *end == 'g')
			v <<= 30, end++;
	}
	if (!end || end == arg || *end || errno || v > (1ull << 40) ||
	    (v && v < (1u << 20)))
		return ULLONG_MAX;
	return v;
}

/* --spool-max BYTES[K|M|G]; 0: no spool */
static int opt_spool_max(struct sf_options *o, const struct sf_opt *d,
			 const char *arg, struct sf_error **err)
{
	unsigned long long v = spool_bytes(arg);

	if (v == ULLONG_MAX)
		return sf_usage(
			err,
			"bad --spool-max `%s`: want bytes (K, M, G allowed) from 1M to 1024G, or 0 for no spool",
			arg);
	o->spool_max = v;
	return 0;
}

/* --spool-total BYTES[K|M|G]; 0: no bound but --spool-max per sink */
static int opt_spool_total(struct sf_options *o, const struct sf_opt *d,
			   const char *arg, struct sf_error **err)
{
	unsigned long long v = spool_bytes(arg);

	if (v == ULLONG_MAX)
		return sf_usage(
			err,
			"bad --spool-total `%s`: want bytes (K, M, G allowed) from 1M to 1024G, or 0 for no bound across sinks",
			arg);
	o->spool_total = v;
	return 0;
}

static int opt_mqtt_password(struct sf_options *o, const struct sf_opt *d,
			     const char *arg, struct sf_error **err)
{
	return sf_usage(
		err,
		"a password on the command line is visible to every user: use --mqtt-password-file FILE or SFAGENT_MQTT_PASSWORD");
}

static int opt_mqtt_client_id(struct sf_options *o, const struct sf_opt *d,
			      const char *arg, struct sf_error **err)
{
	if (!*arg || strlen(arg) > 256)
		return sf_usage(err,
				"bad --mqtt-client-id: want 1-256 characters");
	o->mqtt_client_id = arg;
	return 0;
}

static int opt_http_header(struct sf_options *o, const struct sf_opt *d,
			   const char *arg, struct sf_error **err)
{
	if (!strchr(arg, ':') || *arg == ':' || strpbrk(arg, "\r\n"))
		return sf_usage(
			err, "bad --http-header `%s`: want 'Name: value'", arg);
	if (o->http_nheaders >=
	    (int)(sizeof(o->http_headers) / sizeof(o->http_headers[0])))
		return sf_usage(err,
				"too many --http-header options (at most 16)");
	o->http_headers[o->http_nheaders++] = arg;
	return 0;
}

static int opt_inject_hook(struct sf_options *o, const struct sf_opt *d,
			   const char *arg, struct sf_error **err)
{
	if (!*arg)
		return sf_usage(err, "--inject-hook needs a bundle directory");
	if (cli_set_mode(o, d->mode, err) < 0)
		return -1;
	o->inject_bundle = arg;
	return 0;
}

/* --doc man|bash-completion|default: for make install (hidden) */
static int opt_doc(struct sf_options *o, const struct sf_opt *d,
		   const char *arg, struct sf_error **err)
{
	if (!cli_doc_find(arg))
		return sf_usage(err, "unknown --doc `%s`: choose one of %s",
				arg, cli_doc_names());
	o->doc = arg;
	return 0;
}

/* Filters are compiled here only to refuse a bad one before anything
 * starts; the agent compiles them again for use (filter_conf_init). */
static int opt_filter(struct sf_options *o, const struct sf_opt *d,
		      const char *arg, struct sf_error **err)
{
	struct filter *f = filter_parse_arg(arg, d->name, err);
	const char *ek;

	if (!f)
		return -1;
	ek = filter_event_key(f);
	if (d->off == OFF(select) && ek) {
		filter_free(f);
		return sf_usage(
			err,
			"select: `%s` is a key of events; --select decides from the container's keys (workload, container, image, k8s.*, annotation.*)",
			ek);
	}
	filter_free(f);
	*(const char **)((char *)o + d->off) = arg;
	return 0;
}

#define FILTER_OPT(name_, field, help_, modes_)                          \
	{                                                                \
		.name = (name_), .kind = SF_OPT_FUNC, .off = OFF(field), \
		.parse = opt_filter, .arg = "EXPR", .help = (help_),     \
		.modes = (modes_)                                        \
	}

#define SECTION(title)                                  \
	{                                               \
		.kind = SF_OPT_SECTION, .help = (title) \
	}
#define MODE(long_, letter_, mode_, help_)                                 \
	{                                                                  \
		.name = (long_), .letter = (letter_), .kind = SF_OPT_MODE, \
		.mode = (mode_), .help = (help_)                           \
	}

/*
 * Every option, in --help order.  Adding one: docs/hacking.md.  Values are
 * checked here (range, non-empty, absolute path); combinations of options
 * are checked after parsing, in check_combinations() and check_sinks().
 */
const struct sf_opt cli_opts[] = {
	SECTION("Modes"),
	MODE("execute", 'X', SF_MODE_EXECUTE,
	     "run PROGRAM ARGS... in a new traced cgroup"),
	MODE("process", 'P', SF_MODE_PROCESS,
	     "run an interactive shell ($SHELL) traced"),
	MODE("root", 'R', SF_MODE_ROOT,
	     "trace the whole host (all but sfagent itself)"),
	{.name = "workload",
	 .letter = 'w',
	 .kind = SF_OPT_STR,
	 .off = OFF(workload),
	 .arg = "NAME",
	 .help = "workload name (-X/-P/-R); alone: run the bundle NAME\n(a name in the bundle directory, or a path)",
	 .bad = "-w needs a non-empty workload name",
	 .modes = SF_MB_LOCAL,
	 .complete = "bundle"},
	MODE("show", 'S', SF_MODE_SHOW,
	     "list the bundles in the bundle directory"),
	MODE("daemon", 'D', SF_MODE_DAEMON,
	     "per-host agent serving the OCI hook"),
	{.name = "inject-hook",
	 .kind = SF_OPT_FUNC,
	 .mode = SF_MODE_INJECT,
	 .parse = opt_inject_hook,
	 .arg = "DIR",
	 .help = "add sfhook (prestart+poststop) to DIR/config.json",
	 .complete = "dir"},

	SECTION("Output (one is required with -X, -P, -R and -w)"),
	{.name = "output",
	 .letter = 'o',
	 .kind = SF_OPT_STR,
	 .off = OFF(output),
	 .arg = "FILE",
	 .help = "write the stream to FILE ('-' for stdout)",
	 .bad = "-o needs a file name ('-' for stdout)",
	 .modes = SF_MB_LOCAL,
	 .complete = "file"},
	{.name = "broker",
	 .letter = 'b',
	 .kind = SF_OPT_STR,
	 .off = OFF(broker),
	 .arg = "HOST",
	 .help = "publish to the MQTT broker HOST",
	 .bad = "-b needs a broker host name or address",
	 .modes = SF_MB_STREAM},
	{.name = "http",
	 .kind = SF_OPT_STR,
	 .off = OFF(http_url),
	 .arg = "URL",
	 .help = "POST batches of JSON lines to URL (x-ndjson)",
	 .bad = "--http needs a URL (http://HOST:PORT/PATH)",
	 .modes = SF_MB_STREAM},
	{.name = "format",
	 .letter = 'F',
	 .kind = SF_OPT_FUNC,
	 .parse = opt_format,
	 .arg = "FMT",
	 .help = "output format: " SF_FORMAT_LIST
		 "\n(default " SF_FORMAT_DEFAULT ")",
	 .modes = SF_MB_STREAM,
	 .complete = SF_FORMAT_NAMES(" ")},
	{.name = "flow-interval",
	 .kind = SF_OPT_UINT,
	 .off = OFF(flow_interval),
	 .min = 1,
	 .max = DAY_SECS,
	 .arg = "SECS",
	 .help = "-F sysflow: export a flow still open every SECS\nseconds, with the reads and writes since (default 30)",
	 .bad = "bad --flow-interval `%s`: want seconds > 0",
	 .modes = SF_MB_STREAM},
	{.name = "hash",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_hash,
	 .arg = "none|exec|open",
	 .help = "sha256 of each binary run (process.exec): exec\n(default); open: also of each file opened or mapped\nexecutable (file.open, file.mmap_exec); none\n(docs/events.md)",
	 .modes = SF_MB_STREAM,
	 .complete = "none exec open"},
	{.name = "exporter-id",
	 .letter = 'e',
	 .kind = SF_OPT_STR,
	 .off = OFF(exporter),
	 .arg = "ID",
	 .help = "exporter id in stream.start (default: hostname)",
	 .modes = SF_MB_STREAM},

	SECTION("MQTT (-b)"),
	{.name = "port",
	 .letter = 'p',
	 .kind = SF_OPT_INT,
	 .off = OFF(port),
	 .min = 1,
	 .max = 65535,
	 .arg = "PORT",
	 .help = "broker port (default 1883)",
	 .bad = "bad port `%s`: want 1-65535",
	 .modes = SF_MB_STREAM},
	{.name = "topic",
	 .letter = 't',
	 .kind = SF_OPT_STR,
	 .off = OFF(topic),
	 .arg = "TOPIC",
	 .help = "MQTT topic; %h exporter, %w workload, %c container\n(default sfagent/%h/%w); with -D a template that needs\n%w or %c (a topic per container)",
	 .modes = SF_MB_STREAM},
	{.name = "topic-template",
	 .kind = SF_OPT_STR,
	 .off = OFF(topic),
	 .arg = "TOPIC",
	 .help = "the same as --topic (the name used with -D)",
	 .modes = SF_MB_STREAM},
	{.name = "topic-root",
	 .kind = SF_OPT_STR,
	 .off = OFF(topic_root),
	 .arg = "ROOT",
	 .help = "-D: a container's mqtt:TOPIC goes to\nROOT/%w/%c/TOPIC (default sfagent/%h)",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--topic-root applies to -D only"},
	{.name = "mqtt-qos",
	 .kind = SF_OPT_INT,
	 .off = OFF(mqtt_qos),
	 .min = 0,
	 .max = 1,
	 .arg = "0|1",
	 .help = "QoS of published messages (default 1)",
	 .bad = "bad --mqtt-qos `%s`: want 0 or 1",
	 .modes = SF_MB_STREAM,
	 .complete = "0 1"},
	{.name = "mqtt-user",
	 .kind = SF_OPT_STR,
	 .off = OFF(mqtt_user),
	 .arg = "USER",
	 .help = "user name; the password comes from --mqtt-password-file\nor $SFAGENT_MQTT_PASSWORD (never from the command line)",
	 .modes = SF_MB_STREAM},
	{.name = "mqtt-password",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_mqtt_password,
	 .arg = "PASSWORD",
	 .hidden = 1},
	{.name = "mqtt-password-file",
	 .kind = SF_OPT_STR,
	 .off = OFF(mqtt_password_file),
	 .arg = "FILE",
	 .help = "read the password for --mqtt-user from FILE",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "mqtt-cafile",
	 .kind = SF_OPT_STR,
	 .off = OFF(mqtt_cafile),
	 .arg = "FILE",
	 .help = "TLS: trust the CA certificates in FILE",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "mqtt-cert",
	 .kind = SF_OPT_STR,
	 .off = OFF(mqtt_cert),
	 .arg = "FILE",
	 .help = "TLS client certificate (with --mqtt-key)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "mqtt-key",
	 .kind = SF_OPT_STR,
	 .off = OFF(mqtt_key),
	 .arg = "FILE",
	 .help = "TLS client key (with --mqtt-cert)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "mqtt-client-id",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_mqtt_client_id,
	 .arg = "ID",
	 .help = "client id (default sfagent-EXPORTER-PID-N; with -D,\nID-N: one client per stream)",
	 .modes = SF_MB_STREAM},
	{.name = "mqtt-batch",
	 .kind = SF_OPT_UINT,
	 .off = OFF(mqtt_batch),
	 .min = 1,
	 .max = 100000,
	 .arg = "N",
	 .help = "records per message (default 1)",
	 .bad = "bad --mqtt-batch `%s`: want 1-100000",
	 .modes = SF_MB_STREAM},
	{.name = "queue-size",
	 .letter = 'q',
	 .kind = SF_OPT_UINT,
	 .off = OFF(queue_size),
	 .min = 1,
	 .max = 10000000,
	 .arg = "N",
	 .help = "records kept while a broker/collector is away (1000)",
	 .bad = "bad queue size `%s`: want 1-10000000",
	 .modes = SF_MB_STREAM},
	{.name = "drain-timeout",
	 .kind = SF_OPT_UINT,
	 .off = OFF(drain_timeout),
	 .min = 0,
	 .max = 3600,
	 .arg = "SECS",
	 .help = "at exit, wait SECS seconds for delivery (default 10)",
	 .bad = "bad --drain-timeout `%s`: want 0-3600 seconds",
	 .modes = SF_MB_STREAM},
	{.name = "mqtt-drain-timeout",
	 .kind = SF_OPT_UINT,
	 .off = OFF(drain_timeout),
	 .min = 0,
	 .max = 3600,
	 .arg = "SECS",
	 .help = "the same as --drain-timeout",
	 .bad = "bad --drain-timeout `%s`: want 0-3600 seconds",
	 .modes = SF_MB_STREAM},

	SECTION("Spool (MQTT, HTTP, NATS; docs/outputs.md)"),
	{.name = "spool-dir",
	 .kind = SF_OPT_PATH,
	 .off = OFF(spool_dir),
	 .arg = "DIR",
	 .help = "keep undelivered records in DIR, replayed in order\n(default $SFAGENT_SPOOL_DIR or /var/lib/sfagent/spool)",
	 .bad = "bad --spool-dir `%s`: want an absolute path",
	 .modes = SF_MB_STREAM,
	 .complete = "dir"},
	{.name = "spool-max",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_spool_max,
	 .arg = "BYTES",
	 .help = "spool at most BYTES per sink (K, M, G; default 512M;\n0: no spool, memory only)",
	 .modes = SF_MB_STREAM},
	{.name = "spool-total",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_spool_total,
	 .arg = "BYTES",
	 .help = "spool at most BYTES over all sinks together (K, M, G;\ndefault 1G; 0: no bound but --spool-max)",
	 .modes = SF_MB_STREAM},

	SECTION("NATS JetStream (--nats; docs/outputs.md)"),
	{.name = "nats",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_url),
	 .arg = "URL[,URL...]",
	 .help = "publish to NATS JetStream: servers nats://HOST:PORT or\ntls://HOST:PORT (the servers of one cluster)",
	 .bad = "--nats needs a server URL (nats://HOST:PORT)",
	 .modes = SF_MB_STREAM},
	{.name = "nats-subject",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_subject),
	 .arg = "TEMPLATE",
	 .help = "subject, with %h %w %c as in -t (default sfagent.%h.%w)",
	 .bad = "--nats-subject needs a subject",
	 .modes = SF_MB_STREAM},
	{.name = "nats-stream",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_stream),
	 .arg = "NAME",
	 .help = "the JetStream stream expected to take the subjects",
	 .bad = "--nats-stream needs a stream name",
	 .modes = SF_MB_STREAM},
	{.name = "nats-create-stream",
	 .kind = SF_OPT_BOOL,
	 .off = OFF(nats_create_stream),
	 .help = "create --nats-stream if it is not there",
	 .modes = SF_MB_STREAM},
	{.name = "nats-replicas",
	 .kind = SF_OPT_UINT,
	 .off = OFF(nats_replicas),
	 .min = 1,
	 .max = 5,
	 .arg = "N",
	 .help = "replicas of a stream --nats-create-stream makes (1)",
	 .bad = "bad --nats-replicas `%s`: want 1-5",
	 .modes = SF_MB_STREAM},
	{.name = "nats-batch",
	 .kind = SF_OPT_UINT,
	 .off = OFF(nats_batch),
	 .min = 1,
	 .max = 64,
	 .arg = "N",
	 .help = "records per message, newline-separated (default 1:\none JSON object per message)",
	 .bad = "bad --nats-batch `%s`: want 1-64",
	 .modes = SF_MB_STREAM},
	{.name = "nats-creds",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_creds),
	 .arg = "FILE",
	 .help = "NATS credentials file (JWT and seed)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "nats-user",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_user),
	 .arg = "USER",
	 .help = "user name; the password comes from --nats-password-file\nor $SFAGENT_NATS_PASSWORD",
	 .modes = SF_MB_STREAM},
	{.name = "nats-password-file",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_password_file),
	 .arg = "FILE",
	 .help = "read the password for --nats-user from FILE",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "nats-cafile",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_cafile),
	 .arg = "FILE",
	 .help = "TLS: trust the CA certificates in FILE",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "nats-cert",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_cert),
	 .arg = "FILE",
	 .help = "TLS client certificate (with --nats-key)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "nats-key",
	 .kind = SF_OPT_STR,
	 .off = OFF(nats_key),
	 .arg = "FILE",
	 .help = "TLS client key (with --nats-cert)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},

	SECTION("HTTP (--http)"),
	{.name = "http-batch",
	 .kind = SF_OPT_UINT,
	 .off = OFF(http_batch),
	 .min = 1,
	 .max = 1000000,
	 .arg = "N",
	 .help = "records per POST (default 1000)",
	 .bad = "bad --http-batch `%s`: want 1-1000000",
	 .modes = SF_MB_STREAM},
	{.name = "http-interval",
	 .kind = SF_OPT_UINT,
	 .off = OFF(http_interval_ms),
	 .min = 1,
	 .max = 3600000,
	 .arg = "MS",
	 .help = "send a partial batch after MS ms (default 1000)",
	 .bad = "bad --http-interval `%s`: want 1-3600000 ms",
	 .modes = SF_MB_STREAM},
	{.name = "http-header",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_http_header,
	 .arg = "'K: V'",
	 .help = "extra request header (repeatable, at most 16)",
	 .modes = SF_MB_STREAM},
	{.name = "http-cafile",
	 .kind = SF_OPT_STR,
	 .off = OFF(http_cafile),
	 .arg = "FILE",
	 .help = "trust the CA certificates in FILE for https",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},

	SECTION("Files (-o; -D: each container's file)"),
	{.name = "rotate",
	 .letter = 'G',
	 .kind = SF_OPT_UINT,
	 .off = OFF(rotate_secs),
	 .min = 1,
	 .max = DAY_SECS,
	 .arg = "SECS",
	 .help = "start a new file every SECS seconds",
	 .bad = "bad -G `%s`: want seconds > 0",
	 .modes = SF_MB_STREAM},
	{.name = "max-size",
	 .kind = SF_OPT_U64,
	 .off = OFF(max_size),
	 .min = 1,
	 .max = 1ul << 20,
	 .shift = 20,
	 .arg = "MB",
	 .help = "start a new file before MB megabytes",
	 .bad = "bad --max-size `%s`: want megabytes > 0",
	 .modes = SF_MB_STREAM},
	{.name = "max-files",
	 .kind = SF_OPT_UINT,
	 .off = OFF(max_files),
	 .min = 1,
	 .max = 100000,
	 .arg = "N",
	 .help = "keep the newest N rotated files\n(rotated files are FILE.EPOCH; SIGHUP reopens FILE)",
	 .bad = "bad --max-files `%s`: want 1-100000",
	 .modes = SF_MB_STREAM},

	SECTION("Budgets (-D, per container; 'off' for none)"),
	{.name = "stream-rate",
	 .kind = SF_OPT_FUNC,
	 .off = OFF(stream_rate),
	 .parse = budget_opt_parse,
	 .arg = "N",
	 .help = "events per second of one stream (default 10000);\nwhat a budget refuses is counted: stream.missed \"quota\"",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .complete = "off"},
	{.name = "stream-burst",
	 .kind = SF_OPT_FUNC,
	 .off = OFF(stream_burst),
	 .parse = budget_opt_parse,
	 .arg = "N",
	 .help = "events above the rate at once (default 5 x the rate)",
	 .modes = SF_MB(SF_MODE_DAEMON)},
	{.name = "stream-max-bytes",
	 .kind = SF_OPT_FUNC,
	 .off = OFF(stream_max_bytes),
	 .parse = budget_opt_parse,
	 .arg = "SIZE",
	 .help = "one stream's files together, rotated ones included\n(default 1G; K, M, G, T, P suffixes)",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .complete = "off"},
	{.name = "output-max-bytes",
	 .kind = SF_OPT_FUNC,
	 .off = OFF(output_max_bytes),
	 .parse = budget_opt_parse,
	 .arg = "SIZE|N%",
	 .help = "every file in --output-dir together (default 10% of\nits file system)",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .complete = "off"},

	SECTION("Daemon (-D) and --inject-hook"),
	{.name = "socket",
	 .kind = SF_OPT_PATH,
	 .off = OFF(socket_path),
	 .arg = "PATH",
	 .help = "daemon socket (default /run/sfagent/sfagent.sock)",
	 .bad = "--socket `%s`: want an absolute path",
	 .modes = SF_MB(SF_MODE_DAEMON) | SF_MB(SF_MODE_INJECT),
	 .modes_bad =
		 "--socket/--output-dir apply to -D and --inject-hook only",
	 .complete = "file"},
	{.name = "output-dir",
	 .kind = SF_OPT_STR,
	 .off = OFF(output_dir),
	 .arg = "DIR",
	 .help = "daemon: stream files (default /var/log/sfagent)",
	 .bad = "--output-dir needs a directory",
	 .modes = SF_MB(SF_MODE_DAEMON) | SF_MB(SF_MODE_INJECT),
	 .modes_bad =
		 "--socket/--output-dir apply to -D and --inject-hook only",
	 .complete = "dir"},
	{.name = "hook-path",
	 .kind = SF_OPT_PATH,
	 .off = OFF(hook_path),
	 .arg = "PATH",
	 .help = "--inject-hook: sfhook to run (default: installed)",
	 .bad = "--hook-path `%s`: want an absolute path",
	 .modes = SF_MB(SF_MODE_INJECT),
	 .modes_bad = "--hook-path applies to --inject-hook only",
	 .complete = "file"},

	SECTION("Filters (docs/filters.md; EXPR or @FILE)"),
	FILTER_OPT(
		"filter", filter,
		"keep only the events EXPR selects, e.g. '[type process]\n| [type file] & [path = /etc/*]'; with -D every stream's",
		SF_MB_STREAM),
	FILTER_OPT("file-filter", file_filter,
		   "what -o (-D: the export files) receives, and --filter",
		   SF_MB_STREAM),
	FILTER_OPT("mqtt-filter", mqtt_filter,
		   "what MQTT receives, e.g. '[priority >= 300]'",
		   SF_MB_STREAM),
	FILTER_OPT("http-filter", http_filter, "what --http receives",
		   SF_MB_STREAM),
	FILTER_OPT(
		"select", select,
		"daemon: track only the containers EXPR selects, by\nworkload, container, image, k8s.*, annotation.*",
		SF_MB(SF_MODE_DAEMON)),
	SECTION("Watchers, status and metrics (-D)"),
	{.name = "watch-socket",
	 .kind = SF_OPT_PATH,
	 .off = OFF(watch_socket),
	 .arg = "PATH",
	 .help = "socket of sfagent watch/status (default\n/run/sfagent/watch.sock; --socket S.sock: S-watch.sock)",
	 .bad = "--watch-socket `%s`: want an absolute path",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad =
		 "--watch-socket applies to -D only (sfagent watch/status take --socket)",
	 .complete = "file"},
	{.name = "access",
	 .kind = SF_OPT_PATH,
	 .off = OFF(access_file),
	 .arg = "FILE",
	 .help = "who may watch what (default /etc/sfagent/access;\nwithout it only root)",
	 .bad = "--access `%s`: want an absolute path",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--access applies to -D only",
	 .complete = "file"},
	{.name = "watch-queue",
	 .kind = SF_OPT_UINT,
	 .off = OFF(watch_queue_kb),
	 .min = 16,
	 .max = 1u << 20,
	 .arg = "KB",
	 .help = "records queued per watcher before it loses some (4096)",
	 .bad = "bad --watch-queue `%s`: want 16-1048576 KB",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--watch-queue applies to -D only"},
	{.name = "metrics",
	 .kind = SF_OPT_STR,
	 .off = OFF(metrics),
	 .arg = "[ADDR:]PORT",
	 .help = "Prometheus /metrics, /healthz (bare port: 127.0.0.1)",
	 .bad = "--metrics needs [ADDR:]PORT",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--metrics applies to -D only",
	 .complete = ""},

	SECTION("Seccomp"),
	{.name = "seccomp-profile",
	 .kind = SF_OPT_STR,
	 .off = OFF(seccomp_profile),
	 .arg = "FILE",
	 .help = "write a seccomp profile of the syscalls it made\n(-D: annotation io.sfagent.seccomp=record[:BASE])",
	 .bad = "--seccomp-profile needs a file name",
	 .modes = SF_MB_RUN | SF_MB(SF_MODE_CONTAINER),
	 .modes_bad =
		 "--seccomp-profile applies to -X, -P and -w (-D: the io.sfagent.seccomp annotation)",
	 .complete = "file"},
	{.name = "seccomp-dir",
	 .kind = SF_OPT_PATH,
	 .off = OFF(seccomp_dir),
	 .arg = "DIR",
	 .help = "daemon: base profiles for record:BASE\n(default /etc/sfagent/seccomp)",
	 .bad = "--seccomp-dir `%s`: want an absolute path",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--seccomp-dir applies to -D only",
	 .complete = "dir"},
	{.name = "no-sandbox",
	 .kind = SF_OPT_BOOL,
	 .off = OFF(no_sandbox),
	 .help = "daemon: keep its capabilities, no seccomp filter",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--no-sandbox applies to -D only"},
	{.name = "sandbox-list",
	 .kind = SF_OPT_BOOL,
	 .off = OFF(sandbox_list),
	 .stop = 1,
	 .help = "print the daemon's seccomp allow-list and exit"},
	{.name = "sandbox-selftest",
	 .kind = SF_OPT_BOOL,
	 .off = OFF(sandbox_selftest),
	 .help = "daemon, tests only: make one call the sandbox denies",
	 .modes = SF_MB(SF_MODE_DAEMON),
	 .modes_bad = "--sandbox-selftest applies to -D only"},

	SECTION("Other options"),
	{.name = "follow",
	 .letter = 'f',
	 .kind = SF_OPT_BOOL,
	 .off = OFF(follow),
	 .help = "root mode: run until SIGINT/SIGTERM",
	 .modes = SF_MB(SF_MODE_ROOT),
	 .modes_bad = "-f only applies to root mode (-R)"},
	{.name = "duration",
	 .kind = SF_OPT_UINT,
	 .off = OFF(duration),
	 .min = 1,
	 .max = DAY_SECS,
	 .arg = "SECS",
	 .help = "root mode without -f: how long (default 10)",
	 .bad = "bad --duration `%s`: want seconds > 0",
	 .modes = SF_MB(SF_MODE_ROOT)},
	{.name = "ringbuf-size",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_ringbuf,
	 .arg = "N",
	 .help = "kernel ring buffer bytes, K/M suffix (default 16M)",
	 .modes = SF_MB_STREAM},
	{.name = "btf",
	 .kind = SF_OPT_STR,
	 .off = OFF(btf_path),
	 .arg = "FILE",
	 .help = "kernel BTF to use (default /sys/kernel/btf/vmlinux)",
	 .modes = SF_MB_STREAM,
	 .complete = "file"},
	{.name = "btf-cache",
	 .kind = SF_OPT_STR,
	 .off = OFF(btf_cache),
	 .arg = "DIR",
	 .help = "the kernel BTF's CO-RE types, kept in DIR (0700, root's;\ndefault /var/cache/sfagent; none: not kept)",
	 .modes = SF_MB_STREAM,
	 .complete = "dir"},
	{.name = "bundles",
	 .letter = 'B',
	 .kind = SF_OPT_STR,
	 .off = OFF(bundle_dir),
	 .arg = "DIR",
	 .help = "bundle directory (default $SFAGENT_BUNDLES, else\n/var/lib/sfagent/bundles)",
	 .modes = SF_MB(SF_MODE_CONTAINER) | SF_MB(SF_MODE_SHOW),
	 .complete = "dir"},
	{.name = "debug",
	 .letter = 'd',
	 .kind = SF_OPT_STR,
	 .off = OFF(debug_file),
	 .arg = "FILE",
	 .help = "write debug logs, libbpf's included, to FILE",
	 .complete = "file"},
	{.name = "verbose",
	 .letter = 'v',
	 .kind = SF_OPT_COUNT,
	 .off = OFF(verbose),
	 .help = "more messages on stderr (repeat for more)"},
	{.name = "help",
	 .letter = 'h',
	 .kind = SF_OPT_BOOL,
	 .off = OFF(help),
	 .stop = 1,
	 .help = "print this help and exit"},
	{.name = "version",
	 .kind = SF_OPT_BOOL,
	 .off = OFF(version),
	 .stop = 1,
	 .help = "print the version and exit"},
	{.name = "doc",
	 .kind = SF_OPT_FUNC,
	 .parse = opt_doc,
	 .arg = "NAME",
	 .stop = 1,
	 .hidden = 1},
};
const size_t cli_opts_count = sizeof(cli_opts) / sizeof(cli_opts[0]);
