// SPDX-License-Identifier: GPL-2.0
/*
 * The durable spool: order, acked records not replayed, replay after a
 * restart with the original origin (tag, rid), a torn tail cut off, a
 * damaged record not replayed, the byte bound, segments removed once acked
 * and never numbered again.  Damage is made by hand in the files: a crash
 * in the middle of a write cannot be caused on cue.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <zlib.h>

#include "sink_spool.h"
#include "tap.h"

static char dir[64];

static size_t count_files(const char *suffix_digits_only)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	size_t n = 0;

	while (d && (de = readdir(d))) {
		const char *dot = strrchr(de->d_name, '.');

		if (dot && strlen(dot + 1) == 10 &&
		    strspn(dot + 1, "0123456789") == 10)
			n++;
	}
	if (d)
		closedir(d);
	(void)suffix_digits_only;
	return n;
}

/* The newest segment of key k, as a path (caller frees). */
static char *last_seg(const char *k)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char best[300] = "";

	while (d && (de = readdir(d)))
		if (strncmp(de->d_name, k, strlen(k)) == 0 &&
		    strlen(de->d_name) == strlen(k) + 11 &&
		    strcmp(de->d_name, best) > 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	if (d)
		closedir(d);
	return xasprintf("%s/%s", dir, best);
}

static bool next_is(struct sink_spool *sp, const char *want, uint64_t tag,
		    uint64_t rid, uint64_t *mark)
{
	struct sink_spool_rec r;

	if (!sink_spool_next(sp, &r))
		return false;
	if (mark)
		*mark = r.mark;
	if (r.len != strlen(want) || memcmp(r.data, want, r.len) != 0 ||
	    r.tag != tag || r.rid != rid) {
		printf("#   got %.*s tag %llu rid %llu\n", (int)r.len, r.data,
		       (unsigned long long)r.tag, (unsigned long long)r.rid);
		return false;
	}
	return true;
}

static void test_replay(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "k", "test", 1 << 20, 7, &err);
	uint64_t m1 = 0, m2 = 0;
	bool b;

	ok(sp != NULL, "opened: %s", err ? err->msg : "");
	if (!sp)
		return;
	sink_spool_add(sp, "a\n", 2, false, 1);
	sink_spool_add(sp, "S\n", 2, true, 2);
	sink_spool_add(sp, "b\n", 2, false, 3);
	ok(sink_spool_unread(sp) == 3, "three staged");
	ok(sink_spool_commit(sp) == 0 && sink_spool_unread(sp) == 3,
	   "one write (a second commit has nothing to write)");
	b = next_is(sp, "a\n", 7, 1, &m1);
	ok(b, "first read back in order");
	b = next_is(sp, "S\n", 7, 2, &m2);
	ok(b, "second");
	sink_spool_ack(sp, m2, true);
	sink_spool_close(sp);

	sp = sink_spool_open(dir, "k", "test", 1 << 20, 8, &err);
	ok(sp && sink_spool_unread(sp) == 1,
	   "reopened by a new run: one record left to replay");
	b = next_is(sp, "b\n", 7, 3, NULL);
	ok(b, "the unacked one, with its first run's tag and rid");
	sink_spool_add(sp, "c\n", 2, false, 1);
	sink_spool_commit(sp);
	b = next_is(sp, "c\n", 8, 1, &m1);
	ok(b, "then this run's, in a segment of its own (tag 8)");
	sink_spool_ack(sp, m1, true);
	sink_spool_close(sp);
	ok(count_files(NULL) == 0, "all acked: no segment left behind");

	/* numbering goes on after the acked position: nothing written now
	 * is taken for acked by the next run */
	sp = sink_spool_open(dir, "k", "test", 1 << 20, 9, &err);
	sink_spool_add(sp, "d\n", 2, false, 1);
	sink_spool_commit(sp);
	sink_spool_close(sp);
	sp = sink_spool_open(dir, "k", "test", 1 << 20, 10, &err);
	b = next_is(sp, "d\n", 9, 1, &m1);
	ok(b, "a record written after everything was acked is replayed");
	sink_spool_ack(sp, m1, true);
	sink_spool_close(sp);
}

static void test_torn_and_damaged(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "t", "test", 1 << 20, 1, &err);
	cleanup_free char *seg = NULL;
	struct stat st;
	ssize_t w;
	int fd;
	bool b;

	sink_spool_add(sp, "one\n", 4, false, 1);
	sink_spool_add(sp, "two\n", 4, false, 2);
	sink_spool_add(sp, "three\n", 6, false, 3);
	sink_spool_commit(sp);
	sink_spool_close(sp);
	seg = last_seg("t");
	/* a torn write: half a frame at the tail */
	/* ok() evaluates its condition more than once: no side effects */
	fd = open(seg, O_WRONLY | O_APPEND);
	w = fd >= 0 ? write(fd, "\x20\0\0\0garb", 8) : -1;
	ok(w == 8, "torn tail made");
	close(fd);
	stat(seg, &st);
	sp = sink_spool_open(dir, "t", "test", 1 << 20, 2, &err);
	ok(sp && sink_spool_unread(sp) == 3,
	   "torn tail: the three whole records are kept");
	b = next_is(sp, "one\n", 1, 1, NULL) &&
	    next_is(sp, "two\n", 1, 2, NULL) &&
	    next_is(sp, "three\n", 1, 3, NULL);
	ok(b, "and replayed in order");
	ok(!sink_spool_next(sp, &(struct sink_spool_rec){0}),
	   "the torn half is not replayed");
	sink_spool_close(sp);
	{
		struct stat st2;

		stat(seg, &st2);
		ok(st2.st_size == st.st_size - 8, "the file was cut back");
	}
	/* damage by hand: a byte of "two" changed */
	fd = open(seg, O_RDWR);
	ok(pwrite(fd, "X", 1, 24 + 16 + 4 + 16) == 1,
	   "a byte of `two` changed");
	close(fd);
	sp = sink_spool_open(dir, "t", "test", 1 << 20, 3, &err);
	b = next_is(sp, "one\n", 1, 1, NULL);
	ok(b, "damaged: what is before it is replayed");
	{
		struct sink_spool_rec r = {0};

		/* the run's last segment: how many followed is not known */
		b = sink_spool_next(sp, &r) && r.control && r.rid == 2 &&
		    memmem(r.data, r.len, "\"reason\":\"spool_damaged\"", 24) &&
		    memmem(r.data, r.len, "\"count\":1,", 10) &&
		    memmem(r.data, r.len, "\"count_at_least\":true", 21);
		ok(b, "then a stream.missed, spool_damaged, at least 1: %.*s",
		   (int)r.len, r.data);
	}
	ok(!sink_spool_next(sp, &(struct sink_spool_rec){0}),
	   "the damaged record and what follows are not");
	sink_spool_close(sp);
	unlink(seg);
}

/* Writes records 1..n of workload w (1,000 bytes each, tag 5), a commit
 * every 100. */
static void fill_numbered(struct sink_spool *sp, const char *w, uint64_t n)
{
	char rec[1000];

	memset(rec, 'x', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	for (uint64_t i = 1; i <= n; i++) {
		int k = snprintf(
			rec, sizeof(rec),
			"{\"type\":\"file.open\",\"seq\":%llu,\"workload\":\"%s\",\"pad\":\"",
			(unsigned long long)i, w);

		rec[k] = 'x';
		sink_spool_add(sp, rec, sizeof(rec), false, i);
		if (i % 100 == 0)
			sink_spool_commit(sp);
	}
	sink_spool_commit(sp);
}

/* Changes a byte of the 301st record of segment seg of spool key. */
static bool damage(const char *key, int seg)
{
	cleanup_free char *path = xasprintf("%s/%s.%010d", dir, key, seg);
	int fd = open(path, O_RDWR);
	bool done = fd >= 0 &&
		    pwrite(fd, "Y", 1, 24 + 300 * 1016 + 16 + 500) == 1;

	if (fd >= 0)
		close(fd);
	return done;
}

/* What reading a spool with one damaged frame back gave. */
struct damaged_read {
	uint64_t got; /* records read */
	uint64_t missed; /* the stream.missed record's count */
	uint64_t missed_rid; /* its number */
	uint64_t after; /* the last record before it */
	uint64_t last; /* the mark of the last one read */
	bool in_order; /* every number once, in order, but the gap; the
			* record exact, of workload w, as first (run > 0) */
};

static struct damaged_read read_damaged(struct sink_spool *sp, int run,
					char *first, size_t first_size,
					const char *w)
{
	struct damaged_read d = {.in_order = true};
	cleanup_free char *wl = xasprintf("\"workload\":\"%s\"", w);
	uint64_t prev = 0;
	struct sink_spool_rec r;

	while (sp && sink_spool_next(sp, &r)) {
		const char *c;

		d.last = r.mark;
		if (r.control) {
			c = memmem(r.data, r.len, "\"count\":", 8);
			d.missed = c ? strtoull(c + 8, NULL, 10) : 0;
			d.missed_rid = r.rid;
			d.after = prev;
			if (!run)
				snprintf(first, first_size, "%.*s", (int)r.len,
					 r.data);
			else
				d.in_order &= strlen(first) == r.len &&
					      !memcmp(first, r.data, r.len);
			d.in_order &= memmem(r.data, r.len,
					     "\"reason\":\"spool_damaged\"",
					     24) &&
				      !memmem(r.data, r.len, "at_least", 8) &&
				      memmem(r.data, r.len, wl, strlen(wl));
			continue;
		}
		d.in_order &= r.rid == prev + 1 +
					       (prev == d.after && d.after
							? d.missed
							: 0) &&
			      r.tag == 5;
		prev = r.rid;
		d.got++;
	}
	return d;
}

/* Damage in the middle of a segment that a segment of the same run
 * follows: the records lost are counted exactly from the numbers around
 * them, and the count is told once, in order, the same in a later run. */
static void test_damage_count(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "d", "test", 8 << 20, 5, &err);
	char first[256] = "";
	uint64_t n = 2500;

	fill_numbered(sp, "w1", n);
	sink_spool_close(sp);
	ok(count_files(NULL) >= 3, "three segments of 1 MiB or more (%zu)",
	   count_files(NULL));
	ok(damage("d", 1), "a byte in the middle of the first segment changed");
	for (int run = 0; run < 2; run++) {
		struct damaged_read d;

		sp = sink_spool_open(dir, "d", "test", 8 << 20, 6 + run, &err);
		d = read_damaged(sp, run, first, sizeof(first), "w1");
		ok(d.after == 300,
		   "run %d: the record comes after the last good one (rid %llu)",
		   run, (unsigned long long)d.after);
		ok(d.missed && d.got + d.missed == n,
		   "run %d: %llu replayed + %llu told missed = %llu written",
		   run, (unsigned long long)d.got, (unsigned long long)d.missed,
		   (unsigned long long)n);
		ok(d.missed_rid == 300 + d.missed,
		   "run %d: it has the number of the last one lost (%llu)", run,
		   (unsigned long long)d.missed_rid);
		ok(d.in_order,
		   run ? "run 1: the same record again, in order"
		       : "run 0: in order, exact (no at_least), the workload's");
		if (run && sp)
			sink_spool_ack(sp, d.last, true); /* the files go */
		sink_spool_close(sp);
	}
	printf("# %s\n", first);
}

/* The same damage, made while the spool is open and its records not read
 * back yet (a running agent's backlog): found by the reader, told in the
 * stream the same way, the same bytes replayed by a later run. */
static void test_damage_running(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "e", "test", 8 << 20, 5, &err);
	char first[256] = "";
	uint64_t n = 2500, gap_lo = 0;

	fill_numbered(sp, "w2", n);
	ok(count_files(NULL) >= 3, "running: three segments or more (%zu)",
	   count_files(NULL));
	ok(damage("e", 2),
	   "running: a byte in the middle of the second segment changed");
	for (int run = 0; run < 2; run++) {
		struct damaged_read d;

		if (run)
			sp = sink_spool_open(dir, "e", "test", 8 << 20, 6,
					     &err);
		d = read_damaged(sp, run, first, sizeof(first), "w2");
		if (!run)
			gap_lo = d.after;
		ok(d.after > 300 && d.after == gap_lo,
		   "running %d: the record comes after the last good one (rid %llu)",
		   run, (unsigned long long)d.after);
		ok(d.missed && d.got + d.missed == n,
		   "running %d: %llu read + %llu told missed = %llu written",
		   run, (unsigned long long)d.got, (unsigned long long)d.missed,
		   (unsigned long long)n);
		ok(d.missed_rid == d.after + d.missed,
		   "running %d: it has the number of the last one lost (%llu)",
		   run, (unsigned long long)d.missed_rid);
		ok(sp && sink_spool_unread(sp) == 0,
		   "running %d: nothing left unread", run);
		ok(d.in_order, "running %d: in order, exact, the workload's",
		   run);
		if (run && sp)
			sink_spool_ack(sp, d.last, true); /* the files go */
		sink_spool_close(sp);
	}
	printf("# %s\n", first);
}

static void test_bound_and_segments(void)
{
	struct sf_error *err = NULL;
	/* 4 MiB bound: 1 MiB segments */
	struct sink_spool *sp =
		sink_spool_open(dir, "b", "test", 4 << 20, 1, &err);
	char rec[1000];
	uint64_t n = 0, last = 0, mark;
	struct sink_spool_rec r;

	memset(rec, 'x', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	while ((mark = sink_spool_add(sp, rec, sizeof(rec), false, n + 1))) {
		n++;
		if (n % 100 == 0)
			sink_spool_commit(sp);
	}
	sink_spool_commit(sp);
	ok(n > 3900 && n < 4200, "full at 4 MiB: %llu records of 1 KB",
	   (unsigned long long)n);
	mark = sink_spool_add(sp, "S\n", 2, true, n + 1);
	ok(mark != 0, "a control record still goes in");
	sink_spool_commit(sp);
	ok(count_files(NULL) >= 4, "in segments of 1 MiB (%zu)",
	   count_files(NULL));
	while (sink_spool_next(sp, &r))
		last = r.mark;
	sink_spool_ack(sp, last, true);
	ok(count_files(NULL) == 1, "acked: only the last segment is left (%zu)",
	   count_files(NULL));
	mark = sink_spool_add(sp, rec, sizeof(rec), false, n + 2);
	ok(mark != 0, "room again");
	sink_spool_commit(sp);
	sink_spool_close(sp);
	sp = sink_spool_open(dir, "b", "test", 4 << 20, 2, &err);
	ok(sp && sink_spool_unread(sp) == 1,
	   "one record left after restart (%llu)",
	   sp ? (unsigned long long)sink_spool_unread(sp) : 0ull);
	sink_spool_close(sp);
}

static void test_lock(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *a =
		sink_spool_open(dir, "l", "test", 1 << 20, 1, &err);
	struct sink_spool *b =
		sink_spool_open(dir, "l", "test", 1 << 20, 2, &err);

	ok(a && b && strcmp(sink_spool_path(a), sink_spool_path(b)) == 0,
	   "two sinks on one destination: both open");
	sink_spool_add(a, "a\n", 2, false, 1);
	sink_spool_commit(a);
	ok(sink_spool_unread(b) == 0, "each has a spool of its own");
	sink_spool_close(a);
	sink_spool_close(b);
	sf_error_free(err);
	err = NULL;
	a = sink_spool_open("/proc/self/nonexistent/x", "k", "t", 1, 1, &err);
	ok(!a && err && strstr(err->msg, "--spool-dir"),
	   "an unusable directory: %s", err ? err->msg : "");
	sf_error_free(err);
}

/* --spool-total: two spools of one process share one bound; what one
 * frees (acked) the other may take. */
static void test_total(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *a =
		sink_spool_open(dir, "ta", "a", 8 << 20, 1, &err);
	struct sink_spool *b =
		sink_spool_open(dir, "tb", "b", 8 << 20, 1, &err);
	uint64_t base = sink_spool_total(), na = 0, nb = 0, last = 0;
	struct sink_spool_rec r;
	char rec[1000];

	memset(rec, 'y', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	sink_spool_set_total(a, base + (3 << 20));
	sink_spool_set_total(b, base + (3 << 20));
	while (na < 2000 && sink_spool_add(a, rec, sizeof(rec), false, na + 1))
		na++;
	sink_spool_commit(a);
	while (sink_spool_add(b, rec, sizeof(rec), false, nb + 1))
		nb++;
	sink_spool_commit(b);
	ok(na == 2000 && nb > 900 && nb < 1200,
	   "3 MiB over both: the first took 2000 KB, the second the rest (%llu)",
	   (unsigned long long)nb);
	ok(sink_spool_full(b), "the second is full (congested, spool_full)");
	ok(sink_spool_total() - base >= (3u << 20) - 2000,
	   "the total counts both (%llu bytes)",
	   (unsigned long long)(sink_spool_total() - base));
	ok(sink_spool_add(a, "S\n", 2, true, na + 1) != 0,
	   "a control record still goes in");
	sink_spool_commit(a);
	while (sink_spool_next(a, &r))
		last = r.mark;
	sink_spool_ack(a, last, true);
	sink_spool_close(a);
	ok(sink_spool_add(b, rec, sizeof(rec), false, nb + 1) != 0,
	   "the first acked and closed: room for the second again");
	sink_spool_commit(b);
	while (sink_spool_next(b, &r))
		last = r.mark;
	sink_spool_ack(b, last, true);
	sink_spool_close(b);
	ok(sink_spool_total() == base, "all closed: nothing counted (%llu)",
	   (unsigned long long)sink_spool_total());
	sf_error_free(err);
}

/* NATS batch cut points: appended, read back by the next run, replaced,
 * a damaged entry skipped, removed with a spool wholly acked. */
static void test_cuts(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "c", "test", 1 << 20, 9, &err);
	const struct sink_spool_cut *v;
	struct sink_spool_cut keep[1] = {{.tag = 9, .rid = 40}};
	char path[128];
	size_t n;
	int fd;

	ok(sp && sink_spool_cuts(sp, &v) == 0, "a new spool has no cut points");
	if (!sp)
		return;
	sink_spool_add(sp, "a\n", 2, false, 1);
	sink_spool_commit(sp);
	ok(sink_spool_cut_add(sp, 9, 17) == 0 &&
		   sink_spool_cut_add(sp, 9, 33) == 0 &&
		   sink_spool_cuts_written(sp) == 2,
	   "two appended");
	sink_spool_close(sp); /* record a unacked: kept */
	sp = sink_spool_open(dir, "c", "test", 1 << 20, 10, &err);
	n = sp ? sink_spool_cuts(sp, &v) : 0;
	ok(n == 2 && v[0].tag == 9 && v[0].rid == 17 && v[1].rid == 33,
	   "read back by the next run (%zu)", n);
	ok(sp && sink_spool_cuts_set(sp, keep, 1) == 0 &&
		   sink_spool_cuts_written(sp) == 1 &&
		   sink_spool_cut_add(sp, 10, 5) == 0,
	   "replaced by the one still needed, then one appended");
	sink_spool_close(sp);
	snprintf(path, sizeof(path), "%s/c.cuts", dir);
	fd = open(path, O_WRONLY);
	ok(fd >= 0 && pwrite(fd, "X", 1, 3) == 1, "first entry damaged");
	if (fd >= 0)
		close(fd);
	sp = sink_spool_open(dir, "c", "test", 1 << 20, 11, &err);
	n = sp ? sink_spool_cuts(sp, &v) : 0;
	ok(n == 1 && v[0].tag == 10 && v[0].rid == 5,
	   "the damaged one skipped, the next read (%zu)", n);
	if (!sp)
		return;
	{
		struct sink_spool_rec r;

		ok(sink_spool_next(sp, &r), "the record to ack");
		sink_spool_ack(sp, r.mark, true);
	}
	sink_spool_close(sp);
	ok(access(path, F_OK) < 0, "wholly acked: the cuts file removed too");
	sf_error_free(err);
}

/* The pack (--nats-batch) of the run that wrote a segment comes back with
 * its records, whatever the reading run's; a segment of the format before
 * (SFSPOOL1: no pack) is still read, as pack 0; a header whose pack was
 * changed fails its checksum. */
static void test_pack(void)
{
	struct sf_error *err = NULL;
	struct sink_spool *sp =
		sink_spool_open(dir, "p", "test", 1 << 20, 21, &err);
	struct sink_spool_rec r;
	cleanup_free char *seg = NULL;
	char h[24];
	uint32_t c;
	int fd;

	ok(sp != NULL, "opened");
	if (!sp)
		return;
	sink_spool_set_pack(sp, 16);
	sink_spool_add(sp, "a\n", 2, false, 1);
	sink_spool_commit(sp);
	sink_spool_close(sp);
	sp = sink_spool_open(dir, "p", "test", 1 << 20, 22, &err);
	sink_spool_set_pack(sp, 4);
	ok(sp && sink_spool_next(sp, &r) && r.tag == 21 && r.pack == 16,
	   "replayed with its writer's pack 16, not the reader's 4 (%u)",
	   sp ? r.pack : 0);
	sink_spool_close(sp); /* not acked: kept */

	/* the same segment as the format before wrote it */
	seg = last_seg("p");
	fd = open(seg, O_RDWR);
	ok(fd >= 0 && pread(fd, h, 24, 0) == 24, "header read");
	memcpy(h, "SFSPOOL1", 8);
	memset(h + 20, 0, 4);
	c = crc32(crc32(0, Z_NULL, 0), (const Bytef *)h, 16);
	memcpy(h + 16, &c, 4);
	ok(pwrite(fd, h, 24, 0) == 24, "rewritten as v1");
	sp = sink_spool_open(dir, "p", "test", 1 << 20, 23, &err);
	ok(sp && sink_spool_next(sp, &r) && r.tag == 21 && r.pack == 0 &&
		   r.len == 2 && memcmp(r.data, "a\n", 2) == 0,
	   "a v1 segment is replayed, with pack 0 (not told)");
	sink_spool_close(sp);

	/* a v2 header with its pack changed by hand: not replayed */
	memcpy(h, "SFSPOOL2", 8);
	c = crc32(crc32(crc32(0, Z_NULL, 0), (const Bytef *)h, 16),
		  (const Bytef *)"\x10\0\0\0", 4);
	memcpy(h + 16, &c, 4);
	memcpy(h + 20, "\x04\0\0\0", 4);
	ok(fd >= 0 && pwrite(fd, h, 24, 0) == 24, "pack changed to 4");
	sp = sink_spool_open(dir, "p", "test", 1 << 20, 24, &err);
	ok(sp && !sink_spool_next(sp, &r),
	   "a header whose pack does not match its checksum: not replayed");
	sink_spool_close(sp);
	if (fd >= 0)
		close(fd);
	unlink(seg);
	sf_error_free(err);
}

int main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/sf-unit-spool-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_replay();
	test_torn_and_damaged();
	test_damage_count();
	test_damage_running();
	test_bound_and_segments();
	test_lock();
	test_total();
	test_cuts();
	test_pack();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("# cannot remove %s\n", dir);
	return tap_done();
}
