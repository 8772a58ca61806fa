// SPDX-License-Identifier: GPL-2.0
/*
 * Filter micro-benchmark: the agent's cost per event of a filter
 * (agent/filter) on decoded events (agent/encoders/decode.h), as the
 * consumer pays it between decode and encode: filter_plan_eval() with the
 * event-key accessor filter_event_get().  Single-threaded, no I/O.
 *   filterbench [N]   prints ns/event for each filter: the best of five
 *                     rounds of N events, in this thread's CPU time
 * The filters have five terms; "per event" ones name only event keys, so
 * every event is looked at (no verdict from the type alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "filter.h"
#include "filter_event.h"
#include "sfagent.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	/* this thread's CPU time: a loaded machine's preemptions do not count */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill(struct sf_hdr *h, unsigned type, unsigned nr, unsigned uid,
		 const char *comm, long ret)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->flags = SF_F_HAS_RET;
	h->slot = 1;
	h->ts_boot = 123456789012345ull;
	h->cgid = 8812;
	h->pid = 123456;
	h->tid = 123456;
	h->ppid = 123400;
	h->uid = uid;
	h->euid = uid;
	h->ret = ret;
	h->syscall = nr;
	strncpy(h->comm, comm, sizeof(h->comm) - 1);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name, *expr;
	} filters[] = {
		{"5 event-key terms",
		 "[comm = sshd] | [uid = 0] & [path = /etc/*] | [ret < 0] & [pid > 1]"},
		{"5 terms, types first",
		 "[type file] & [path = /etc/*] | [type process.exec] & [uid = 0] | [comm = sshd]"},
		{"type only (kernel decides)", "[type process] | [type net]"},
	};
	static struct sf_file_event f1, f2;
	static struct sf_exec_event x;
	static struct sf_net_event n;
	const void *raw[4] = {&f1, &f2, &x, &n};
	size_t sizes[4] = {sizeof(f1), sizeof(f2), sizeof(x), sizeof(n)};
	struct decode_event v[4];
	long iters = argc > 1 ? atol(argv[1]) : 5000000;

	fill(&f1.hdr, SF_EV_OPEN, 257, 0, "cat", 3);
	strcpy(f1.path, "/etc/passwd");
	fill(&f2.hdr, SF_EV_OPEN, 257, 1000, "python3", -2);
	strcpy(f2.path, "/home/u/.cache/pip/http/x/y/z/some-long-file-name");
	fill(&x.hdr, SF_EV_EXEC, 59, 1000, "bash", 0);
	strcpy(x.filename, "/usr/bin/ls");
	fill(&n.hdr, SF_EV_CONNECT, 42, 1000, "curl", 0);
	n.family = 2;
	n.port = 443;
	for (int i = 0; i < 4; i++)
		if (decode_event(&v[i], raw[i], sizes[i]) < 0) {
			fprintf(stderr, "filterbench: event %d does not decode\n",
				i);
			return 1;
		}
	for (size_t k = 0; k < sizeof(filters) / sizeof(filters[0]); k++) {
		struct sf_error *err = NULL;
		struct filter *f = filter_parse(filters[k].expr, "filter", &err);
		struct filter_plan *p;
		unsigned long pass = 0;
		uint64_t t0;
		double ns;

		if (!f) {
			fprintf(stderr, "filterbench: %s\n", err->msg);
			return 1;
		}
		p = filter_bind(f, NULL, NULL);
		ns = 1e9;
		for (int round = 0; round < 5; round++) {
			double r;

			pass = 0;
			t0 = now_ns();
			for (long i = 0; i < iters; i++) {
				const struct decode_event *e = &v[i & 3];

				pass += filter_plan_eval(p, e->type,
							 filter_event_get, e);
			}
			r = (double)(now_ns() - t0) / iters;
			ns = r < ns ? r : ns;
		}
		printf("%-28s %6.1f ns/event  (%lu of %ld pass)  %s\n",
		       filters[k].name, ns, pass, iters, filters[k].expr);
		filter_plan_free(p);
		filter_free(f);
	}
	return 0;
}
