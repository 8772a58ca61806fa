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

/* Syscalls whose exit we export (tracepoint syscalls/sys_exit_<name>). */
static const char *const exit_syscalls[] = {
	"open",	     "creat",	 "openat",   "openat2",	  "unlink",
	"unlinkat",  "rename",	 "renameat", "renameat2", "mkdir",
	"mkdirat",   "rmdir",	 "link",     "linkat",	  "symlink",
	"symlinkat", "chmod",	 "fchmod",   "fchmodat",  "fchmodat2",
	"chown",     "lchown",	 "fchown",   "fchownat",  "truncate",
	"ftruncate", "socket",	 "connect",  "accept",	  "accept4",
	"bind",	     "listen",	 "kill",     "tkill",	  "tgkill",
	"setuid",    "setgid",	 "setreuid", "setregid",  "setresuid",
	"setresgid", "setfsuid", "setfsgid", "execve",	  "execveat",
};

/* setuid family: the enter side remembers the ids before the call */
static const char *const cred_syscalls[] = {
	"setuid",    "setgid",	  "setreuid", "setregid",
	"setresuid", "setresgid", "setfsuid", "setfsgid",
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
	if (!l)
		return sf_fail(err, errno, "attach BPF program to %s", what);
	p->links = xrealloc(p->links, (p->nlinks + 1) * sizeof(*p->links));
	p->links[p->nlinks++] = l;
	return 0;
}

static bool syscall_tp_exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/syscalls/%s", dir, name);
	return access(path, F_OK) == 0;
}

static int attach_syscalls(struct probe *p, struct bpf_program *prog,
			   const char *prefix, const char *const *names,
			   size_t n, struct sf_error **err)
{
	const char *dir = access("/sys/kernel/debug/tracing/events", F_OK) == 0
				  ? "/sys/kernel/debug/tracing"
				  : "/sys/kernel/tracing";

	for (size_t i = 0; i < n; i++) {
		char tp[64];

		snprintf(tp, sizeof(tp), "%s%s", prefix, names[i]);
		if (!syscall_tp_exists(dir, tp)) {
			/* fchmodat2 came with 6.6; every other one must be there,
			 * or a whole class of events would be silently missing */
			if (strcmp(names[i], "fchmodat2") == 0) {
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

int probe_open(struct probe *p, const struct probe_opts *o,
	       struct sf_error **err)
{
	const char *btf = o->btf_path ? o->btf_path : DEFAULT_BTF;
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = o->btf_path);
	struct sfagent_bpf *s;
	struct stat st;
	int r;

	memset(p, 0, sizeof(*p));
	libbpf_set_print(libbpf_log);
	if (stat(btf, &st) < 0 || st.st_size == 0)
		return sf_fail(
			err, 0,
			"kernel BTF not found at %s: sfagent needs a kernel built with CONFIG_DEBUG_INFO_BTF=y",
			btf);
	if (probe_mount_fs(err) < 0)
		return -1;
	p->ncpus = libbpf_num_possible_cpus();
	if (p->ncpus <= 0)
		return sf_fail(err, -p->ncpus, "count possible CPUs");

	s = sfagent_bpf__open_opts(&oo);
	if (!s)
		return sf_fail(err, errno, "open BPF object");
	p->skel = s;
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
		return -1;
	if (attach_syscalls(p, s->progs.sf_sys_exit, "sys_exit_", exit_syscalls,
			    sizeof(exit_syscalls) / sizeof(exit_syscalls[0]),
			    err) < 0 ||
	    attach_syscalls(
		    p, s->progs.sf_sys_enter_cred, "sys_enter_", cred_syscalls,
		    sizeof(cred_syscalls) / sizeof(cred_syscalls[0]), err) < 0)
		return -1;

	p->rb = ring_buffer__new(bpf_map__fd(s->maps.events), o->on_event,
				 o->ctx, NULL);
	if (!p->rb)
		return sf_fail(err, errno, "create ring buffer reader");
	log_debug("BPF loaded: %d links, ring buffer %u bytes", p->nlinks,
		  o->ringbuf_bytes);
	return 0;
}

void probe_close(struct probe *p)
{
	ring_buffer__free(p->rb);
	p->rb = NULL;
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	p->links = NULL;
	p->nlinks = 0;
	sfagent_bpf__destroy(p->skel);
	p->skel = NULL;
}

static void bump_gen(struct probe *p)
{
	__atomic_add_fetch(&p->skel->bss->track_gen, 1, __ATOMIC_SEQ_CST);
}

int probe_track(struct probe *p, uint64_t cgid, uint32_t slot,
		struct sf_error **err)
{
	int r = bpf_map__update_elem(p->skel->maps.tracked, &cgid, sizeof(cgid),
				     &slot, sizeof(slot), BPF_ANY);

	if (r < 0)
		return sf_fail(err, -r, "track cgroup %llu",
			       (unsigned long long)cgid);
	bump_gen(p);
	return 0;
}

int probe_untrack(struct probe *p, uint64_t cgid)
{
	int r = bpf_map__delete_elem(p->skel->maps.tracked, &cgid, sizeof(cgid),
				     0);

	bump_gen(p);
	return r;
}

uint64_t probe_drops(struct probe *p, uint32_t slot)
{
	struct sf_drop d[p->ncpus];
	uint64_t sum = 0;

	memset(d, 0, sizeof(d)); /* valgrind cannot see the kernel fill it */
	if (bpf_map__lookup_elem(p->skel->maps.drops, &slot, sizeof(slot), d,
				 sizeof(d), 0) < 0)
		return 0;
	for (int i = 0; i < p->ncpus; i++)
		sum += d[i].ringbuf;
	return sum;
}

void probe_reset_drops(struct probe *p, uint32_t slot)
{
	struct sf_drop d[p->ncpus];

	memset(d, 0, sizeof(d));
	bpf_map__update_elem(p->skel->maps.drops, &slot, sizeof(slot), d,
			     sizeof(d), BPF_ANY);
}

void probe_pause(struct probe *p, uint32_t slot, bool paused)
{
	/* a plain store into the mmapped .bss: no syscall on the hot path */
	__atomic_store_n(&p->skel->bss->paused[slot & (SF_MAX_SLOTS - 1)],
			 paused, __ATOMIC_RELAXED);
}

uint64_t probe_paused_drops(struct probe *p, uint32_t slot)
{
	struct sf_drop d[p->ncpus];
	uint64_t sum = 0;

	memset(d, 0, sizeof(d));
	if (bpf_map__lookup_elem(p->skel->maps.drops, &slot, sizeof(slot), d,
				 sizeof(d), 0) < 0)
		return 0;
	for (int i = 0; i < p->ncpus; i++)
		sum += d[i].paused;
	return sum;
}

int probe_epoll_fd(struct probe *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probe_consume(struct probe *p)
{
	return ring_buffer__consume(p->rb);
}
