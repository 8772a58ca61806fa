// SPDX-License-Identifier: GPL-2.0
/*
 * The daemon's stream budgets (agent/daemon/budget.c) on their own: the
 * token bucket on synthetic kernel timestamps, the bytes budgets over a real
 * file sink in a temp directory, the kernel pause and its counter, the once
 * a second report, the options.  A probe backend of the test's own stands in
 * for the BPF side's pause flag and counter (no BPF in unit tests); the
 * suite tests/45-budget.bats runs the same code against real containers.
 */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "agent.h"
#include "budget.h"
#include "cli.h"
#include "sink.h"
#include "tap.h"

struct fake {
	bool paused[SF_MAX_SLOTS];
	int pauses, resumes;
	uint64_t kernel_drops;
};

static struct fake fk;

static void fake_pause(struct probe *p, uint32_t slot, bool paused)
{
	fk.paused[slot] = paused;
	if (paused)
		fk.pauses++;
	else
		fk.resumes++;
}

static uint64_t fake_paused_drops(struct probe *p, uint32_t slot)
{
	return fk.kernel_drops;
}

static const struct probe_ops fake_ops = {
	.name = "test",
	.pause = fake_pause,
	.paused_drops = fake_paused_drops,
};

#define NS 1000000000ull

/* what the consumer does per event: admit, "encode" len bytes, charge */
static bool event(struct agent *a, struct workload *wl, uint64_t ts, size_t len)
{
	uint64_t mark = wl->out.len;
	char rec[512];

	if (!budget_admit(a, wl, ts))
		return false;
	memset(rec, 'x', len - 1);
	rec[len - 1] = '\n';
	sbuf_put(&wl->out, rec, len);
	wl->seq++;
	wl->events++;
	budget_charge(a, wl, mark);
	return wl->out.len > mark;
}

static void opts(struct sf_options *o, uint64_t rate, uint64_t burst,
		 uint64_t stream_bytes)
{
	memset(o, 0, sizeof(*o));
	o->mode = SF_MODE_DAEMON;
	o->stream_rate = rate;
	o->stream_burst = burst;
	o->stream_max_bytes = stream_bytes;
}

static void test_rate(struct agent *a)
{
	struct sf_options o;
	struct budget_dir dir = {.dirfd = -1};
	struct workload wl = {
		.slot = 7, .name = "w", .enc = encoder_find("json")};
	uint64_t t0 = 5 * NS, n = 0, q;

	opts(&o, 1000, 10, 0);
	wl.budget = budget_new(&o, &dir, &wl);
	ok(wl.budget != NULL, "a rate makes a budget, also without files");
	for (int i = 0; i < 20; i++)
		n += event(a, &wl, t0, 10);
	ok(n == 10, "a burst of 20 at once: the burst (10) admitted, got %llu",
	   (unsigned long long)n);
	ok(fk.paused[7] && fk.pauses == 1,
	   "the first refusal pauses the kernel side, once");
	ok(!event(a, &wl, t0 + NS / 2000, 10),
	   "half a token later: still refused");
	ok(event(a, &wl, t0 + NS / 1000, 10), "one interval later: one more");
	/* a second of a flood at 100k/s: about rate more get through */
	n = 0;
	for (uint64_t t = t0 + NS / 1000; t < t0 + NS + NS / 1000;
	     t += NS / 100000)
		n += event(a, &wl, t, 10);
	ok(n >= 999 && n <= 1001,
	   "a second of 100k/s: %llu admitted (rate 1000)",
	   (unsigned long long)n);
	ok(wl.events == wl.seq && wl.seq == 11 + n,
	   "admitted events are the ones with a seq");
	q = budget_check(a, &wl, false);
	ok(q == budget_missed(a, &wl) && q > 98000,
	   "the first check reports all refused so far (%llu)",
	   (unsigned long long)q);
	budget_reported(&wl, q);
	fk.kernel_drops = 5;
	ok(budget_check(a, &wl, false) == 0,
	   "within a second of a report: nothing more is reported");
	ok(budget_check(a, &wl, true) == 5,
	   "final: the rest, the kernel's count included");
	budget_reported(&wl, 5);
	ok(budget_missed(a, &wl) == q + 5, "missed: ours and the kernel's");
	ok(!fk.paused[7], "final: the kernel side is resumed");
	budget_free(wl.budget);
	sbuf_free(&wl.out);
	fk.kernel_drops = 0;
}

/* resumed once tokens are back (real time: the check reads CLOCK_BOOTTIME) */
static void test_resume(struct agent *a)
{
	struct sf_options o;
	struct budget_dir dir = {.dirfd = -1};
	struct workload wl = {
		.slot = 8, .name = "r", .enc = encoder_find("json")};
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = (uint64_t)ts.tv_sec * NS + ts.tv_nsec;
	opts(&o, 10, 1, 0);
	wl.budget = budget_new(&o, &dir, &wl);
	ok(event(a, &wl, now, 10) && !event(a, &wl, now, 10),
	   "burst 1: one, then refused");
	budget_check(a, &wl, false);
	ok(fk.paused[8], "no token yet at the check: still paused");
	nanosleep(&(struct timespec){.tv_nsec = 120000000}, NULL);
	budget_check(a, &wl, false);
	ok(!fk.paused[8], "a token back (0.1 s at 10/s): resumed at the check");
	budget_free(wl.budget);
	sbuf_free(&wl.out);
}

static void test_bytes(struct agent *a, const char *dir_path)
{
	cleanup_close int dfd = open(dir_path, O_RDONLY | O_DIRECTORY);
	struct sink_file_conf c = {0};
	struct sf_options o;
	struct budget_dir dir = {.dirfd = dfd};
	struct workload wl = {
		.slot = 9, .name = "b", .enc = encoder_find("json")};
	struct sf_error *err = NULL;
	int n = 0, seq;

	wl.sinks[wl.nsinks++] = sink_file_openat(
		dfd, "b.jsonl", -1, xstrdup("file `b.jsonl`"), &c, &err);
	ok(wl.sinks[0] != NULL, "a file sink in the directory");
	opts(&o, 0, 0, 8192);
	ok(budget_new(&o, &dir, &(struct workload){.name = "x"}) == NULL,
	   "no rate and no file: no budget");
	wl.budget = budget_new(&o, &dir, &wl);
	for (int i = 0; i < 100; i++) {
		n += event(a, &wl, i, 100);
		if (wl.out.len > 1000) {
			wl.sinks[0]->ops->write(wl.sinks[0], wl.out.data,
						wl.out.len, NULL);
			wl.out.len = 0;
		}
	}
	ok(n == 81, "8192 bytes take 81 records of 100, got %d", n);
	seq = wl.seq;
	ok(seq == 81 && wl.events == 81,
	   "a record that does not fit is taken back, seq and all");
	ok(budget_check(a, &wl, true) == 19, "19 counted");
	ok(sink_file_bytes(wl.sinks[0]) + wl.out.len <= 8192,
	   "the file stays within the budget");
	budget_free(wl.budget);

	/* the directory: 8192 in all, 4000 there already */
	{
		cleanup_free char *old = xasprintf("%s/old", dir_path);
		int fd = open(old, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		char buf[4000];

		memset(buf, 'o', sizeof(buf));
		ok(fd >= 0 && write(fd, buf, sizeof(buf)) == sizeof(buf),
		   "4000 bytes of someone else's");
		close(fd);
	}
	opts(&o, 0, 0, 0);
	dir.max = 8192;
	wl.out.len = 0;
	wl.budget = budget_new(&o, &dir, &wl);
	budget_dir_scan(&dir, a);
	ok(dir.used == 4000 + sink_file_bytes(wl.sinks[0]),
	   "the scan counts every regular file (%llu)",
	   (unsigned long long)dir.used);
	n = 0;
	for (int i = 0; i < 100; i++)
		n += event(a, &wl, i, 100);
	ok(n == 0, "the directory is full: nothing more (%d)", n);
	{
		cleanup_free char *old = xasprintf("%s/old", dir_path);
		uint64_t room;

		unlink(old);
		budget_dir_scan(&dir, a);
		room = (dir.max - dir.used) / 100;
		n = 0;
		for (int i = 0; i < 100; i++)
			n += event(a, &wl, i, 100);
		ok(room > 0 && (uint64_t)n == room,
		   "space freed, seen at the next scan: %d more (room for %llu)",
		   n, (unsigned long long)room);
	}
	budget_free(wl.budget);
	sink_close(wl.sinks[0]);
	sbuf_free(&wl.out);
	sf_error_free(err);
}

static int parse(const char *name, const char *arg, struct sf_options *o)
{
	cleanup_error struct sf_error *err = NULL;

	for (size_t i = 0; i < cli_opts_count; i++)
		if (cli_opts[i].name && !strcmp(cli_opts[i].name, name))
			return budget_opt_parse(o, &cli_opts[i], arg, &err);
	return -2;
}

static void test_options(void)
{
	struct sf_options o = {0};

	budget_opt_defaults(&o);
	o.mode = SF_MODE_DAEMON;
	ok(budget_opt_check(&o, NULL) == 0 && o.stream_rate == 10000 &&
		   o.stream_burst == 50000 &&
		   o.stream_max_bytes == 1ull << 30 && o.output_max_pct == 10,
	   "defaults: 10000/s, burst 50000, 1G, 10%%");
	ok(parse("stream-max-bytes", "4K", &o) == 0 &&
		   o.stream_max_bytes == 4096,
	   "4K");
	ok(parse("stream-max-bytes", "1P", &o) == 0 &&
		   o.stream_max_bytes == 1ull << 50,
	   "1P");
	ok(parse("stream-max-bytes", "off", &o) == 0 && !o.stream_max_bytes,
	   "off");
	ok(parse("output-max-bytes", "25%", &o) == 0 &&
		   o.output_max_pct == 25 && !o.output_max_bytes,
	   "25%%");
	ok(parse("output-max-bytes", "3G", &o) == 0 && !o.output_max_pct &&
		   o.output_max_bytes == 3ull << 30,
	   "3G");
	for (const char *const *b =
		     (const char *const[]){"-1", "0", "4095", "2P", "1025T",
					   "1.5G", "1X", "", "K",
					   "18446744073709551616", NULL};
	     *b; b++)
		ok(parse("stream-max-bytes", *b, &o) < 0,
		   "stream-max-bytes `%s` refused", *b);
	for (const char *const *b = (const char *const[]){"0%", "101%", "-5%",
							  "%", "off%", NULL};
	     *b; b++)
		ok(parse("output-max-bytes", *b, &o) < 0,
		   "output-max-bytes `%s` refused", *b);
	ok(parse("stream-rate", "10000001", &o) < 0 &&
		   parse("stream-rate", "-1", &o) < 0 &&
		   parse("stream-rate", "0", &o) < 0 &&
		   parse("stream-burst", "off", &o) < 0,
	   "rate and burst out of range refused");
	o.stream_rate = 0;
	o.stream_burst = 5;
	ok(budget_opt_check(&o, NULL) < 0, "a burst without a rate refused");
	o.mode = SF_MODE_EXECUTE;
	ok(budget_opt_check(&o, NULL) == 0 && !o.stream_burst &&
		   !o.output_max_pct,
	   "outside -D: no budget");
}

int main(void)
{
	char tmpl[] = "/tmp/sf-budget-XXXXXX";
	struct agent a = {0};
	char *dir = mkdtemp(tmpl);

	a.probe.ops = &fake_ops;
	test_rate(&a);
	test_resume(&a);
	test_bytes(&a, dir);
	test_options();
	{
		cleanup_free char *f = xasprintf("%s/b.jsonl", dir);

		unlink(f);
	}
	rmdir(dir);
	return tap_done();
}
