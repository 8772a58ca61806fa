// SPDX-License-Identifier: GPL-2.0
/*
 * sfagent watch [--socket PATH] [--filter EXPR] [--format text|json]
 *               [-t TEMPLATE] [NAME|ID...]
 * sfagent status [--socket PATH] [--json]
 * Clients of a running `sfagent -D` on its watch socket (watch.h).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "json.h"
#include "view.h"
#include "view_int.h"

#define WATCH_SOCKET_DEFAULT "/run/sfagent/watch.sock"

static const char watch_usage[] =
	"Usage: sfagent watch [OPTIONS] [NAME|ID...]\n"
	"Print the live events of a running sfagent -D: of the workloads NAME (globs\n"
	"wait for streams to come) or container ids (prefixes), of all it may see\n"
	"without names.\n"
	"\n"
	"  --socket PATH     the agent's watch socket (default " WATCH_SOCKET_DEFAULT
	")\n"
	"  --filter EXPR     only the events EXPR selects (docs/filters.md; @FILE)\n"
	"  --format FMT      text (one line per record, default) or json\n"
	"  -t TEMPLATE       text lines from @key placeholders\n"
	"  -h, --help        this help\n";

static const char status_usage[] =
	"Usage: sfagent status [--socket PATH] [--json]\n"
	"The streams of a running sfagent -D that this user may watch, their\n"
	"counts and outputs, and the agent's totals.\n";

static int connect_agent(const char *path, struct sf_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return sf_usage(err, "--socket `%s` is too long", path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return sf_fail(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		if (e == EACCES)
			return sf_fail(
				err, 0,
				"`%s`: permission denied: its directory must let this user in (the systemd unit makes /run/sfagent 0755), and the agent's access file decides what it may watch",
				path);
		return sf_fail(
			err, 0,
			"no agent answers on `%s` (%s): start `sfagent -D`, or give its --socket PATH",
			path, strerror(e));
	}
	return fd;
}

static int send_request(int fd, const char *op, char **names, int nnames,
			struct sf_error **err)
{
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	cleanup_free char *req = NULL;
	size_t len;

	yajl_gen_map_open(g);
	json_gen_str(g, "op");
	json_gen_str(g, op);
	if (nnames) {
		json_gen_str(g, "names");
		yajl_gen_array_open(g);
		for (int i = 0; i < nnames; i++)
			json_gen_str(g, names[i]);
		yajl_gen_array_close(g);
	}
	yajl_gen_map_close(g);
	req = json_gen_take(g, &len);
	req = xrealloc(req, len + 2);
	req[len++] = '\n';
	if (write_all(fd, req, len) < 0)
		return sf_fail(err, errno, "send the request to the agent");
	return 0;
}

/* Reads lines from fd, calling fn for each; 0 at EOF. */
static int read_lines(int fd, void (*fn)(void *ctx, char *line, size_t len),
		      void *ctx)
{
	size_t cap = 1 << 16, len = 0;
	char *buf = xmalloc(cap);

	for (;;) {
		ssize_t k;
		char *nl;

		if (cap - len < 4096) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		k = read(fd, buf + len, cap - len - 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		len += (size_t)k;
		while ((nl = memchr(buf, '\n', len))) {
			size_t l = (size_t)(nl - buf);

			*nl = 0;
			fn(ctx, buf, l);
			memmove(buf, nl + 1, len - l - 1);
			len -= l + 1;
		}
	}
	free(buf);
	return 0;
}

struct watch_ctx {
	struct view *v;
	bool started;
	char *error;
};

static void on_watch_line(void *p, char *line, size_t len)
{
	struct watch_ctx *c = p;

	if (!c->started) {
		cleanup_yajl_val yajl_val r = yajl_tree_parse(line, NULL, 0);
		const char *t = json_get_str(r, "type");

		c->started = true;
		if (!t || strcmp(t, "watch.ok")) {
			const char *e = json_get_str(r, "error");

			c->error = xstrdup(
				e ? e
				  : "the agent's answer is not a watch reply");
		}
		return;
	}
	if (!c->error) {
		view_record(c->v, line, len);
		fflush(stdout);
	}
}

static int watch_run(int argc, char **argv, struct sf_error **err)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct view_opts o = {.format = VIEW_TEXT};
	const char *sock = WATCH_SOCKET_DEFAULT;
	struct watch_ctx c = {0};
	cleanup_close int fd = -1;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+t:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'f':
			o.filter = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "text") || !strcmp(optarg, "json"))
				o.format = optarg[0] == 't' ? VIEW_TEXT
							    : VIEW_JSON;
			else
				return sf_usage(
					err,
					"watch: unknown --format `%s`: use text or json",
					optarg);
			break;
		case 't':
			o.template = optarg;
			break;
		case 'h':
			fputs(watch_usage, stdout);
			return 0;
		default:
			return sf_usage(
				err,
				"watch: unknown option or missing value `%s` (see sfagent watch --help)",
				argv[optind - 1]);
		}
	}
	c.v = view_new(&o, stdout, err);
	if (!c.v)
		return -1;
	fd = connect_agent(sock, err);
	if (fd < 0 ||
	    send_request(fd, "watch", argv + optind, argc - optind, err) < 0) {
		view_free(c.v);
		return sf_error_wrap(err, "watch");
	}
	read_lines(fd, on_watch_line, &c);
	view_finish(c.v);
	view_free(c.v);
	if (c.error) {
		sf_fail(err, 0, "watch: %s", c.error);
		free(c.error);
		return -1;
	}
	if (!c.started)
		return sf_fail(
			err, 0,
			"watch: the agent closed the connection without an answer");
	return 0;
}

struct status_ctx {
	bool json;
	bool done;
	char *error;
};

static void print_status(yajl_val st)
{
	yajl_val streams = json_get(st, "streams");
	char since[64];

	printf("agent %s: up %lld s, %lld streams tracked, %lld watchers (%lld records dropped for watchers), %lld access rules\n",
	       json_get_str(st, "version") ?: "?",
	       YAJL_GET_INTEGER(json_get(st, "uptime_s")),
	       YAJL_GET_INTEGER(json_get(st, "tracked")),
	       YAJL_GET_INTEGER(json_get(st, "watchers")),
	       YAJL_GET_INTEGER(json_get(st, "watch_dropped")),
	       YAJL_GET_INTEGER(json_get(st, "access_rules")));
	{
		yajl_val sb = json_get(st, "sandbox");

		printf("registrations refused: %lld; sandbox: ",
		       YAJL_GET_INTEGER(json_get(st, "registrations_refused")));
		if (YAJL_GET_INTEGER(json_get(sb, "seccomp_allowed")))
			printf("seccomp allow-list of %lld syscalls (%lld calls denied), capabilities %s\n",
			       YAJL_GET_INTEGER(
				       json_get(sb, "seccomp_allowed")),
			       YAJL_GET_INTEGER(json_get(sb, "denied")),
			       json_get_str(sb, "capabilities") ?: "?");
		else
			printf("off (--no-sandbox)\n");
	}
	printf("%-20s %-14s %-30s %10s %8s %8s  %s\n", "WORKLOAD", "CONTAINER",
	       "SINCE", "EVENTS", "MISSED", "FILTERED", "OUTPUTS");
	for (size_t i = 0; YAJL_IS_ARRAY(streams) && i < streams->u.array.len;
	     i++) {
		yajl_val s = streams->u.array.values[i];
		yajl_val sinks = json_get(s, "sinks");
		char cont[16];

		view_text_time(since, sizeof(since),
			       YAJL_GET_INTEGER(json_get(s, "since")));
		snprintf(cont, sizeof(cont), "%.12s",
			 json_get_str(s, "container") ?: "");
		{
			const char *wn = json_get_str(s, "workload") ?: "?";
			int pad = 20 - (int)strlen(wn);

			view_text_put(stdout, wn);
			printf("%*s", pad > 0 ? pad : 0, "");
		}
		printf(" %-14s %-30s %10lld %8lld %8lld ", cont, since,
		       YAJL_GET_INTEGER(json_get(s, "events")),
		       YAJL_GET_INTEGER(json_get(s, "missed")),
		       YAJL_GET_INTEGER(json_get(s, "filtered")));
		for (size_t k = 0;
		     YAJL_IS_ARRAY(sinks) && k < sinks->u.array.len; k++) {
			yajl_val o = sinks->u.array.values[k];

			printf(" [");
			view_text_put(stdout, json_get_str(o, "output") ?: "?");
			printf(", dropped %lld%s",
			       YAJL_GET_INTEGER(json_get(o, "dropped")),
			       YAJL_IS_TRUE(json_get(o, "congested"))
				       ? ", congested"
				       : "");
			if (json_get_str(o, "state")) {
				printf(", %s, backlog %lld, connects %lld",
				       json_get_str(o, "state"),
				       YAJL_GET_INTEGER(json_get(o, "backlog")),
				       YAJL_GET_INTEGER(
					       json_get(o, "connects")));
				if (json_get_str(o, "last_error")[0]) {
					printf(", last error: ");
					view_text_put(
						stdout,
						json_get_str(o, "last_error"));
				}
			}
			putchar(']');
		}
		putchar('\n');
	}
}

static void on_status_line(void *p, char *line, size_t len)
{
	struct status_ctx *c = p;
	cleanup_yajl_val yajl_val r = yajl_tree_parse(line, NULL, 0);
	const char *t = json_get_str(r, "type");

	if (c->done)
		return;
	c->done = true;
	if (!t || strcmp(t, "status")) {
		const char *e = json_get_str(r, "error");

		c->error =
			xstrdup(e ? e : "the agent's answer is not a status");
		return;
	}
	if (c->json) {
		fwrite(line, 1, len, stdout);
		putchar('\n');
	} else {
		print_status(r);
	}
}

static int status_run(int argc, char **argv, struct sf_error **err)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *sock = WATCH_SOCKET_DEFAULT;
	struct status_ctx c = {0};
	cleanup_close int fd = -1;
	int opt;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (opt == 's') {
			sock = optarg;
		} else if (opt == 'j') {
			c.json = true;
		} else if (opt == 'h') {
			fputs(status_usage, stdout);
			return 0;
		} else {
			return sf_usage(
				err,
				"status: unknown option or missing value `%s` (see sfagent status --help)",
				argv[optind - 1]);
		}
	}
	if (optind < argc)
		return sf_usage(err, "status: unexpected argument `%s`",
				argv[optind]);
	fd = connect_agent(sock, err);
	if (fd < 0 || send_request(fd, "status", NULL, 0, err) < 0)
		return sf_error_wrap(err, "status");
	read_lines(fd, on_status_line, &c);
	if (c.error) {
		sf_fail(err, 0, "status: %s", c.error);
		free(c.error);
		return -1;
	}
	if (!c.done)
		return sf_fail(
			err, 0,
			"status: the agent closed the connection without an answer");
	return 0;
}

int view_watch_main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;

	/* SIGINT ends the watch; what was printed is flushed line by line */
	if (watch_run(argc, argv, &err) < 0)
		return sf_error_report("sfagent", err);
	return 0;
}

int view_status_main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;

	if (status_run(argc, argv, &err) < 0)
		return sf_error_report("sfagent", err);
	return 0;
}
