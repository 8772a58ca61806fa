// SPDX-License-Identifier: GPL-2.0
/*
 * Encoder micro-benchmark: decode (agent/encoders/decode.c) + the native JSON
 * encoder (agent/encoders/encode_json.c on
 * the hand-written writer agent/sbuf.c) against the same records written
 * with yajl_gen, on the same synthetic events, single-threaded, no I/O.
 *   encbench [N [sbuf [FORMAT]]]   prints ns/record for each (kind, writer),
 *                         then for the other formats (writer: the format's
 *                         name); "sbuf" skips yajl, FORMAT runs that format
 *                         only (for profiling)
 * Times are the bench thread's CPU time (CLOCK_THREAD_CPUTIME_ID): on a
 * shared machine wall time counts the other users' time slices too.
 * yajl_gen is measured with UTF-8 validation off (the fast setting); it then
 * passes invalid UTF-8 through and writes invalid JSON, and with validation
 * on it refuses such strings: see tests/unit/test_sbuf.c for what the
 * hand-written writer does instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yajl/yajl_gen.h>

#include "encode.h"
#include "sfagent.h"
#include "workload.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill(struct sf_hdr *h, unsigned type, unsigned nr)
{
	h->type = type;
	h->flags = SF_F_HAS_RET;
	h->slot = 1;
	h->ts_boot = 123456789012345ull;
	h->cgid = 8812;
	h->pid = 123456;
	h->tid = 123456;
	h->ppid = 123400;
	h->uid = 1000;
	h->gid = 1000;
	h->euid = 1000;
	h->ret = 3;
	h->syscall = nr;
	strcpy(h->comm, "loadgen");
}

/* the same fields json_event() writes, through yajl_gen */
static void yajl_str(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}
static void yajl_kv_u(yajl_gen g, const char *k, unsigned long long v)
{
	yajl_str(g, k);
	yajl_gen_integer(g, (long long)v);
}

static void yajl_event(yajl_gen g, const struct workload *wl, uint64_t seq,
		       uint64_t ts, const struct sf_hdr *h)
{
	yajl_gen_map_open(g);
	yajl_str(g, "type");
	yajl_str(g, decode_type_name(h->type));
	yajl_kv_u(g, "seq", seq);
	yajl_kv_u(g, "ts", ts);
	yajl_str(g, "workload");
	yajl_str(g, wl->name);
	yajl_kv_u(g, "pid", h->pid);
	yajl_kv_u(g, "tid", h->tid);
	yajl_kv_u(g, "ppid", h->ppid);
	yajl_kv_u(g, "uid", h->uid);
	yajl_kv_u(g, "gid", h->gid);
	yajl_kv_u(g, "euid", h->euid);
	yajl_str(g, "comm");
	yajl_gen_string(g, (const unsigned char *)h->comm, strnlen(h->comm, SF_COMM_LEN));
	yajl_kv_u(g, "cgroup", h->cgid);
	yajl_str(g, "syscall");
	yajl_str(g, decode_syscall_name(h->syscall));
	yajl_kv_u(g, "ret", h->ret);
	if (h->type == SF_EV_KILL) {
		const struct sf_kill_event *e = (const void *)h;

		yajl_kv_u(g, "target_pid", e->target_pid);
		yajl_str(g, "sig");
		yajl_str(g, "0");
	} else {
		const struct sf_file_event *e = (const void *)h;

		yajl_str(g, "path");
		yajl_gen_string(g, (const unsigned char *)e->path, strnlen(e->path, SF_PATH_MAX));
		yajl_str(g, "dirfd");
		yajl_str(g, "AT_FDCWD");
		yajl_str(g, "flags");
		yajl_gen_array_open(g);
		yajl_str(g, "O_RDONLY");
		yajl_gen_array_close(g);
		yajl_kv_u(g, "fd", h->ret);
	}
	yajl_gen_map_close(g);
}

/* what the agent does per record: decode once, then encode */
static void encode_one(const struct encoder *enc, struct sbuf *o,
		       const struct workload *wl, uint64_t seq, uint64_t ts,
		       const void *ev, size_t size)
{
	struct decode_event v;

	if (decode_event(&v, ev, size) == DECODE_OK)
		enc->ops->event(o, wl, seq, ts, &v);
}

static void bench_sbuf(const struct encoder *enc, const char *kind, long n,
		       const struct workload *wl, const void *ev, size_t size)
{
	struct sbuf o = { 0 };
	uint64_t t0, t1;
	size_t bytes = 0;

	if (enc->ops->release) { /* a stateful encoder: its stream begun */
		struct stream_info si = { .exporter = "x", .mode = "execute" };

		enc->ops->stream_start(&o, wl, 0, 1, &si);
	}
	for (long j = 0; j < n / 10; j++) { /* warm up */
		o.len = 0;
		encode_one(enc, &o, wl, j, 1795395689570860620ull, ev, size);
	}
	o.len = 0;
	t0 = now_ns();
	for (long j = 0; j < n; j++) {
		if (o.len > (256u << 10)) {
			bytes += o.len;
			o.len = 0;
		}
		encode_one(enc, &o, wl, j, 1795395689570860620ull + j, ev, size);
	}
	/* an encoder that holds a block back (sysflow) closes it here */
	if (enc->ops->flush)
		enc->ops->flush(&o, wl);
	t1 = now_ns();
	bytes += o.len;
	printf("%-12s %-7s %6.1f ns/record  %zu bytes/record\n", kind,
	       strcmp(enc->name, "json") ? enc->name : "sbuf",
	       (double)(t1 - t0) / n, bytes / n);
	if (enc->ops->release)
		enc->ops->release((struct workload *)wl);
	sbuf_free(&o);
}

/* json (writer "sbuf", against yajl), then quixote and cadets:
 * decode + encode per record, as the agent's consumer does */
int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 2000000;
	struct workload wl = { .slot = 1, .name = "loadgen", .cgid = 8812 };
	static struct sf_kill_event k;
	static struct sf_file_event f;
	const void *evs[2] = { &k, &f };
	size_t sizes[2] = { sizeof(k), sizeof(f) };
	const char *names[2] = { "signal.kill", "file.open" };
	struct sbuf o = { 0 };
	size_t nenc;
	const struct encoder *encs = encoder_table(&nenc);
	const char *only = argc > 3 ? argv[3] : NULL;

	fill(&k.hdr, SF_EV_KILL, 62);
	k.target_pid = 123456;
	fill(&f.hdr, SF_EV_OPEN, 257);
	f.arg0 = -100;
	strcpy(f.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	for (int i = 0; i < 2 && !only; i++) {
		uint64_t t0, t1;

		bench_sbuf(encoder_find("json"), names[i], n, &wl, evs[i], sizes[i]);
		if (argc > 2 && !strcmp(argv[2], "sbuf"))
			continue;
		yajl_gen g = yajl_gen_alloc(NULL);

		t0 = now_ns();
		for (long j = 0; j < n; j++) {
			const unsigned char *buf;
			size_t len;

			yajl_event(g, &wl, j, 1795395689570860620ull + j, evs[i]);
			yajl_gen_get_buf(g, &buf, &len);
			sbuf_put(&o, buf, len);
			sbuf_putc(&o, '\n');
			yajl_gen_clear(g);
			yajl_gen_reset(g, NULL);
			if (o.len > (256u << 10))
				o.len = 0;
		}
		t1 = now_ns();
		o.len = 0;
		yajl_gen_free(g);
		printf("%-12s yajl  %6.1f ns/record\n", names[i], (double)(t1 - t0) / n);
	}
	for (size_t e = 0; e < nenc; e++) {
		if (only ? strcmp(encs[e].name, only)
			 : !strcmp(encs[e].name, "json"))
			continue;
		for (int i = 0; i < 2; i++)
			bench_sbuf(&encs[e], names[i], n, &wl, evs[i], sizes[i]);
	}
	sbuf_free(&o);
	return 0;
}
