// SPDX-License-Identifier: GPL-2.0
/* Budgets of the daemon's streams (see budget.h). */
#include "budget.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

#include "agent.h"
#include "cli.h"
#include "sink.h"

#define REPORT_NS   (1000 * 1000000ull) /* stream.missed "quota": 1/s */
#define DIR_SCAN_NS (1000 * 1000000ull)

static const char *const why_name[BUDGET_NWHY] = {
	[BUDGET_RATE] = "--stream-rate",
	[BUDGET_STREAM_BYTES] = "--stream-max-bytes",
	[BUDGET_OUTPUT_BYTES] = "--output-max-bytes",
};

static uint64_t boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* What the stream's files hold now, with what is encoded but not written. */
static uint64_t stream_bytes(struct workload *wl, unsigned nfiles)
{
	uint64_t n = (uint64_t)wl->out.len * nfiles;

	for (int i = 0; i < wl->nsinks; i++)
		if (sink_file_is(wl->sinks[i]))
			n += sink_file_bytes(wl->sinks[i]);
	return n;
}

struct budget *budget_new(const struct sf_options *o, struct budget_dir *dir,
			  struct workload *wl)
{
	struct budget *b;
	unsigned nfiles = 0;

	for (int i = 0; i < wl->nsinks; i++)
		nfiles += sink_file_is(wl->sinks[i]);
	if (!o->stream_rate && !((o->stream_max_bytes || dir->max) && nfiles))
		return NULL;
	b = xzalloc(sizeof(*b));
	b->dir = dir;
	if (o->stream_rate) {
		b->interval_ns = 1000000000ull / o->stream_rate;
		if (!b->interval_ns)
			b->interval_ns = 1;
		b->tolerance_ns = (o->stream_burst - 1) * b->interval_ns;
	}
	b->max_bytes = o->stream_max_bytes;
	b->nfiles = nfiles;
	b->sep_len = wl->enc->file_separator ? strlen(wl->enc->file_separator)
					     : 0;
	b->used = stream_bytes(wl, nfiles);
	return b;
}

void budget_free(struct budget *b)
{
	free(b);
}

/*
 * Counts a refused event.  The kernel is told to stop sending the stream's
 * events until the next check (budget_check), so the rest of a flood does
 * not fill the ring buffer that every stream shares.
 */
static void refuse(struct agent *a, struct workload *wl, enum budget_why why)
{
	struct budget *b = wl->budget;

	if (!b->refusing)
		log_warn(
			"workload `%s`: over its budget (%s): events are dropped and counted as stream.missed \"quota\"",
			wl->name, why_name[why]);
	b->refusing = true;
	b->why[why]++;
	b->missed++;
	if (!b->paused) {
		probe_pause(&a->probe, wl->slot, true);
		b->paused = true;
	}
}

bool budget_admit(struct agent *a, struct workload *wl, uint64_t ts)
{
	struct budget *b = wl->budget;

	if (!b->interval_ns)
		return true;
	/* GCRA: an event earlier than tat - tolerance finds the bucket empty */
	if (b->tat > b->tolerance_ns && ts < b->tat - b->tolerance_ns) {
		refuse(a, wl, BUDGET_RATE);
		return false;
	}
	b->tat = (b->tat > ts ? b->tat : ts) + b->interval_ns;
	return true;
}

void budget_charge(struct agent *a, struct workload *wl, uint64_t mark)
{
	struct budget *b = wl->budget;
	uint64_t cost;

	if (!b->nfiles)
		return;
	cost = (wl->out.len - mark + b->sep_len) * b->nfiles;
	if (b->max_bytes && b->used + cost > b->max_bytes) {
		refuse(a, wl, BUDGET_STREAM_BYTES);
	} else if (b->dir->max && b->dir->used + cost > b->dir->max) {
		refuse(a, wl, BUDGET_OUTPUT_BYTES);
	} else {
		b->used += cost;
		b->dir->used += cost;
		return;
	}
	/* taken back: no write, no gap in seq */
	wl->out.len = mark;
	wl->seq--;
	wl->events--;
}

uint64_t budget_missed(struct agent *a, struct workload *wl)
{
	struct budget *b = wl->budget;

	if (!b)
		return 0;
	b->missed_kernel = probe_paused_drops(&a->probe, wl->slot);
	return b->missed + b->missed_kernel;
}

uint64_t budget_check(struct agent *a, struct workload *wl, bool final)
{
	struct budget *b = wl->budget;
	uint64_t now = sf_monotonic_ns(), missed;

	if (!b)
		return 0;
	/* tokens are back: let the kernel send again (an event that does not
	 * fit pauses it again at once) */
	if (b->paused &&
	    (final || !b->interval_ns || b->tat <= b->tolerance_ns ||
	     boot_ns() >= b->tat - b->tolerance_ns)) {
		probe_pause(&a->probe, wl->slot, false);
		b->paused = false;
	}
	if (b->nfiles)
		b->used = stream_bytes(wl, b->nfiles);
	missed = budget_missed(a, wl);
	if (missed == b->seen_missed)
		b->refusing = false; /* the next refusal is told again */
	b->seen_missed = missed;
	if (missed <= b->reported ||
	    (!final && now - b->last_report_ns < REPORT_NS))
		return 0;
	log_debug(
		"workload `%s`: %llu events over budget (since the last report, refused here: rate %llu, stream bytes %llu, output bytes %llu; in all, not sent by the kernel: %llu)",
		wl->name, (unsigned long long)(missed - b->reported),
		(unsigned long long)b->why[BUDGET_RATE],
		(unsigned long long)b->why[BUDGET_STREAM_BYTES],
		(unsigned long long)b->why[BUDGET_OUTPUT_BYTES],
		(unsigned long long)b->missed_kernel);
	return missed - b->reported;
}

void budget_reported(struct workload *wl, uint64_t count)
{
	struct budget *b = wl->budget;

	b->reported += count;
	b->last_report_ns = sf_monotonic_ns();
	memset(b->why, 0, sizeof(b->why));
}

void budget_dir_scan(struct budget_dir *d, struct agent *a)
{
	uint64_t used = 0;
	struct dirent *de;
	DIR *dir;
	int fd;

	d->next_scan_ns = sf_monotonic_ns() + DIR_SCAN_NS;
	if (!d->max)
		return;
	fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return;
	}
	while ((de = readdir(dir))) {
		struct stat st;

		if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			used += st.st_size;
	}
	closedir(dir);
	/* encoded, charged, not written yet */
	for (struct workload *wl = a->wl.active; wl; wl = wl->next)
		if (wl->budget)
			used += (uint64_t)wl->out.len * wl->budget->nfiles;
	d->used = used;
}

void budget_dir_tick(struct budget_dir *d, struct agent *a)
{
	if (sf_monotonic_ns() >= d->next_scan_ns)
		budget_dir_scan(d, a);
}

int budget_dir_limit(struct budget_dir *d, const struct sf_options *o,
		     const char *path, struct sf_error **err)
{
	struct statvfs vfs;

	d->max = o->output_max_bytes;
	if (!o->output_max_pct)
		return 0;
	if (fstatvfs(d->dirfd, &vfs) < 0)
		return sf_fail(err, errno, "size of the file system of `%s`",
			       path);
	d->max =
		(uint64_t)vfs.f_blocks * vfs.f_frsize / 100 * o->output_max_pct;
	log_info("--output-max-bytes %u%% of `%s`'s file system: %llu MiB",
		 o->output_max_pct, path, (unsigned long long)(d->max >> 20));
	return 0;
}

/* N from 1 to max, or "off" (0: no limit). */
static int parse_count(const char *s, unsigned long max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!strcmp(s, "off")) {
		*out = 0;
		return 0;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* N[KMGTP] bytes (powers of 1024) from 4K to 1P, or "off" (0: no limit). */
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
	if (*s < '0' || *s > '9')
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

/* --output-max-bytes: a size, or N% of the output directory's file system */
static int parse_output_max(struct sf_options *o, const char *arg)
{
	size_t n = strlen(arg);
	cleanup_free char *num = NULL;
	uint64_t pct;

	o->output_max_pct = 0;
	if (n < 2 || arg[n - 1] != '%')
		return parse_bytes(arg, &o->output_max_bytes);
	num = xstrndup(arg, n - 1);
	if (!strcmp(num, "off") || parse_count(num, 100, &pct) < 0)
		return -1;
	o->output_max_pct = pct;
	o->output_max_bytes = 0;
	return 0;
}

#define OPT_IS(d, field) ((d)->off == offsetof(struct sf_options, field))

int budget_opt_parse(struct sf_options *o, const struct sf_opt *d,
		     const char *arg, struct sf_error **err)
{
	if (OPT_IS(d, stream_rate) &&
	    parse_count(arg, 10000000, &o->stream_rate) < 0)
		return sf_usage(
			err,
			"bad --stream-rate `%s`: want events per second from 1 to 10000000, or off",
			arg);
	if (OPT_IS(d, stream_burst) &&
	    (strcmp(arg, "off") == 0 ||
	     parse_count(arg, 100000000, &o->stream_burst) < 0))
		return sf_usage(
			err,
			"bad --stream-burst `%s`: want events from 1 to 100000000",
			arg);
	if (OPT_IS(d, stream_max_bytes) &&
	    parse_bytes(arg, &o->stream_max_bytes) < 0)
		return sf_usage(
			err,
			"bad --stream-max-bytes `%s`: want a size from 4K to 1P (suffix K, M, G, T or P), or off",
			arg);
	if (OPT_IS(d, output_max_bytes) && parse_output_max(o, arg) < 0)
		return sf_usage(
			err,
			"bad --output-max-bytes `%s`: want a size from 4K to 1P (suffix K, M, G, T or P), a share of the file system from 1%% to 100%%, or off",
			arg);
	return 0;
}

void budget_opt_defaults(struct sf_options *o)
{
	o->stream_rate = BUDGET_DEFAULT_RATE;
	o->stream_burst = 0; /* BUDGET_DEFAULT_BURST_SECS x the rate */
	o->stream_max_bytes = BUDGET_DEFAULT_STREAM_BYTES;
	o->output_max_bytes = 0;
	o->output_max_pct = BUDGET_DEFAULT_OUTPUT_PCT;
}

int budget_opt_check(struct sf_options *o, struct sf_error **err)
{
	if (o->mode != SF_MODE_DAEMON) {
		/* given elsewhere, the table refused them already */
		o->stream_rate = o->stream_burst = 0;
		o->stream_max_bytes = o->output_max_bytes = 0;
		o->output_max_pct = 0;
		return 0;
	}
	if (o->stream_burst && !o->stream_rate)
		return sf_usage(
			err, "--stream-burst needs a --stream-rate (not off)");
	if (!o->stream_burst)
		o->stream_burst = o->stream_rate * BUDGET_DEFAULT_BURST_SECS;
	return 0;
}
