// SPDX-License-Identifier: GPL-2.0
/*
 * File sink rotation naming (--max-size, --max-files): FILE.EPOCH, then
 * FILE.EPOCH.N within one second, oldest pruned, framing in every file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include "sink.h"
#include "tap.h"

static char dir[64];

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory's names, sorted, joined with ' ' (caller frees). */
static char *listing(void)
{
	char *names[64], *out = xstrdup("");
	size_t n = 0;
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)) && n < 64)
		if (de->d_name[0] != '.')
			names[n++] = xstrdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char *t = xasprintf("%s%s%s", out, i ? " " : "", names[i]);

		free(out);
		free(names[i]);
		out = t;
	}
	return out;
}

static char *slurp(const char *name)
{
	cleanup_free char *p = xasprintf("%s/%s", dir, name);
	char *buf = NULL;
	size_t len = 0;

	if (read_file(p, &buf, &len, 1 << 20, NULL) < 0)
		return xstrdup("(unreadable)");
	return buf;
}

static void clean(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	if (d)
		closedir(d);
}

/* false: the second changed meanwhile (names would differ), try again */
static bool test_size_rotation(bool last)
{
	cleanup_free char *path = xasprintf("%s/out.jsonl", dir);
	struct sink_file_conf c = {.max_size = 10};
	struct sink *s = sink_file_open_conf(path, &c, NULL);
	time_t t0 = time(NULL), t1;
	cleanup_free char *want = NULL, *got = NULL, *f0 = NULL, *f2 = NULL;

	if (!s) {
		ok(0, "cannot open `%s`", path);
		return true;
	}
	/* 6 bytes each: every second write overflows 10 bytes */
	sink_write(s, "aaaaa\n", 6, NULL);
	sink_write(s, "bbbbb\n", 6, NULL);
	sink_write(s, "ccccc\n", 6, NULL);
	sink_write(s, "ddddd\n", 6, NULL);
	t1 = time(NULL);
	sink_close(s);
	got = listing();
	if (t0 != t1 && !last) {
		clean();
		return false;
	}
	want = xasprintf(
		"out.jsonl out.jsonl.%lld out.jsonl.%lld.1 out.jsonl.%lld.2",
		(long long)t0, (long long)t0, (long long)t0);
	is_str(got, want, "FILE.EPOCH, then .1 and .2 within the second");
	f0 = xasprintf("out.jsonl.%lld", (long long)t0);
	free(got);
	got = slurp(f0);
	is_str(got, "aaaaa\n", "the oldest holds the first record, whole");
	f2 = xasprintf("out.jsonl.%lld.2", (long long)t0);
	free(got);
	got = slurp(f2);
	is_str(got, "ccccc\n", "the newest rotated one the third");
	clean();
	return true;
}

static void test_prune_and_framing(void)
{
	cleanup_free char *path = xasprintf("%s/out.json", dir);
	struct sink_file_conf c = {
		.max_size = 11,
		.max_files = 1,
		.prefix = "[\n",
		.separator = ",",
		.suffix = "]\n",
	};
	struct sink *s = sink_file_open_conf(path, &c, NULL);
	cleanup_free char *got = NULL, *cur = NULL;
	char *sp;

	sink_write(s, "{1}\n", 4, NULL);
	sink_write(s, "{2}\n", 4, NULL);
	sink_write(s, "{3}\n", 4, NULL);
	sink_write(s, "{4}\n", 4, NULL);
	sink_close(s);
	got = listing();
	sp = strchr(got, ' ');
	ok(sp && !strchr(sp + 1, ' ') && strncmp(got, "out.json ", 9) == 0,
	   "--max-files 1: the file and one rotated file (%s)", got);
	cur = slurp("out.json");
	is_str(cur, "[\n{4}\n]\n",
	       "the current file framed: prefix, record, suffix");
	if (sp) {
		cleanup_free char *old = slurp(sp + 1);

		is_str(old, "[\n{3}\n]\n",
		       "the kept rotated file is the newest, framed whole");
	} else {
		ok(0, "no rotated file");
	}
	clean();
}

int main(void)
{
	snprintf(dir, sizeof(dir), "/tmp/sf-unit-file-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	for (int i = 0; i < 3 && !test_size_rotation(i == 2); i++)
		;
	test_prune_and_framing();
	rmdir(dir);
	return tap_done();
}
