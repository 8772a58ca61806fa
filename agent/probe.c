// SPDX-License-Identifier: GPL-2.0
#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>

#include "sfagent.h"
#include "sfagent.skel.h"

#define DEFAULT_BTF "/sys/kernel/btf/vmlinux"

/* The BPF backend's state (probe->state). */
struct probe_bpf {
	struct sfagent_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int nlinks;
	int ncpus;
};

static struct probe_bpf *bpf_of(struct probe *p)
{
	return p->state;
}

/* Syscalls whose exit we export (tracepoint syscalls/sys_exit_<tp>): the
 * one list in bpf/syscalls.def, which the BPF side's dispatch comes from. */
struct exported_syscall {
	const char *tp;
	unsigned flags; /* SF_SC_* */
};

static const struct exported_syscall exported_syscalls[] = {
#define SF_SYSCALL(tp, nr, class, flags) {#tp, flags},
#include "syscalls.def"
#undef SF_SYSCALL
};

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	cleanup_free char *buf = NULL;
	char *line, *save = NULL;

	/* the verifier's log comes in one piece and its verdict is at the
	 * end: keep all of it, one log line per line */
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		sf_log(level == LIBBPF_WARN ? SF_LOG_INFO : SF_LOG_DEBUG, "%s",
		       line);
	return 0;
}

static bool is_fs(const char *path, long magic)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == magic;
}

static int mount_if_absent(const char *path, const char *type, long magic,
			   struct sf_error **err)
{
	if (is_fs(path, magic))
		return 0;
	if (mount(type, path, type, 0, NULL) < 0)
		return sf_fail(
			err, errno,
			"%s is not mounted at %s and mounting it failed (fix: `mount -t %s %s %s`)",
			type, path, type, type, path);
	log_info("mounted %s at %s", type, path);
	return 0;
}

int probe_mount_fs(struct sf_error **err)
{
	if (mount_if_absent("/sys/fs/bpf", "bpf", BPF_FS_MAGIC, err) < 0)
		return -1;
	/* libbpf finds syscall tracepoints under /sys/kernel/tracing unless
	 * debugfs has them */
	if (access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return 0;
	return mount_if_absent("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC,
			       err);
}

static int add_link(struct probe *p, struct bpf_link *l, const char *what,
		    struct sf_error **err)
{
	struct probe_bpf *b = bpf_of(p);

	if (!l)
		return sf_fail(err, errno, "attach BPF program to %s", what);
	b->links = xrealloc(b->links, (b->nlinks + 1) * sizeof(*b->links));
	b->links[b->nlinks++] = l;
	return 0;
}

static bool syscall_tp_exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/syscalls/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* Attaches prog to syscalls/<prefix><tp> of every exported syscall that
 * has all of the flags in `need`. */
static int attach_syscalls(struct probe *p, struct bpf_program *prog,
			   const char *prefix, unsigned need,
			   struct sf_error **err)
{
	const char *dir = access("/sys/kernel/debug/tracing/events", F_OK) == 0
				  ? "/sys/kernel/debug/tracing"
				  : "/sys/kernel/tracing";
	size_t n = sizeof(exported_syscalls) / sizeof(exported_syscalls[0]);

	for (size_t i = 0; i < n; i++) {
		const struct exported_syscall *sc = &exported_syscalls[i];
		char tp[64];

		if ((sc->flags & need) != need)
			continue;
		snprintf(tp, sizeof(tp), "%s%s", prefix, sc->tp);
		if (!syscall_tp_exists(dir, tp)) {
			/* an optional one is newer than some kernels; every other
			 * one must be there, or a whole class of events would be
			 * silently missing */
			if (sc->flags & SF_SC_OPTIONAL) {
				log_debug(
					"no tracepoint syscalls/%s on this kernel",
					tp);
				continue;
			}
			return sf_fail(
				err, 0,
				"tracepoint syscalls/%s not found under %s/events: sfagent needs a kernel with CONFIG_FTRACE_SYSCALLS=y",
				tp, dir);
		}
		if (add_link(p,
			     bpf_program__attach_tracepoint(prog, "syscalls",
							    tp),
			     tp, err) < 0)
			return -1;
	}
	return 0;
}

static int bpf_open(struct probe *p, const struct probe_opts *o,
		    struct sf_error **err)
{
	const char *btf = o->btf_path ? o->btf_path : DEFAULT_BTF;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct probe_bpf *b;
	struct sfagent_bpf *s;
	struct stat st;
	int r;

	libbpf_set_print(libbpf_log);
	if (stat(btf, &st) < 0 || st.st_size == 0)
		return sf_fail(
			err, 0,
			"kernel BTF not found at %s: sfagent needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
			btf);
	if (probe_mount_fs(err) < 0)
		return -1;
	b = p->state = xzalloc(sizeof(*b));
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0)
		return sf_fail(err, -b->ncpus, "count possible CPUs");

	s = sfagent_bpf__open_opts(&oo);
	if (!s)
		return sf_fail(err, errno, "open BPF object");
	b->skel = s;
	r = bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes);
	if (r < 0)
		return sf_fail(err, -r, "set ring buffer size to %u bytes",
			       o->ringbuf_bytes);
	/* wake the agent early once an eighth of the ring waits */
	s->rodata->wake_bytes = o->ringbuf_bytes / 8;
	r = sfagent_bpf__load(s);
	if (r < 0) {
		char msg[128];

		libbpf_strerror(r, msg, sizeof(msg));
		return sf_fail(
			err, 0,
			"load BPF programs: %s (kernel BTF %s; run with -d FILE for libbpf's and the verifier's log)",
			msg, btf);
	}
	b->rb = ring_buffer__new(bpf_map__fd(s->maps.events), o->on_event,
				 o->ctx, NULL);
	if (!b->rb)
		return sf_fail(err, errno, "create ring buffer reader");
	log_debug("BPF loaded: ring buffer %u bytes", o->ringbuf_bytes);
	return 0;
}

static void bpf_detach(struct probe *p)
{
	struct probe_bpf *b = bpf_of(p);

	for (int i = 0; i < b->nlinks; i++)
		bpf_link__destroy(b->links[i]);
	free(b->links);
	b->links = NULL;
	b->nlinks = 0;
}

static int bpf_attach(struct probe *p, struct sf_error **err)
{
	struct sfagent_bpf *s = bpf_of(p)->skel;

	if (add_link(p, bpf_program__attach(s->progs.sf_exec),
		     "sched_process_exec", err) < 0 ||
	    add_link(p, bpf_program__attach(s->progs.sf_fork),
		     "sched_process_fork", err) < 0 ||
	    add_link(p, bpf_program__attach(s->progs.sf_exit),
		     "sched_process_exit", err) < 0 ||
	    add_link(p, bpf_program__attach(s->progs.sf_capable), "cap_capable",
		     err) < 0 ||
	    add_link(p, bpf_program__attach(s->progs.sf_sys_exit_compat),
		     "sys_exit (32-bit syscalls)", err) < 0)
		goto fail;
	if (attach_syscalls(p, s->progs.sf_sys_exit, "sys_exit_", 0, err) < 0 ||
	    attach_syscalls(p, s->progs.sf_sys_enter_cred, "sys_enter_",
			    SF_SC_ENTER, err) < 0)
		goto fail;
	log_debug("BPF attached: %d links", bpf_of(p)->nlinks);
	return 0;
fail:
	bpf_detach(p);
	return -1;
}

static void bpf_close(struct probe *p)
{
	struct probe_bpf *b = bpf_of(p);

	if (!b)
		return;
	bpf_detach(p);
	ring_buffer__free(b->rb);
	sfagent_bpf__destroy(b->skel);
	free(b);
	p->state = NULL;
}

static void bump_gen(struct probe_bpf *b)
{
	__atomic_add_fetch(&b->skel->bss->track_gen, 1, __ATOMIC_SEQ_CST);
}

static int bpf_track(struct probe *p, uint64_t cgid, uint32_t slot,
		     struct sf_error **err)
{
	struct probe_bpf *b = bpf_of(p);
	int r = bpf_map__update_elem(b->skel->maps.tracked, &cgid, sizeof(cgid),
				     &slot, sizeof(slot), BPF_ANY);

	if (r < 0)
		return sf_fail(err, -r, "track cgroup %llu",
			       (unsigned long long)cgid);
	bump_gen(b);
	return 0;
}

static int bpf_untrack(struct probe *p, uint64_t cgid)
{
	struct probe_bpf *b = bpf_of(p);
	int r = bpf_map__delete_elem(b->skel->maps.tracked, &cgid, sizeof(cgid),
				     0);

	bump_gen(b);
	return r;
}

/* The slot's sf_drop counters summed over CPUs. */
static struct sf_drop bpf_drop_sum(struct probe *p, uint32_t slot)
{
	struct probe_bpf *b = bpf_of(p);
	struct sf_drop d[b->ncpus], sum = {0};

	memset(d, 0, sizeof(d)); /* valgrind cannot see the kernel fill it */
	if (bpf_map__lookup_elem(b->skel->maps.drops, &slot, sizeof(slot), d,
				 sizeof(d), 0) < 0)
		return sum;
	for (int i = 0; i < b->ncpus; i++) {
		sum.ringbuf += d[i].ringbuf;
		sum.filtered += d[i].filtered;
		sum.paused += d[i].paused;
	}
	return sum;
}

static uint64_t bpf_drops(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).ringbuf;
}

static uint64_t bpf_filtered(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).filtered;
}

static int bpf_set_filter_mask(struct probe *p, uint32_t slot,
			       const struct sf_type_mask *m,
			       struct sf_error **err)
{
	int r = bpf_map__update_elem(bpf_of(p)->skel->maps.filter_mask, &slot,
				     sizeof(slot), m, sizeof(*m), BPF_ANY);

	if (r < 0)
		return sf_fail(err, -r, "set the filter mask of slot %u", slot);
	return 0;
}

static void bpf_reset_drops(struct probe *p, uint32_t slot)
{
	struct probe_bpf *b = bpf_of(p);
	struct sf_drop d[b->ncpus];

	memset(d, 0, sizeof(d));
	bpf_map__update_elem(b->skel->maps.drops, &slot, sizeof(slot), d,
			     sizeof(d), BPF_ANY);
}

static void bpf_pause(struct probe *p, uint32_t slot, bool paused)
{
	/* a plain store into the mmapped .bss: no syscall on the hot path */
	__atomic_store_n(
		&bpf_of(p)->skel->bss->paused[slot & (SF_MAX_SLOTS - 1)],
		paused, __ATOMIC_RELAXED);
}

static uint64_t bpf_paused_drops(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).paused;
}

static int bpf_epoll_fd(struct probe *p)
{
	return ring_buffer__epoll_fd(bpf_of(p)->rb);
}

static int bpf_poll(struct probe *p)
{
	return ring_buffer__consume(bpf_of(p)->rb);
}

const struct probe_ops probe_bpf_ops = {
	.name = "bpf",
	.open = bpf_open,
	.attach = bpf_attach,
	.detach = bpf_detach,
	.poll = bpf_poll,
	.close = bpf_close,
	.epoll_fd = bpf_epoll_fd,
	.track = bpf_track,
	.untrack = bpf_untrack,
	.drops = bpf_drops,
	.reset_drops = bpf_reset_drops,
	.filtered = bpf_filtered,
	.set_filter_mask = bpf_set_filter_mask,
	.pause = bpf_pause,
	.paused_drops = bpf_paused_drops,
};
