// SPDX-License-Identifier: GPL-2.0
/* Command line: quixote-export's letters plus long options. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>

#include "budget.h"
#include "encode.h"
#include "options.h"
#include "sink.h"

#define DEFAULT_RINGBUF (16u << 20)

enum {
	OPT_DURATION = 256,
	OPT_RINGBUF,
	OPT_BTF,
	OPT_HELP,
	OPT_VERSION,
	/* sinks */
	OPT_MQTT_QOS,
	OPT_MQTT_USER,
	OPT_MQTT_PASSWORD,
	OPT_MQTT_PASSWORD_FILE,
	OPT_MQTT_CAFILE,
	OPT_MQTT_CERT,
	OPT_MQTT_KEY,
	OPT_MQTT_CLIENT_ID,
	OPT_MQTT_BATCH,
	OPT_DRAIN_TIMEOUT,
	OPT_HTTP,
	OPT_HTTP_BATCH,
	OPT_HTTP_INTERVAL,
	OPT_HTTP_HEADER,
	OPT_HTTP_CAFILE,
	OPT_MAX_SIZE,
	OPT_MAX_FILES,
	OPT_SOCKET,
	OPT_OUTPUT_DIR,
	OPT_INJECT_HOOK,
	OPT_HOOK_PATH,
	OPT_STREAM_RATE,
	OPT_STREAM_BURST,
	OPT_STREAM_MAX_BYTES,
	OPT_OUTPUT_MAX_BYTES,
};

static const struct option long_opts[] = {
	{"show", no_argument, NULL, 'S'},
	{"workload", required_argument, NULL, 'w'},
	{"process", no_argument, NULL, 'P'},
	{"execute", no_argument, NULL, 'X'},
	{"root", no_argument, NULL, 'R'},
	{"daemon", no_argument, NULL, 'D'},
	{"output", required_argument, NULL, 'o'},
	{"broker", required_argument, NULL, 'b'},
	{"port", required_argument, NULL, 'p'},
	{"topic", required_argument, NULL, 't'},
	{"topic-template", required_argument, NULL, 't'},
	{"queue-size", required_argument, NULL, 'q'},
	{"exporter-id", required_argument, NULL, 'e'},
	{"format", required_argument, NULL, 'F'},
	{"follow", no_argument, NULL, 'f'},
	{"debug", required_argument, NULL, 'd'},
	{"verbose", no_argument, NULL, 'v'},
	{"bundles", required_argument, NULL, 'B'},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"ringbuf-size", required_argument, NULL, OPT_RINGBUF},
	{"btf", required_argument, NULL, OPT_BTF},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{"mqtt-qos", required_argument, NULL, OPT_MQTT_QOS},
	{"mqtt-user", required_argument, NULL, OPT_MQTT_USER},
	{"mqtt-password", required_argument, NULL, OPT_MQTT_PASSWORD},
	{"mqtt-password-file", required_argument, NULL, OPT_MQTT_PASSWORD_FILE},
	{"mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE},
	{"mqtt-cert", required_argument, NULL, OPT_MQTT_CERT},
	{"mqtt-key", required_argument, NULL, OPT_MQTT_KEY},
	{"mqtt-client-id", required_argument, NULL, OPT_MQTT_CLIENT_ID},
	{"mqtt-batch", required_argument, NULL, OPT_MQTT_BATCH},
	{"drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	{"mqtt-drain-timeout", required_argument, NULL, OPT_DRAIN_TIMEOUT},
	{"http", required_argument, NULL, OPT_HTTP},
	{"http-batch", required_argument, NULL, OPT_HTTP_BATCH},
	{"http-interval", required_argument, NULL, OPT_HTTP_INTERVAL},
	{"http-header", required_argument, NULL, OPT_HTTP_HEADER},
	{"http-cafile", required_argument, NULL, OPT_HTTP_CAFILE},
	{"rotate", required_argument, NULL, 'G'},
	{"max-size", required_argument, NULL, OPT_MAX_SIZE},
	{"max-files", required_argument, NULL, OPT_MAX_FILES},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"output-dir", required_argument, NULL, OPT_OUTPUT_DIR},
	{"inject-hook", required_argument, NULL, OPT_INJECT_HOOK},
	{"hook-path", required_argument, NULL, OPT_HOOK_PATH},
	{"stream-rate", required_argument, NULL, OPT_STREAM_RATE},
	{"stream-burst", required_argument, NULL, OPT_STREAM_BURST},
	{"stream-max-bytes", required_argument, NULL, OPT_STREAM_MAX_BYTES},
	{"output-max-bytes", required_argument, NULL, OPT_OUTPUT_MAX_BYTES},
	{0},
};

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

void sf_usage_print(FILE *f)
{
	fputs("Usage: sfagent MODE [OPTIONS] [-- PROGRAM [ARGS...]]\n"
	      "Per-workload security event exporter (eBPF, cgroup filtered).\n"
	      "\n"
	      "Modes:\n"
	      "  -X, --execute         run PROGRAM ARGS... in a new traced cgroup\n"
	      "  -P, --process         run an interactive shell ($SHELL) traced\n"
	      "  -R, --root            trace the whole host (all but sfagent itself)\n"
	      "  -w, --workload NAME   workload name (with -X/-P; alone: run bundle NAME)\n"
	      "  -S, --show            list the bundles in the bundle directory\n"
	      "  -D, --daemon          per-host agent serving the OCI hook\n"
	      "      --inject-hook DIR add sfhook (prestart+poststop) to DIR/config.json\n"
	      "\n"
	      "Output (one is required):\n"
	      "  -o, --output FILE     write the stream to FILE ('-' for stdout)\n"
	      "  -b, --broker HOST     MQTT broker;  -p PORT (1883), -q N queue\n"
	      "  -t, --topic TOPIC     MQTT topic; %h exporter, %w workload, %c container\n"
	      "                        (default sfagent/%h/%w); -D: --topic-template,\n"
	      "                        which needs %w or %c (a topic per container)\n"
	      "      --http URL        POST batches of JSON lines to URL (x-ndjson)\n"
	      "  -F, --format FMT      output format: json (default), quixote, cadets\n"
	      "  -e, --exporter-id ID  exporter id in stream.start (default: hostname)\n"
	      "\n"
	      "MQTT (-b):\n"
	      "      --mqtt-qos 0|1    QoS of published messages (default 1)\n"
	      "      --mqtt-user USER  user name; password from --mqtt-password-file FILE\n"
	      "                        or $SFAGENT_MQTT_PASSWORD (never on the command line)\n"
	      "      --mqtt-cafile F   TLS: trust F; --mqtt-cert F, --mqtt-key F client cert\n"
	      "      --mqtt-client-id ID  (default sfagent-HOST-PID)\n"
	      "      --mqtt-batch N    records per message (default 1)\n"
	      "  -q, --queue-size N    records kept while a broker/collector is away (1000)\n"
	      "      --drain-timeout S at exit, wait S seconds for delivery (default 10)\n"
	      "HTTP (--http):\n"
	      "      --http-batch N    records per POST (default 1000)\n"
	      "      --http-interval MS  send a partial batch after MS ms (default 1000)\n"
	      "      --http-header 'K: V'  extra request header (repeatable)\n"
	      "      --http-cafile F   trust F for https\n"
	      "Files (-o; -D: each container's file):\n"
	      "  -G, --rotate SECS     start a new file every SECS seconds\n"
	      "      --max-size MB     start a new file before MB megabytes\n"
	      "      --max-files N     keep the newest N rotated files\n"
	      "                        (rotated files are FILE.EPOCH; SIGHUP reopens FILE)\n"
	      "Budgets (-D, per container stream; 'off' for none; refused events are\n"
	      "counted as stream.missed \"quota\"):\n"
	      "      --stream-rate N   events per second (default 10000)\n"
	      "      --stream-burst N  events above the rate at once (default 5 x rate)\n"
	      "      --stream-max-bytes SIZE  the stream's files together, rotated ones\n"
	      "                        included (default 1G; K, M, G, T suffixes)\n"
	      "      --output-max-bytes SIZE|N%  all files in --output-dir together\n"
	      "                        (default 10% of its file system)\n"
	      "\n"
	      "Other options:\n"
	      "  -f, --follow          root mode: run until SIGINT/SIGTERM\n"
	      "      --duration SECS   root mode without -f: how long (default 10)\n"
	      "      --ringbuf-size N  kernel ring buffer bytes, K/M suffix (default 16M)\n"
	      "  -B, --bundles DIR     bundle directory (default /var/lib/sfagent/bundles)\n"
	      "      --socket PATH     daemon socket (default /run/sfagent/sfagent.sock)\n"
	      "      --output-dir DIR  daemon: stream files (default /var/log/sfagent)\n"
	      "      --hook-path PATH  --inject-hook: sfhook to run (default: installed)\n"
	      "  -d, --debug FILE      write debug logs, libbpf's included, to FILE\n"
	      "  -v, --verbose         more messages on stderr (repeat for more)\n"
	      "      --help, --version\n"
	      "\n"
	      "Examples:\n"
	      "  sfagent -X -w build -o build.jsonl -- make -j2\n"
	      "  sfagent -P -w shell -o -\n"
	      "  sfagent -R -o host.jsonl --duration 30\n"
	      "  sfagent -S -B bundles\n"
	      "  sfagent -w shell-demo -B bundles -o demo.jsonl\n"
	      "  sfagent -X -b 127.0.0.1 -t 'lab/%w' -- ./job\n"
	      "  sfagent -R -f -o host.jsonl -G 3600 --max-files 24\n"
	      "\n"
	      "Exit status: the program's in -X/-P modes, the container's with -w NAME;\n"
	      "1 environment error, 2 usage error.\n",
	      f);
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_size(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	if (v > (1ull << 30))
		return -1;
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	if (*end || v > (1ull << 30))
		return -1;
	*out = v;
	return 0;
}

/* Not given: the daemon's defaults apply (sf_budget_defaults). */
#define OPT_UNSET UINT64_MAX

/* N, or "off" (0: no limit). */
static int parse_count(const char *s, unsigned long max, uint64_t *out)
{
	unsigned long v;

	if (!strcmp(s, "off")) {
		*out = 0;
		return 0;
	}
	if (parse_uint(s, max, &v) < 0 || v == 0)
		return -1;
	*out = v;
	return 0;
}

/* N[KMGT] bytes from 4K to 1P, or "off" (0: no limit). */
static int parse_bytes(const char *s, uint64_t *out)
{
	static const char suffix[] = "KMGTP";
	unsigned long long v;
	const char *p;
	char *end;

	if (!strcmp(s, "off")) {
		*out = 0;
		return 0;
	}
	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || v > (1ull << 50))
		return -1;
	if (*end && (p = strchr(suffix, *end & ~0x20))) {
		for (int i = 0; i <= p - suffix; i++)
			if ((v <<= 10) > (1ull << 50))
				return -1;
		end++;
	}
	if (*end || v < 4096 || v > (1ull << 50))
		return -1;
	*out = v;
	return 0;
}

static int parse_budget(int c, const char *arg, struct sf_options *o,
			struct sf_error **err)
{
	unsigned long pct;
	size_t n = strlen(arg);

	switch (c) {
	case OPT_STREAM_RATE:
		if (parse_count(arg, 10000000, &o->stream_rate) < 0)
			return sf_usage(
				err,
				"bad --stream-rate `%s`: want events per second from 1 to 10000000, or off",
				arg);
		break;
	case OPT_STREAM_BURST:
		if (parse_count(arg, 100000000, &o->stream_burst) < 0 ||
		    !o->stream_burst)
			return sf_usage(
				err,
				"bad --stream-burst `%s`: want events from 1 to 100000000",
				arg);
		break;
	case OPT_STREAM_MAX_BYTES:
		if (parse_bytes(arg, &o->stream_max_bytes) < 0)
			return sf_usage(
				err,
				"bad --stream-max-bytes `%s`: want a size from 4K to 1P (suffix K, M, G, T or P), or off",
				arg);
		break;
	case OPT_OUTPUT_MAX_BYTES:
		o->output_max_pct = 0;
		if (n > 1 && arg[n - 1] == '%') {
			cleanup_free char *num = xstrndup(arg, n - 1);

			if (parse_uint(num, 100, &pct) == 0 && pct > 0) {
				o->output_max_pct = pct;
				o->output_max_bytes = 0;
				break;
			}
		} else if (parse_bytes(arg, &o->output_max_bytes) == 0) {
			break;
		}
		return sf_usage(
			err,
			"bad --output-max-bytes `%s`: want a size from 4K to 1P (suffix K, M, G, T or P), a share of the file system from 1%% to 100%%, or off",
			arg);
	}
	return 0;
}

/* The budgets apply to -D only; there, what is not given is the default. */
static int sf_budget_defaults(struct sf_options *o, bool given,
			      struct sf_error **err)
{
	if (o->mode != SF_MODE_DAEMON) {
		if (given)
			return sf_usage(
				err,
				"--stream-rate, --stream-burst, --stream-max-bytes and --output-max-bytes apply to -D only");
		o->stream_rate = o->stream_burst = 0;
		o->stream_max_bytes = o->output_max_bytes = 0;
		o->output_max_pct = 0;
		return 0;
	}
	if (o->stream_rate == OPT_UNSET)
		o->stream_rate = BUDGET_DEFAULT_RATE;
	if (o->stream_burst != OPT_UNSET && !o->stream_rate)
		return sf_usage(
			err, "--stream-burst needs a --stream-rate (not off)");
	if (o->stream_burst == OPT_UNSET)
		o->stream_burst = o->stream_rate * BUDGET_DEFAULT_BURST_SECS;
	if (o->stream_max_bytes == OPT_UNSET)
		o->stream_max_bytes = BUDGET_DEFAULT_STREAM_BYTES;
	if (o->output_max_bytes == OPT_UNSET) {
		o->output_max_bytes = 0;
		o->output_max_pct = BUDGET_DEFAULT_OUTPUT_PCT;
	}
	return 0;
}

static int set_mode(struct sf_options *o, enum sf_mode m, struct sf_error **err)
{
	static const char *const flag[] = {"?",	 "-w", "-P", "-X",
					   "-R", "-S", "-D", "--inject-hook"};

	if (o->mode != SF_MODE_NONE && o->mode != m)
		return sf_usage(
			err,
			"options %s and %s cannot be combined: choose one mode",
			flag[o->mode], flag[m]);
	o->mode = m;
	return 0;
}

/* Combinations of sink options that cannot work, refused before anything starts. */
static int sf_check_sink_options(const struct sf_options *o,
				 struct sf_error **err)
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
	/* what can be checked now is, before the probe loads */
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
	{
		const char *files[] = {o->mqtt_password_file, o->mqtt_cafile,
				       o->mqtt_cert, o->mqtt_key,
				       o->http_cafile};
		const char *names[] = {"--mqtt-password-file", "--mqtt-cafile",
				       "--mqtt-cert", "--mqtt-key",
				       "--http-cafile"};

		for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			if (files[i] && access(files[i], R_OK) < 0)
				return sf_fail(err, errno,
					       "cannot read %s `%s`", names[i],
					       files[i]);
	}
	return 0;
}

int sf_parse_args(int argc, char **argv, struct sf_options *o,
		  struct sf_error **err)
{
	bool budget_given = false;
	unsigned long v;
	int c;

	memset(o, 0, sizeof(*o));
	o->stream_rate = o->stream_burst = OPT_UNSET;
	o->stream_max_bytes = o->output_max_bytes = OPT_UNSET;
	o->port = 1883;
	o->queue_size = 1000;
	o->format = "json";
	o->duration = 10;
	o->ringbuf_bytes = DEFAULT_RINGBUF;
	o->mqtt_qos = 1;
	o->mqtt_batch = 1;
	o->drain_timeout = 10;
	o->http_batch = 1000;
	o->http_interval_ms = 1000;
	o->bundle_dir = getenv("SFAGENT_BUNDLES");
	if (!o->bundle_dir || !*o->bundle_dir)
		o->bundle_dir = "/var/lib/sfagent/bundles";

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:Sw:PXRDo:b:p:t:q:e:F:fd:vB:G:",
				long_opts, NULL)) != -1) {
		switch (c) {
		case 'S':
			if (set_mode(o, SF_MODE_SHOW, err) < 0)
				return -1;
			break;
		case 'P':
			if (set_mode(o, SF_MODE_PROCESS, err) < 0)
				return -1;
			break;
		case 'X':
			if (set_mode(o, SF_MODE_EXECUTE, err) < 0)
				return -1;
			break;
		case 'R':
			if (set_mode(o, SF_MODE_ROOT, err) < 0)
				return -1;
			break;
		case 'D':
			if (set_mode(o, SF_MODE_DAEMON, err) < 0)
				return -1;
			break;
		case 'w':
			if (!*optarg)
				return sf_usage(
					err,
					"-w needs a non-empty workload name");
			o->workload = optarg;
			break;
		case 'o':
			if (!*optarg)
				return sf_usage(
					err,
					"-o needs a file name ('-' for stdout)");
			o->output = optarg;
			break;
		case 'b':
			if (!*optarg)
				return sf_usage(
					err,
					"-b needs a broker host name or address");
			o->broker = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &v) < 0 || v == 0)
				return sf_usage(err,
						"bad port `%s`: want 1-65535",
						optarg);
			o->port = v;
			break;
		case 't':
			o->topic = optarg;
			break;
		case 'q':
			if (parse_uint(optarg, 10000000, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad queue size `%s`: want 1-10000000",
					optarg);
			o->queue_size = v;
			break;
		case 'e':
			o->exporter = optarg;
			break;
		case 'F':
			if (!encoder_find(optarg))
				return sf_usage(
					err,
					"unknown format `%s`: choose one of %s",
					optarg, encoder_names());
			o->format = optarg;
			break;
		case 'f':
			o->follow = true;
			break;
		case 'd':
			o->debug_file = optarg;
			break;
		case 'v':
			o->verbose++;
			break;
		case 'B':
			o->bundle_dir = optarg;
			break;
		case OPT_DURATION:
			if (parse_uint(optarg, 365 * 86400, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --duration `%s`: want seconds > 0",
					optarg);
			o->duration = v;
			break;
		case OPT_RINGBUF:
			/* the kernel wants a power of two, at least a page */
			if (parse_size(optarg, &o->ringbuf_bytes) < 0 ||
			    o->ringbuf_bytes < 4096 ||
			    (o->ringbuf_bytes & (o->ringbuf_bytes - 1)))
				return sf_usage(
					err,
					"bad --ringbuf-size `%s`: want a power of two from 4K to 1024M",
					optarg);
			break;
		case OPT_BTF:
			o->btf_path = optarg;
			break;
		case OPT_MQTT_QOS:
			if (parse_uint(optarg, 1, &v) < 0)
				return sf_usage(
					err, "bad --mqtt-qos `%s`: want 0 or 1",
					optarg);
			o->mqtt_qos = v;
			break;
		case OPT_MQTT_USER:
			o->mqtt_user = optarg;
			break;
		case OPT_MQTT_PASSWORD:
			return sf_usage(
				err,
				"a password on the command line is visible to every user: use --mqtt-password-file FILE or SFAGENT_MQTT_PASSWORD");
		case OPT_MQTT_PASSWORD_FILE:
			o->mqtt_password_file = optarg;
			break;
		case OPT_MQTT_CAFILE:
			o->mqtt_cafile = optarg;
			break;
		case OPT_MQTT_CERT:
			o->mqtt_cert = optarg;
			break;
		case OPT_MQTT_KEY:
			o->mqtt_key = optarg;
			break;
		case OPT_MQTT_CLIENT_ID:
			if (!*optarg || strlen(optarg) > 256)
				return sf_usage(
					err,
					"bad --mqtt-client-id: want 1-256 characters");
			o->mqtt_client_id = optarg;
			break;
		case OPT_MQTT_BATCH:
			if (parse_uint(optarg, 100000, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --mqtt-batch `%s`: want 1-100000",
					optarg);
			o->mqtt_batch = v;
			break;
		case OPT_DRAIN_TIMEOUT:
			if (parse_uint(optarg, 3600, &v) < 0)
				return sf_usage(
					err,
					"bad --drain-timeout `%s`: want 0-3600 seconds",
					optarg);
			o->drain_timeout = v;
			break;
		case OPT_HTTP:
			if (!*optarg)
				return sf_usage(
					err,
					"--http needs a URL (http://HOST:PORT/PATH)");
			o->http_url = optarg;
			break;
		case OPT_HTTP_BATCH:
			if (parse_uint(optarg, 1000000, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --http-batch `%s`: want 1-1000000",
					optarg);
			o->http_batch = v;
			break;
		case OPT_HTTP_INTERVAL:
			if (parse_uint(optarg, 3600000, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --http-interval `%s`: want 1-3600000 ms",
					optarg);
			o->http_interval_ms = v;
			break;
		case OPT_HTTP_HEADER:
			if (!strchr(optarg, ':') || *optarg == ':' ||
			    strpbrk(optarg, "\r\n"))
				return sf_usage(
					err,
					"bad --http-header `%s`: want 'Name: value'",
					optarg);
			if (o->http_nheaders >=
			    (int)(sizeof(o->http_headers) /
				  sizeof(o->http_headers[0])))
				return sf_usage(
					err,
					"too many --http-header options (at most 16)");
			o->http_headers[o->http_nheaders++] = optarg;
			break;
		case OPT_HTTP_CAFILE:
			o->http_cafile = optarg;
			break;
		case 'G':
			if (parse_uint(optarg, 365 * 86400, &v) < 0 || v == 0)
				return sf_usage(err,
						"bad -G `%s`: want seconds > 0",
						optarg);
			o->rotate_secs = v;
			break;
		case OPT_MAX_SIZE:
			if (parse_uint(optarg, 1 << 20, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --max-size `%s`: want megabytes > 0",
					optarg);
			o->max_size = (uint64_t)v << 20;
			break;
		case OPT_MAX_FILES:
			if (parse_uint(optarg, 100000, &v) < 0 || v == 0)
				return sf_usage(
					err,
					"bad --max-files `%s`: want 1-100000",
					optarg);
			o->max_files = v;
			break;
		case OPT_SOCKET:
			if (optarg[0] != '/')
				return sf_usage(
					err,
					"--socket `%s`: want an absolute path",
					optarg);
			o->socket_path = optarg;
			break;
		case OPT_OUTPUT_DIR:
			if (!*optarg)
				return sf_usage(
					err, "--output-dir needs a directory");
			o->output_dir = optarg;
			break;
		case OPT_INJECT_HOOK:
			if (!*optarg)
				return sf_usage(
					err,
					"--inject-hook needs a bundle directory");
			if (set_mode(o, SF_MODE_INJECT, err) < 0)
				return -1;
			o->inject_bundle = optarg;
			break;
		case OPT_HOOK_PATH:
			if (optarg[0] != '/')
				return sf_usage(
					err,
					"--hook-path `%s`: want an absolute path",
					optarg);
			o->hook_path = optarg;
			break;
		case OPT_STREAM_RATE:
		case OPT_STREAM_BURST:
		case OPT_STREAM_MAX_BYTES:
		case OPT_OUTPUT_MAX_BYTES:
			if (parse_budget(c, optarg, o, err) < 0)
				return -1;
			budget_given = true;
			break;
		case OPT_HELP:
			o->help = true;
			return 0;
		case OPT_VERSION:
			o->version = true;
			return 0;
		case ':':
			if (optopt)
				return sf_usage(
					err,
					"option -%c needs an argument (see --help)",
					optopt);
			return sf_usage(
				err,
				"option `%s` needs an argument (see --help)",
				argv[optind - 1]);
		default:
			if (optopt)
				return sf_usage(
					err, "unknown option -%c (see --help)",
					optopt);
			return sf_usage(err, "unknown option `%s` (see --help)",
					argv[optind - 1]);
		}
	}
	o->argc = argc - optind;
	o->argv = argv + optind;

	if (o->mode == SF_MODE_NONE && o->workload)
		o->mode = SF_MODE_CONTAINER;
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
	if (o->follow && o->mode != SF_MODE_ROOT)
		return sf_usage(err, "-f only applies to root mode (-R)");
	if (o->mode == SF_MODE_DAEMON && o->output)
		return sf_usage(
			err,
			"-o does not apply to daemon mode: each container's export comes from its io.sfagent.export annotation, files go to --output-dir");
	if ((o->socket_path || o->output_dir) && o->mode != SF_MODE_DAEMON &&
	    o->mode != SF_MODE_INJECT)
		return sf_usage(
			err,
			"--socket/--output-dir apply to -D and --inject-hook only");
	if (o->hook_path && o->mode != SF_MODE_INJECT)
		return sf_usage(err,
				"--hook-path applies to --inject-hook only");
	if (!o->socket_path)
		o->socket_path = "/run/sfagent/sfagent.sock";
	if (!o->output_dir)
		o->output_dir = "/var/log/sfagent";
	if (sf_budget_defaults(o, budget_given, err) < 0)
		return -1;
	if (o->mode != SF_MODE_SHOW && o->mode != SF_MODE_DAEMON &&
	    o->mode != SF_MODE_INJECT && !o->output && !o->broker &&
	    !o->http_url)
		return sf_usage(
			err,
			"no output given: use -o FILE ('-' for stdout), -b BROKER or --http URL");
	return sf_check_sink_options(o, err);
}
