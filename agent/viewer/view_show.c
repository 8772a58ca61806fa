// SPDX-License-Identifier: GPL-2.0
/*
 * sfagent show [--filter EXPR] [--format text|json] [-t TEMPLATE] [--tree]
 *              FILE|DIR...
 * Stored streams (json or quixote lines, gzip-compressed or not) read back,
 * filtered and printed; a directory stands for the stream files in it, and
 * files are read in the order of their first record's time, so a rotated
 * set reads as one stream.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "view.h"

#define LINE_MAX_BYTES (1u << 20)

static const char usage[] =
	"Usage: sfagent show [OPTIONS] FILE|DIR...\n"
	"Print stored streams (json or quixote lines; .gz too), oldest file first.\n"
	"\n"
	"  --filter EXPR     only the events EXPR selects (docs/filters.md; @FILE)\n"
	"  --format FMT      text (one line per record, default) or json\n"
	"  -t TEMPLATE       text lines from @key placeholders, e.g.\n"
	"                    '@time @pid @type @object' (@object: the main object)\n"
	"  --tree            the process tree of each stream, with each process's\n"
	"                    most important events\n"
	"  -h, --help        this help\n";

struct input {
	char *path;
	long long first_ts;
};

/* Reads one line (without '\n') into *buf; 0 at the end, -1 when a line is
 * over LINE_MAX_BYTES (skipped). */
static int read_line(gzFile f, char **buf, size_t *cap, size_t *len)
{
	*len = 0;
	for (;;) {
		size_t n;

		if (*cap - *len < 4096) {
			*cap = *cap ? 2 * *cap : 65536;
			*buf = xrealloc(*buf, *cap);
		}
		if (!gzgets(f, *buf + *len, (int)(*cap - *len)))
			return *len ? 1 : 0;
		n = strlen(*buf + *len);
		*len += n;
		if (*len && (*buf)[*len - 1] == '\n') {
			(*buf)[--*len] = 0;
			return 1;
		}
		if (*len > LINE_MAX_BYTES) {
			int c;

			while ((c = gzgetc(f)) >= 0 && c != '\n')
				;
			return -1;
		}
	}
}

static long long first_ts(const char *path)
{
	gzFile f = gzopen(path, "rb");
	char *buf = NULL, *p;
	size_t cap = 0, len;
	long long ts = -1;

	if (!f)
		return -1;
	if (read_line(f, &buf, &cap, &len) > 0) {
		p = strstr(buf, "\"ts\":");
		if (p) {
			p += 5;
			if (*p == '"')
				p++;
			ts = strtoll(p, NULL, 10);
		}
	}
	free(buf);
	gzclose(f);
	return ts;
}

static int add_input(struct input **in, size_t *n, const char *path)
{
	*in = xrealloc(*in, (*n + 1) * sizeof(**in));
	(*in)[*n].path = xstrdup(path);
	(*in)[*n].first_ts = first_ts(path);
	(*n)++;
	return 0;
}

static int add_dir(struct input **in, size_t *n, const char *dir,
		   struct sf_error **err)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return sf_fail(err, errno,
			       "show: cannot read directory `%s`: %s", dir,
			       strerror(errno));
	while ((e = readdir(d))) {
		cleanup_free char *p = NULL;
		struct stat st;

		/* streams, not their profiles or temporary files */
		if (e->d_name[0] == '.' || strstr(e->d_name, ".seccomp.json"))
			continue;
		p = xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			add_input(in, n, p);
	}
	closedir(d);
	return 0;
}

static int cmp_input(const void *a, const void *b)
{
	const struct input *x = a, *y = b;

	if (x->first_ts != y->first_ts)
		return x->first_ts < y->first_ts ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int show_file(struct view *v, const char *path, struct sf_error **err)
{
	gzFile f = gzopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, len;
	int r;

	if (!f)
		return sf_fail(err, errno, "show: cannot open `%s`: %s", path,
			       strerror(errno ? errno : ENOENT));
	while ((r = read_line(f, &buf, &cap, &len)) != 0) {
		/* a cadets file is one JSON array: its lines carry ',' */
		char *s = buf;

		if (r < 0) {
			view_record(v, "", 0); /* counted as not a record */
			continue;
		}
		while (len && (*s == '[' || *s == ',' || *s == ' ')) {
			s++;
			len--;
		}
		while (len && (s[len - 1] == ']' || s[len - 1] == ',' ||
			       s[len - 1] == '\r'))
			len--;
		if (len)
			view_record(v, s, len);
	}
	free(buf);
	gzclose(f);
	return 0;
}

static int parse(int argc, char **argv, struct view_opts *o,
		 struct sf_error **err)
{
	static const struct option longopts[] = {
		{"filter", required_argument, NULL, 'f'},
		{"format", required_argument, NULL, 'F'},
		{"template", required_argument, NULL, 't'},
		{"tree", no_argument, NULL, 'T'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->filter = optarg;
			break;
		case 'F':
			if (!strcmp(optarg, "text"))
				o->format = VIEW_TEXT;
			else if (!strcmp(optarg, "json"))
				o->format = VIEW_JSON;
			else
				return sf_usage(
					err,
					"show: unknown --format `%s`: use text or json",
					optarg);
			break;
		case 't':
			o->template = optarg;
			break;
		case 'T':
			o->tree = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 1;
		default:
			return sf_usage(
				err,
				"show: unknown option or missing value `%s` (see sfagent show --help)",
				argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return sf_usage(
			err,
			"show: name the stream files or directories to read: sfagent show FILE|DIR...");
	return 0;
}

static int run(int argc, char **argv, struct sf_error **err)
{
	struct view_opts o = {.format = VIEW_TEXT};
	struct input *in = NULL;
	size_t n = 0;
	struct view *v;
	int r = parse(argc, argv, &o, err);

	if (r)
		return r < 0 ? -1 : 0;
	v = view_new(&o, stdout, err);
	if (!v)
		return -1;
	for (int i = optind; i < argc && r == 0; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0)
			r = sf_fail(
				err, errno,
				"show: `%s`: %s (give a stream file or a directory of them)",
				argv[i], strerror(errno));
		else if (S_ISDIR(st.st_mode))
			r = add_dir(&in, &n, argv[i], err);
		else
			add_input(&in, &n, argv[i]);
	}
	if (r == 0) {
		qsort(in, n, sizeof(*in), cmp_input);
		for (size_t i = 0; i < n && r == 0; i++)
			r = show_file(v, in[i].path, err);
		view_finish(v);
		if (view_bad(v))
			fprintf(stderr,
				"sfagent: show: %llu lines were not stream records (skipped)\n",
				(unsigned long long)view_bad(v));
	}
	for (size_t i = 0; i < n; i++)
		free(in[i].path);
	free(in);
	view_free(v);
	return r;
}

int view_show_main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;

	if (run(argc, argv, &err) < 0)
		return sf_error_report("sfagent", err);
	return 0;
}
