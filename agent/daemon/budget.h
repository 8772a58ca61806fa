/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Budgets of the daemon's streams: what one container can cost the node.
 *
 * - --stream-rate R, --stream-burst B: a token bucket per stream (GCRA on
 *   the events' own kernel timestamps): at most B + R * t events in any t
 *   seconds are written.
 * - --stream-max-bytes: the stream's files together (rotated files kept
 *   included), counted on disk.
 * - --output-max-bytes: every file in the output directory together.
 *
 * The check sits in the consumer: the rate before an event is encoded, the
 * bytes right after (the record is taken back, seq included, when it does
 * not fit), so a refused event costs no write and leaves no gap in seq.
 * What is refused is counted per stream and told as stream.missed with
 * reason "quota", at most once a second, and in stream.end (missed_quota).
 * Stream records (start, missed, end) are never refused: a stream over its
 * bytes goes past them by those alone, at most one stream.missed a second.
 *
 * A stream that was refused an event is also paused in the kernel
 * (probe_pause): its events are then counted there, not put in the ring
 * buffer, so a flood cannot crowd other streams out of it.  The pause is
 * lifted at the next check (budget_check, every 200 ms) once tokens are back;
 * an event that still does not fit pauses it again.
 */
#ifndef SF_BUDGET_H
#define SF_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

/* Defaults (docs/hook.md, "Budgets"): what keeps a 2-core node healthy. */
#define BUDGET_DEFAULT_RATE	    10000 /* events/s per stream */
#define BUDGET_DEFAULT_BURST_SECS   5 /* burst: this many seconds of rate */
#define BUDGET_DEFAULT_STREAM_BYTES (1ull << 30)
#define BUDGET_DEFAULT_OUTPUT_PCT   10 /* of the output dir's file system */

struct agent;
struct workload;

/* The output directory, shared by every stream. */
struct budget_dir {
	int dirfd; /* not owned */
	uint64_t max; /* --output-max-bytes, 0: no limit */
	uint64_t used; /* bytes in its files: the last scan + charged since */
	uint64_t next_scan_ns; /* monotonic */
};

enum budget_why {
	BUDGET_RATE, /* --stream-rate */
	BUDGET_STREAM_BYTES, /* --stream-max-bytes */
	BUDGET_OUTPUT_BYTES, /* --output-max-bytes */
	BUDGET_NWHY,
};

struct budget {
	struct budget_dir *dir;
	uint64_t interval_ns; /* 1e9 / rate, 0: no rate limit */
	uint64_t tolerance_ns; /* (burst - 1) * interval_ns */
	uint64_t tat; /* GCRA: theoretical arrival time, boot ns */
	uint64_t max_bytes; /* --stream-max-bytes, 0: no limit */
	uint64_t used; /* bytes of the stream's files, charged since the sync */
	unsigned nfiles; /* file outputs: each record costs its size in each */
	unsigned sep_len; /* the format's separator in files (cadets: ",") */
	bool paused; /* the kernel drops its events (probe_pause) */
	bool refusing; /* refused since the last check: told on stderr */
	uint64_t seen_missed; /* missed at the last check */
	uint64_t missed; /* refused here, in all */
	uint64_t missed_kernel; /* refused by the kernel while paused, so far */
	uint64_t reported; /* told in stream.missed */
	uint64_t last_report_ns; /* monotonic */
	uint64_t why[BUDGET_NWHY]; /* refused since the last report, by cause */
};

struct sf_options;

/* A budget for wl from the options; NULL when none applies.  Needs the
 * stream's sinks opened.  Owned by the caller (budget_free). */
struct budget *budget_new(const struct sf_options *o, struct budget_dir *dir,
			  struct workload *wl);
void budget_free(struct budget *b);

/* Consumer, before an event is encoded (ts: its kernel boot-time stamp):
 * false when the rate refuses it (counted). */
bool budget_admit(struct agent *a, struct workload *wl, uint64_t ts);
/* Consumer, after the event was encoded from out.len == mark: charges its
 * bytes, or takes the record back (seq and events too) and counts it when
 * they do not fit. */
void budget_charge(struct agent *a, struct workload *wl, uint64_t mark);

/* Refused so far, the kernel's count included. */
uint64_t budget_missed(struct agent *a, struct workload *wl);
/* From the loss check: resumes the kernel side once tokens are back,
 * resyncs the stream's bytes with its files, and returns the loss due for a
 * stream.missed "quota" now (a second after the last report, or final), 0
 * for none.  The caller tells budget_reported() once the record is out. */
uint64_t budget_check(struct agent *a, struct workload *wl, bool final);
void budget_reported(struct workload *wl, uint64_t count);

/* The output directory: scans its files (at start, every second, SIGHUP). */
void budget_dir_scan(struct budget_dir *d, struct agent *a);
/* Scans when due. */
void budget_dir_tick(struct budget_dir *d, struct agent *a);

/* The options (the table in cli_opts.c calls budget_opt_parse; cli.c the
 * defaults before parsing and the check after). */
struct sf_opt;
int budget_opt_parse(struct sf_options *o, const struct sf_opt *d,
		     const char *arg, struct sf_error **err);
void budget_opt_defaults(struct sf_options *o);
int budget_opt_check(struct sf_options *o, struct sf_error **err);

/* "--output-max-bytes" from a size or a percentage of the file system. */
int budget_dir_limit(struct budget_dir *d, const struct sf_options *o,
		     const char *path, struct sf_error **err);

#endif
