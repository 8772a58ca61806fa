// SPDX-License-Identifier: GPL-2.0
#include "probe.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/perf_event.h>

#include "btfcache.h"
#include "ia32.h"
#include "kernel_ids.h"
#include "sfagent.h"
#include "sfagent.skel.h"
#include "uring_keys.h"

#define DEFAULT_BTF "/sys/kernel/btf/vmlinux"

/*
 * What the probe attaches: a program on its own section's hook (tp_btf/...),
 * or on the perf tracepoint syscalls/<tp>.  link is NULL while detached.
 */
struct attachment {
	struct bpf_program *prog;
	char *tp; /* NULL: the program's section says where */
	const char *what; /* for messages */
	unsigned group; /* PROBE_G_* */
	int tp_id; /* tp's id in tracefs, read once (tp_attach); 0: not yet */
	struct bpf_link *link;
};

/*
 * A perf tracepoint's link is released by the kernel one at a time under one
 * mutex, each after an RCU grace period (~40 ms here: 8 links, 0.3 s, and 53
 * of them took 2-4 s before sys_exit became one link).  So nobody waits for
 * it: detach hands those links to a releaser thread, and attach takes back
 * the ones it has not released yet; close at exit hands them to a child
 * process, so that the agent's own exit (and status) is not held up.
 */
struct release_queue {
	pthread_mutex_t lock;
	pthread_cond_t more;
	struct {
		int idx; /* into probe_bpf.att */
		struct bpf_link *link;
	} * items;
	int n, cap;
	int busy_idx; /* the one being released now, -1: none */
	bool running, stop;
	bool joinable; /* thread was started and is not joined yet */
	pthread_t thread;
};

/*
 * The ring buffer's map, made on a thread of its own from the start of
 * bpf_open while the main one probes ia32, opens the BTF cache and the
 * object: the kernel allocates and maps its 16 MiB page by page, ~3 ms of
 * the first loader thread before the maps gate otherwise (maps_gate).  The
 * first instance takes it (bpf_map__reuse_fd), the second takes it from the
 * first with the other maps (share_maps).
 */
struct ring_early {
	pthread_t thread;
	bool started; /* and not joined */
	uint32_t bytes;
	int fd; /* < 0: not made (-errno), libbpf makes it */
};

/* The BPF backend's state (probe->state). */
struct probe_bpf {
	struct sfagent_bpf *skel;
	struct sfagent_bpf *skel_sys; /* sf_sys_exit's, or NULL (bpf_load) */
	struct ring_buffer *rb;
	struct attachment *att;
	int natt;
	int ncpus;
	struct release_queue rq;
	struct ring_early ring;
	/* syscall events from the per-syscall tracepoints (sf_sys_exit_tp),
	 * not the generic sys_exit (sf_sys_exit): this kernel cannot run
	 * ia32 syscalls (agent/ia32.h) */
	bool per_syscall;
	unsigned groups; /* attached */
	/* the loss counters of every slot, summed over CPUs (snapshot) */
	struct sf_drop *snap;
	bool snap_on;
	bool told_uring_keys; /* the table could not be read: said once */
	/* seccomp recording programs, attached while some slot records */
	struct bpf_link *seccomp_links[2];
	unsigned seccomp_users;
	/* the records' consumer, for what uring_sweep sends */
	int (*on_event)(void *ctx, void *data, size_t size);
	void *ctx;
};

static struct probe_bpf *bpf_of(struct probe *p)
{
	return p->state;
}

static int libbpf_log(enum libbpf_print_level level, const char *fmt,
		      va_list ap)
{
	int lvl = level == LIBBPF_WARN ? SF_LOG_INFO : SF_LOG_DEBUG;
	cleanup_free char *buf = NULL;
	char *line, *save = NULL;

	/* ~5,000 debug lines a load (each relocation's): not formatted
	 * unless shown */
	if (lvl > sf_log_level())
		return 0;
	/* the verifier's log comes in one piece and its verdict is at the
	 * end: keep all of it, one log line per line */
	if (vasprintf(&buf, fmt, ap) < 0)
		return 0;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		sf_log(lvl, "%s", line);
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

static void add_attachment(struct probe_bpf *b, unsigned group,
			   struct bpf_program *prog, const char *tp,
			   const char *what)
{
	struct attachment *at;

	b->att = xrealloc(b->att, (b->natt + 1) * sizeof(*b->att));
	at = &b->att[b->natt++];
	at->prog = prog;
	at->tp = tp ? xstrdup(tp) : NULL;
	at->what = what ? what : at->tp;
	at->group = group;
	at->tp_id = 0;
	at->link = NULL;
}

static bool syscall_tp_exists(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/events/syscalls/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* The id of tracepoint syscalls/<name>, or -errno. */
static int syscall_tp_id(const char *dir, const char *name)
{
	char path[256];
	cleanup_fclose FILE *f = NULL;
	int id;

	snprintf(path, sizeof(path), "%s/events/syscalls/%s/id", dir, name);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	return fscanf(f, "%d", &id) == 1 && id > 0 ? id : -EINVAL;
}

/*
 * A program on perf tracepoint syscalls/<at->tp>, as libbpf's
 * bpf_program__attach_tracepoint() does it, but with the tracepoint's id
 * read once (plan time) rather than from tracefs at each attach: per-syscall
 * mode attaches ~90 of them on the hook's path (a file open and two reads
 * each, ~a quarter of the attach).
 */
static struct bpf_link *tp_attach(struct attachment *at)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
		.config = (__u64)at->tp_id,
	};
	struct bpf_link *l;
	int pfd, e;

	if (at->tp_id <= 0)
		return bpf_program__attach_tracepoint(at->prog, "syscalls",
						      at->tp);
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1,
		      PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return NULL;
	/* the link owns pfd from here on (closed with it) */
	l = bpf_program__attach_perf_event(at->prog, pfd);
	if (!l) {
		e = errno;
		close(pfd);
		errno = e;
	}
	return l;
}

/* Where libbpf finds the syscall tracepoints (probe_mount_fs). */
static const char *tracing_dir(void)
{
	return access("/sys/kernel/debug/tracing/events", F_OK) == 0
		       ? "/sys/kernel/debug/tracing"
		       : "/sys/kernel/tracing";
}

/* Does this BTF file have this type (btf_trace_<tracepoint>)? */
static bool kernel_btf_has(const char *btf_path, const char *name)
{
	struct btf *btf = btf__parse(btf_path, NULL);
	bool has;

	if (!btf)
		return false;
	has = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) >= 0;
	btf__free(btf);
	return has;
}

/* Has the running kernel the tracepoint <group>/<name>?  Asked of tracefs
 * (mounted by probe_mount_fs), not of the kernel's BTF: parsing those 5 MB
 * costs ~30 ms of start-up, and libbpf parses them again to load.  A
 * --btf file is asked itself (its btf_trace_<name> typedef). */
static bool tracepoint_exists(const char *btf_path, const char *group,
			      const char *name)
{
	char path[256];

	if (btf_path) {
		snprintf(path, sizeof(path), "btf_trace_%s", name);
		return kernel_btf_has(btf_path, path);
	}
	snprintf(path, sizeof(path), "%s/events/%s/%s", tracing_dir(), group,
		 name);
	return access(path, F_OK) == 0;
}

/* Programs on hooks some kernels lack: not loaded there, said at -v; nor
 * those the run can never attach (probe_opts no_seccomp, no_exec_fail). */
static void skip_absent_hooks(struct sfagent_bpf *s, const struct probe_opts *o)
{
	const char *btf_path = o->btf_path;

	if (o->no_seccomp) {
		bpf_program__set_autoload(s->progs.sf_seccomp_enter, false);
		bpf_program__set_autoload(s->progs.sf_seccomp_uring, false);
	}
	if (o->no_exec_fail)
		bpf_program__set_autoload(s->progs.sf_exec_fail, false);
	if (!tracepoint_exists(btf_path, "module", "module_load")) {
		bpf_program__set_autoload(s->progs.sf_module_load, false);
		log_debug(
			"no module:module_load tracepoint on this kernel (no loadable modules): its program is not loaded; module syscalls are still seen by number");
	}
}

/* The program that sends the syscall events, of instance s. */
static struct bpf_program *syscall_prog(const struct probe_bpf *b,
					struct sfagent_bpf *s)
{
	return b->per_syscall ? s->progs.sf_sys_exit_tp : s->progs.sf_sys_exit;
}

/* Instance s loads the syscall program of the mode, or none. */
static void load_syscall_prog(const struct probe_bpf *b, struct sfagent_bpf *s,
			      bool load)
{
	bpf_program__set_autoload(s->progs.sf_sys_exit,
				  load && !b->per_syscall);
	bpf_program__set_autoload(s->progs.sf_sys_exit_tp,
				  load && b->per_syscall);
}

/*
 * Per-syscall mode: sf_sys_exit_tp on the exit tracepoint of each syscall
 * of syscalls.def, the flow-only ones in their own group (attached while
 * a stream counts flows).  A syscall the kernel was built without has no
 * tracepoint (on this one: the module calls, CONFIG_MODULES off) and runs
 * nothing but its ENOSYS: that attempt is not seen in this mode, said at
 * -v.
 */
static void plan_per_syscall(struct probe_bpf *b, struct bpf_program *prog)
{
	/* automatic: strcmp() is no constant expression (the compiler folds
	 * it all the same) */
	const struct {
		const char *tp;
		bool flow, optional;
	} sys[] = {
#define SF_SYSCALL(tp, nr_name, class, flags) \
	{#tp, !strcmp(#class, "flow"), (flags)&SF_SC_OPTIONAL},
#include "syscalls.def"
#undef SF_SYSCALL
	};
	char tp[64], absent[512];
	size_t len = 0;
	int n = 0, id;

	absent[0] = 0;
	for (size_t i = 0; i < sizeof(sys) / sizeof(sys[0]); i++) {
		snprintf(tp, sizeof(tp), "sys_exit_%s", sys[i].tp);
		id = syscall_tp_id(tracing_dir(), tp);
		if (id < 0) {
			if (!sys[i].optional && len < sizeof(absent))
				len += snprintf(absent + len,
						sizeof(absent) - len, " %s",
						sys[i].tp);
			continue;
		}
		add_attachment(b, sys[i].flow ? PROBE_G_FLOW : PROBE_G_SYSCALL,
			       prog, tp, NULL);
		b->att[b->natt - 1].tp_id = id;
		n++;
	}
	log_debug("per-syscall mode: %d syscall tracepoints planned", n);
	if (len)
		log_debug(
			"per-syscall mode: no tracepoint (the syscall is not built in, so it only fails with ENOSYS; the attempt is not seen):%s",
			absent);
}

static int plan_attachments(struct probe_bpf *b, struct sf_error **err)
{
	static const char *const exec_tps[] = {"sys_exit_execve",
					       "sys_exit_execveat"};
	struct sfagent_bpf *s = b->skel;

	add_attachment(b, PROBE_G_SCHED, s->progs.sf_exec, NULL,
		       "sched_process_exec");
	add_attachment(b, PROBE_G_SCHED, s->progs.sf_fork, NULL,
		       "sched_process_fork");
	add_attachment(b, PROBE_G_SCHED, s->progs.sf_exit, NULL,
		       "sched_process_exit");
	add_attachment(b, PROBE_G_CAP, s->progs.sf_capable, NULL,
		       "cap_capable");
	/* every syscall's exit: one link, not one per exported syscall (see
	 * sf_sys_exit); where ia32 syscalls cannot run, one per syscall */
	if (b->per_syscall)
		plan_per_syscall(b, syscall_prog(b, b->skel_sys ? b->skel_sys
								: s));
	else
		add_attachment(b, PROBE_G_SYSCALL,
			       syscall_prog(b, b->skel_sys ? b->skel_sys : s),
			       NULL, "sys_exit");
	/* io_uring requests: the same events as their syscalls */
	add_attachment(b, PROBE_G_URING, s->progs.sf_uring_submit, NULL,
		       "io_uring_submit_req");
	add_attachment(b, PROBE_G_URING, s->progs.sf_uring_complete, NULL,
		       "io_uring_complete");
	if (bpf_program__autoload(s->progs.sf_module_load))
		add_attachment(b, PROBE_G_MODULE, s->progs.sf_module_load, NULL,
			       "module_load");
	for (size_t i = 0; i < sizeof(exec_tps) / sizeof(exec_tps[0]); i++) {
		if (!syscall_tp_exists(tracing_dir(), exec_tps[i]))
			return sf_fail(
				err, 0,
				"tracepoint syscalls/%s not found under %s/events: sfagent needs a kernel with CONFIG_FTRACE_SYSCALLS=y",
				exec_tps[i], tracing_dir());
		add_attachment(b, PROBE_G_EXEC_FAIL, s->progs.sf_exec_fail,
			       exec_tps[i], NULL);
	}
	return 0;
}

/*
 * The one table of which programs can send which event types (types made
 * by the agent: those of the records they come from).  A type missing here
 * counts as sf_sys_exit's, so that a new one is never silently lost.
 */
static const uint8_t type_groups[SF_EV_MAX] = {
	/* successful execs from sched_process_exec, failed ones from the
	 * execve exits (sf_sys_exit, or sf_exec_fail without it) */
	[SF_EV_EXEC] = PROBE_G_SCHED | PROBE_G_EXEC_FAIL,
	[SF_EV_FORK] = PROBE_G_SCHED,
	[SF_EV_EXIT] = PROBE_G_SCHED,
	[SF_EV_EXE_HASH] = PROBE_G_SCHED,
	/* the set*id exits; the old ids' task storage is kept by them and by
	 * sched_process_fork and _exec (bpf/process.bpf.h task_ids) */
	[SF_EV_SETUID] = PROBE_G_SYSCALL | PROBE_G_SCHED,
	[SF_EV_CAPABLE] = PROBE_G_CAP,
	[SF_EV_MODULE_LOAD] = PROBE_G_SYSCALL | PROBE_G_MODULE,
	[SF_EV_URING_OP] = PROBE_G_URING,
	/* the file and network types io_uring requests map onto */
	[SF_EV_OPEN] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_UNLINK] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_RENAME] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_MKDIR] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_RMDIR] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_LINK] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_SYMLINK] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_SOCKET] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_CONNECT] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_ACCEPT] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_BIND] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_LISTEN] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_SENDTO] = PROBE_G_SYSCALL | PROBE_G_URING,
	[SF_EV_SETXATTR] = PROBE_G_SYSCALL | PROBE_G_URING,
	/* from the opens of both */
	[SF_EV_FILE_HASH] = PROBE_G_SYSCALL | PROBE_G_URING,
};

static unsigned bpf_groups_for(struct probe *p, const uint64_t *drop,
			       bool flows)
{
	/* with anything tracked: they run per exec, fork and exit only,
	 * never per syscall, and the agent's process view needs them */
	unsigned g = PROBE_G_SCHED;

	for (unsigned t = 1; t < SF_EV_MAX && t < SF_TYPE_MASK_BITS; t++)
		if (!(drop[t / 64] & (1ull << (t % 64))))
			g |= type_groups[t] ? type_groups[t] : PROBE_G_SYSCALL;
	/* -F sysflow's read/write counting: syscalls and io_uring (the
	 * flow-only syscalls' own tracepoints in per-syscall mode) */
	if (flows)
		g |= PROBE_G_SYSCALL | PROBE_G_URING |
		     (bpf_of(p)->per_syscall ? PROBE_G_FLOW : 0);
	if (g & PROBE_G_SYSCALL) /* it has the failed execs, ia32 ones too */
		g &= ~PROBE_G_EXEC_FAIL;
	return g;
}

/* Which program reports native failed execs (bpf/sfagent.bpf.c): set
 * before sf_sys_exit goes and after it came, so none is lost or sent
 * twice while both are attached. */
static void set_exec_tp(struct probe_bpf *b, unsigned groups)
{
	__atomic_store_n(&b->skel->bss->exec_tp_on,
			 (groups & PROBE_G_EXEC_FAIL) &&
				 !(groups & PROBE_G_SYSCALL),
			 __ATOMIC_SEQ_CST);
}

/* ---- releasing perf tracepoint links off everyone's path -------------- */

static void *releaser(void *arg)
{
	struct release_queue *q = arg;

	pthread_mutex_lock(&q->lock);
	while (!q->stop && q->n > 0) {
		struct bpf_link *l = q->items[--q->n].link;

		q->busy_idx = q->items[q->n].idx;
		pthread_mutex_unlock(&q->lock);
		bpf_link__destroy(l); /* the slow part */
		pthread_mutex_lock(&q->lock);
		q->busy_idx = -1;
		pthread_cond_broadcast(&q->more);
	}
	q->running = false;
	pthread_cond_broadcast(&q->more);
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* Queues at's link for release; starts the releaser if it is not running. */
static void release_later(struct probe_bpf *b, int idx)
{
	struct release_queue *q = &b->rq;
	bool threaded;
	int r;

	pthread_mutex_lock(&q->lock);
	if (q->n == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 16;
		q->items = xrealloc(q->items, q->cap * sizeof(*q->items));
	}
	q->items[q->n].idx = idx;
	q->items[q->n].link = b->att[idx].link;
	q->n++;
	b->att[idx].link = NULL;
	if (!q->running) {
		sigset_t all, old;

		if (q->joinable) /* done, or about to be: nothing to wait for */
			pthread_join(q->thread, NULL);
		/* born with every signal blocked: a SIGTERM meant for the main
		 * loop's signalfd must not kill the agent through this thread */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		r = pthread_create(&q->thread, NULL, releaser, q);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		q->running = q->joinable = r == 0;
		if (r)
			log_debug("releaser thread: %s", strerror(r));
	}
	/* read under the lock: the releaser clears it when it is done */
	threaded = q->running;
	pthread_mutex_unlock(&q->lock);
	if (!threaded) /* no thread: release here, slowly but surely */
		releaser(q);
}

/* Attach takes back what the releaser has not released yet of groups (still
 * attached and working) and waits for the one it is releasing now. */
static void release_take_back(struct probe_bpf *b, unsigned groups)
{
	struct release_queue *q = &b->rq;
	int kept = 0;

	pthread_mutex_lock(&q->lock);
	for (int i = 0; i < q->n; i++) {
		struct attachment *at = &b->att[q->items[i].idx];

		if (at->group & groups)
			at->link = q->items[i].link;
		else
			q->items[kept++] = q->items[i];
	}
	q->n = kept;
	while (q->busy_idx >= 0 && b->att[q->busy_idx].group & groups)
		pthread_cond_wait(&q->more, &q->lock);
	pthread_mutex_unlock(&q->lock);
}

/* close: the releaser stops after the link it is releasing now; what it
 * still holds comes back. */
static void release_stop(struct probe_bpf *b)
{
	struct release_queue *q = &b->rq;

	pthread_mutex_lock(&q->lock);
	q->stop = true;
	for (int i = 0; i < q->n; i++)
		b->att[q->items[i].idx].link = q->items[i].link;
	q->n = 0;
	pthread_mutex_unlock(&q->lock);
	if (q->joinable)
		pthread_join(q->thread, NULL);
	q->joinable = false;
	free(q->items);
	q->items = NULL;
}

/*
 * At exit: a child inherits the perf links and releases them; the agent
 * drops its own references, which costs nothing while the child holds
 * them, and exits at once.  The child closes every other descriptor first,
 * so no pipe or socket of the caller's waits for it.  fork() in a process
 * with threads (network sinks): the child only calls close and _exit.
 * Returns whether a child took them.
 */
static bool release_in_child(struct probe_bpf *b)
{
	int *keep = xmalloc((b->natt + 1) * sizeof(*keep));
	int nkeep = 0, from = 0;
	pid_t pid;

	for (int i = 0; i < b->natt; i++)
		if (b->att[i].tp && b->att[i].link)
			keep[nkeep++] = bpf_link__fd(b->att[i].link);
	if (!nkeep) {
		free(keep);
		return false;
	}
	/* ascending, for the close_range gaps */
	for (int i = 1; i < nkeep; i++)
		for (int j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	keep[nkeep] = -1;
	pid = fork();
	if (pid == 0) {
		sigset_t all;

		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		setsid();
		prctl(PR_SET_NAME, "sfagent-release");
		for (int i = 0; i < nkeep; i++) {
			if (keep[i] > from)
				close_range(from, keep[i] - 1, 0);
			from = keep[i] + 1;
		}
		close_range(from, ~0u, 0);
		for (int i = 0; i < nkeep; i++)
			close(keep[i]);
		_exit(0);
	}
	free(keep);
	if (pid < 0)
		log_debug("fork to release tracepoints: %s", strerror(errno));
	else
		log_debug("%d tracepoint links left to process %d to release",
			  nkeep, (int)pid);
	return pid > 0;
}

static void *ring_make(void *arg)
{
	struct ring_early *r = arg;

	r->fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "events", 0, 0, r->bytes,
			       NULL);
	return NULL;
}

static void ring_early_start(struct ring_early *r, uint32_t bytes)
{
	sigset_t all, old;
	int e;

	r->fd = -ENOENT;
	r->bytes = bytes;
	if (!bytes)
		return;
	/* born with every signal blocked, as the releaser (release_later) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&r->thread, NULL, ring_make, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	r->started = e == 0;
	if (e)
		log_debug("ring buffer thread: %s: libbpf makes it",
			  strerror(e));
}

static void ring_early_join(struct ring_early *r)
{
	if (!r->started)
		return;
	pthread_join(r->thread, NULL);
	r->started = false;
	if (r->fd < 0)
		log_debug("ring buffer made early: %s: libbpf makes it",
			  strerror(-r->fd));
}

/* The first instance s takes the ring made early, if it was. */
static void ring_early_use(struct ring_early *r, struct sfagent_bpf *s)
{
	int e;

	ring_early_join(r);
	if (r->fd < 0)
		return;
	e = bpf_map__reuse_fd(s->maps.events, r->fd);
	if (e < 0)
		log_debug("ring buffer made early: %s: libbpf makes it",
			  strerror(-e));
}

/* The object loaded (or not): its own copy of the fd is what stays. */
static void ring_early_done(struct ring_early *r)
{
	ring_early_join(r);
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -ENOENT;
}

/* One instance of the object, opened and set up to load; NULL: failed. */
static struct sfagent_bpf *bpf_instance(const struct probe_opts *o,
					const char *core_btf, uint32_t task_id,
					struct sf_error **err)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core_btf);
	struct sfagent_bpf *s;
	int r;

	s = sfagent_bpf__open_opts(&oo);
	if (!s) {
		sf_fail(err, errno, "open BPF object");
		return NULL;
	}
	r = bpf_map__set_max_entries(s->maps.events, o->ringbuf_bytes);
	if (r < 0) {
		sf_fail(err, -r, "set ring buffer size to %u bytes",
			o->ringbuf_bytes);
		sfagent_bpf__destroy(s);
		return NULL;
	}
	/* wake the agent early once an eighth of the ring waits */
	s->rodata->wake_bytes = o->ringbuf_bytes / 8;
	/* no stream counts flows: their maps are not preallocated at full
	 * size (flow_counts' 65,536 entries took ~5 ms of the load) */
	if (o->no_flows) {
		bpf_map__set_max_entries(s->maps.flow_counts, 1);
		bpf_map__set_max_entries(s->maps.flow_uring, 1);
		bpf_map__set_max_entries(s->maps.flow_uring_ms, 1);
	}
	/* tests fill the flow counters' map with a few flows */
	if (getenv("SFAGENT_TEST_FLOW_MAP_ENTRIES"))
		bpf_map__set_max_entries(
			s->maps.flow_counts,
			strtoul(getenv("SFAGENT_TEST_FLOW_MAP_ENTRIES"), NULL,
				10));
	s->rodata->hash_open = o->hash_open;
	s->rodata->host_mnt_ns = o->host_mnt_ns;
	s->rodata->task_btf_id = task_id;
	return s;
}

/* The kernel's ids of this load (kernel_ids.h), NULL: libbpf finds them.
 * Set before the loader threads start, read-only while they run. */
static const struct kernel_ids *load_ids;

/* sfagent_bpf__load, with the tp_btf programs' attach ids set first: our
 * section handlers (sec_register) leave that to us */
static int instance_load(struct sfagent_bpf *s)
{
	int r = kernel_ids_preset(s->obj, load_ids);

	return r < 0 ? r : sfagent_bpf__load(s);
}

static int load_failed(int r, const struct probe_opts *o, struct sf_error **err)
{
	char msg[128];

	libbpf_strerror(r, msg, sizeof(msg));
	return sf_fail(
		err, 0,
		"load BPF programs: %s (kernel BTF %s; run with -d FILE for libbpf's and the verifier's log)",
		msg, o->btf_path ? o->btf_path : DEFAULT_BTF);
}

/* Frees what a load left, loaded or not. */
static void bpf_unload(struct probe_bpf *b)
{
	sfagent_bpf__destroy(b->skel_sys);
	sfagent_bpf__destroy(b->skel);
	b->skel_sys = b->skel = NULL;
}

static int bpf_load_one(struct probe_bpf *b, const struct probe_opts *o,
			const char *core_btf, uint32_t task_id,
			struct sf_error **err)
{
	int r;

	b->skel = bpf_instance(o, core_btf, task_id, err);
	if (!b->skel)
		return -1;
	ring_early_use(&b->ring, b->skel);
	skip_absent_hooks(b->skel, o);
	load_syscall_prog(b, b->skel, true);
	r = instance_load(b->skel);
	return r < 0 ? load_failed(r, o, err) : 0;
}

/*
 * The moment in bpf_load_split when the first instance's maps exist and the
 * second may take them.  libbpf has no hook after it creates an object's
 * maps but one just before it loads each program: the section handler's
 * prog_prepare_load_fn, after the maps and the relocations.  So the tp_btf
 * sections, sf_exec's (the first program libbpf loads; were it not, the
 * gate would open later, no less right) among them, have a handler of
 * ours, registered once per process because libbpf keeps it for every
 * object opened after; it also gives the load the kernel's ids
 * (kernel_ids_prepare), as the tracepoint sections' handler does.
 */
static struct maps_gate {
	pthread_mutex_t lock;
	pthread_cond_t changed;
	const struct bpf_program *prog; /* from's sf_exec; NULL: no gate */
	struct sfagent_bpf *from, *to; /* to: NULL until its side is ready */
	bool abandoned; /* to's side failed before being ready */
	bool share_failed; /* state: share_maps's error */
	int state; /* 0: maps not shared yet, 1: shared, < 0: failed */
} gate = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.changed = PTHREAD_COND_INITIALIZER,
};

/* to takes from's maps (one ELF: the same maps in the same order) */
static int share_maps(struct sfagent_bpf *from, struct sfagent_bpf *to)
{
	struct bpf_map *m = bpf_object__next_map(from->obj, NULL);
	struct bpf_map *mt = bpf_object__next_map(to->obj, NULL);
	int r;

	for (; m && mt; m = bpf_object__next_map(from->obj, m),
			mt = bpf_object__next_map(to->obj, mt)) {
		r = bpf_map__reuse_fd(mt, bpf_map__fd(m));
		if (r < 0) {
			log_debug("share BPF map %s: %s", bpf_map__name(m),
				  strerror(-r));
			return r;
		}
	}
	return 0;
}

/* In from's loader thread, libbpf about to load its first program: its maps
 * exist until this returns, so they are shared here (once to's side is
 * ready) rather than by the other thread, which a failed load could race to
 * their close. */
static int gate_prepare(struct bpf_program *prog,
			struct bpf_prog_load_opts *opts, long cookie)
{
	int r = kernel_ids_prepare(prog, opts, load_ids);

	(void)cookie;
	if (r < 0)
		return r;
	pthread_mutex_lock(&gate.lock);
	if (prog == gate.prog && gate.state == 0) {
		while (!gate.to && !gate.abandoned)
			pthread_cond_wait(&gate.changed, &gate.lock);
		r = gate.abandoned ? -ECANCELED
				   : share_maps(gate.from, gate.to);
		gate.share_failed = r < 0 && !gate.abandoned;
		gate.state = r < 0 ? r : 1;
		pthread_cond_broadcast(&gate.changed);
	}
	pthread_mutex_unlock(&gate.lock);
	return r;
}

static int gate_attach(const struct bpf_program *prog, long cookie,
		       struct bpf_link **link)
{
	(void)cookie;
	*link = bpf_program__attach_trace(prog);
	return libbpf_get_error(*link);
}

static int tp_prepare(struct bpf_program *prog, struct bpf_prog_load_opts *opts,
		      long cookie)
{
	(void)cookie;
	return kernel_ids_prepare(prog, opts, load_ids);
}

/* SEC("tracepoint/GROUP/NAME") as libbpf attaches it; SEC("tracepoint")
 * is attached by the agent (tp_attach) */
static int tp_sec_attach(const struct bpf_program *prog, long cookie,
			 struct bpf_link **link)
{
	const char *sec = bpf_program__section_name(prog);
	const char *group = strchr(sec, '/'), *name;
	char g[64];

	(void)cookie;
	*link = NULL;
	if (!group)
		return 0;
	name = strchr(++group, '/');
	if (!name || (size_t)(name - group) >= sizeof(g))
		return -EINVAL;
	snprintf(g, sizeof(g), "%.*s", (int)(name - group), group);
	*link = bpf_program__attach_tracepoint(prog, g, name + 1);
	return libbpf_get_error(*link);
}

/* Before the first open of the object: the handlers of the object's tp_btf
 * and tracepoint sections.  false: none, so no gate and no split load (the
 * kernel's ids are then libbpf's to find, as all of them would be) */
static bool sec_register(void)
{
	static int id, tp_id;
	LIBBPF_OPTS(libbpf_prog_handler_opts, ho,
		    .prog_prepare_load_fn = gate_prepare,
		    .prog_attach_fn = gate_attach);
	LIBBPF_OPTS(libbpf_prog_handler_opts, to,
		    .prog_prepare_load_fn = tp_prepare,
		    .prog_attach_fn = tp_sec_attach);

	if (id == 0) {
		id = libbpf_register_prog_handler("tp_btf+",
						  BPF_PROG_TYPE_TRACING,
						  BPF_TRACE_RAW_TP, &ho);
		tp_id = id < 0 ? id
			       : libbpf_register_prog_handler(
					 "tracepoint+",
					 BPF_PROG_TYPE_TRACEPOINT, 0, &to);
		if (id < 0 || tp_id < 0)
			log_debug("register a libbpf section handler: %s",
				  strerror(id < 0 ? -id : -tp_id));
	}
	return id > 0 && tp_id > 0;
}

static void *load_thread(void *skel)
{
	int r = instance_load(skel);

	pthread_mutex_lock(&gate.lock);
	if (gate.state == 0) /* failed before its maps were shared */
		gate.state = r < 0 ? r : -EINVAL;
	pthread_cond_broadcast(&gate.changed);
	pthread_mutex_unlock(&gate.lock);
	return (void *)(intptr_t)r;
}

/* The second instance's side of the gate: ready (to) or abandoned (NULL);
 * returns the gate's outcome. */
static int gate_arrive(struct sfagent_bpf *to)
{
	int state;

	pthread_mutex_lock(&gate.lock);
	gate.to = to;
	gate.abandoned = !to;
	pthread_cond_broadcast(&gate.changed);
	while (to && gate.state == 0)
		pthread_cond_wait(&gate.changed, &gate.lock);
	state = gate.state;
	pthread_mutex_unlock(&gate.lock);
	return state;
}

/*
 * The verifier takes most of the start, sf_sys_exit about half of it, and
 * libbpf loads an object's programs one after the other.  So, given two
 * CPUs, two instances of the object loading at once: b->skel (whose maps,
 * .bss and .rodata the agent uses) creates the maps and loads every program
 * but sf_sys_exit in a thread; meanwhile b->skel_sys is opened and parses
 * the kernel's BTF (its attach id: libbpf needs that BTF for tp_btf
 * programs and the kfunc extern, one parse per object), takes the maps at
 * the gate (maps_gate) and loads sf_sys_exit (sf_sys_exit_tp in per-syscall mode:
 * syscall_prog).
 */
static int bpf_load_split(struct probe_bpf *b, const struct probe_opts *o,
			  const char *core_btf, uint32_t task_id,
			  struct sf_error **err)
{
	struct bpf_program *prog;
	struct sfagent_bpf *s, *x;
	sigset_t all, old;
	pthread_t thread;
	void *sr = NULL;
	int r, xr = 0, state;

	b->skel = s = bpf_instance(o, core_btf, task_id, err);
	if (!s)
		return -1;
	ring_early_use(&b->ring, s);
	skip_absent_hooks(s, o);
	load_syscall_prog(b, s, false);
	pthread_mutex_lock(&gate.lock);
	gate.prog = s->progs.sf_exec;
	gate.from = s;
	gate.to = NULL;
	gate.abandoned = gate.share_failed = false;
	gate.state = 0;
	pthread_mutex_unlock(&gate.lock);
	/* born with every signal blocked, as the releaser (release_later) */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&thread, NULL, load_thread, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		log_debug("loader thread: %s: loading whole", strerror(r));
		gate.prog = NULL;
		sfagent_bpf__destroy(s);
		b->skel = NULL;
		return bpf_load_one(b, o, core_btf, task_id, err);
	}
	/* s is not opened again: libelf, not thread-safe, is done with it */
	b->skel_sys = x = bpf_instance(o, core_btf, task_id, err);
	if (x) {
		bpf_object__for_each_program(prog, x->obj)
			bpf_program__set_autoload(prog,
						  prog == syscall_prog(b, x));
		xr = kernel_ids_preset(x->obj, load_ids);
	}
	state = gate_arrive(x && xr >= 0 ? x : NULL);
	if (state > 0)
		xr = sfagent_bpf__load(x);
	pthread_join(thread, &sr);
	pthread_mutex_lock(&gate.lock);
	gate.prog = NULL;
	gate.from = gate.to = NULL;
	pthread_mutex_unlock(&gate.lock);
	if (!x)
		return -1;
	if (gate.share_failed)
		return sf_fail(err, -state, "share the BPF maps");
	if ((intptr_t)sr < 0 && (intptr_t)sr != -ECANCELED)
		return load_failed((intptr_t)sr, o, err);
	if (xr < 0)
		return load_failed(xr, o, err);
	/* < 0: the gate never opened (sf_exec not loaded?) */
	return state < 0 ? load_failed(state, o, err) : 0;
}

/* This process's threads that are runnable now (this one included). */
static int own_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d))) {
		char path[300], buf[256], *p;
		cleanup_close int fd = -1;
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat",
			 e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (len <= 0)
			continue;
		buf[len] = 0;
		/* "PID (COMM) S ...": the state after the comm's last ')' */
		p = strrchr(buf, ')');
		n += p && p[1] == ' ' && p[2] == 'R';
	}
	if (d)
		closedir(d);
	return n ? n : 1;
}

/* Is a CPU this process may use idle now?  /proc/loadavg's runnable count
 * less this process's own runnable threads (the exe hash worker, just
 * made, was one in a third of the starts on an idle machine) against the
 * CPUs of its affinity, or, as that count also catches a kernel worker
 * passing by (freeing the maps of a command that just ended: another 3 in
 * 10 there), a 1-minute load average a CPU below them.  A second loader
 * thread only helps where it does not wait for a CPU (2 CPUs, load ~4:
 * 359 ms at the median split, 295 whole, with the old maps-only third
 * instance). */
static bool cpu_free(void)
{
	cleanup_fclose FILE *f = fopen("/proc/loadavg", "re");
	cpu_set_t set;
	int running, own, ncpu;
	double load1;

	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return false;
	if (!f || fscanf(f, "%lf %*f %*f %d/", &load1, &running) != 2)
		return false;
	own = own_running();
	ncpu = CPU_COUNT(&set);
	log_debug("runnable: %d, %d of them this process's; load %.2f; %d CPUs",
		  running, own, load1, ncpu);
	/* others runnable, besides this thread and its loader */
	return running - own < ncpu - 1 || load1 < ncpu - 1;
}

/* Opens and loads the object; core_btf: the BTF for CO-RE (NULL: the
 * kernel's).  In two threads only with the BTF cache's copy (against the
 * kernel's BTF each instance would match its relocations again, ~100 ms,
 * agent/btfcache.h) and a CPU free.  SFAGENT_LOAD_SPLIT=0|1 forces one way (tests,
 * benchmarks). */
static int bpf_load(struct probe_bpf *b, const struct probe_opts *o,
		    const char *core_btf, const struct kernel_ids *ids,
		    struct sf_error **err)
{
	const char *force = getenv("SFAGENT_LOAD_SPLIT");
	bool handlers = sec_register();
	bool split = !handlers ? false
		     : force   ? strcmp(force, "0") != 0
			       : core_btf && !o->btf_path && cpu_free();
	/* without our handlers nothing makes the kfunc calls: no task id,
	 * which leaves them out (bpf/event.bpf.h task_ro) */
	uint32_t task_id = handlers ? kernel_ids_get(ids, "task_struct") : 0;
	int r;

	load_ids = handlers ? ids : NULL;
	r = split ? bpf_load_split(b, o, core_btf, task_id, err)
		  : bpf_load_one(b, o, core_btf, task_id, err);
	load_ids = NULL;
	log_debug("BPF object loaded %s",
		  split ? "in two threads" : "whole (no CPU free, or forced)");
	return r;
}

static int bpf_open(struct probe *p, const struct probe_opts *o,
		    struct sf_error **err)
{
	const char *btf = o->btf_path ? o->btf_path : DEFAULT_BTF;
	struct btfcache cache = {.fd = -1, .dfd = -1};
	const char *core_btf = o->btf_path;
	struct probe_bpf *b;
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
	pthread_mutex_init(&b->rq.lock, NULL);
	pthread_cond_init(&b->rq.more, NULL);
	b->rq.busy_idx = -1;
	ring_early_start(&b->ring, o->ringbuf_bytes);
	b->ncpus = libbpf_num_possible_cpus();
	if (b->ncpus <= 0)
		return sf_fail(err, -b->ncpus, "count possible CPUs");
	/* before the load: the mode decides which program is loaded */
	{
		char why[256];

		p->per_syscall = b->per_syscall =
			!ia32_syscalls_run(why, sizeof(why));
		log_debug("syscall events: %s (ia32 syscalls %s: %s)",
			  b->per_syscall
				  ? "per-syscall tracepoints (sf_sys_exit_tp)"
				  : "generic sys_exit (sf_sys_exit)",
			  b->per_syscall ? "cannot run" : "can run", why);
	}

	/* the kernel's BTF for CO-RE costs ~100 ms of matching at each start:
	 * a copy of the types this object needs (agent/btfcache.h) */
	if (!o->btf_path && o->btf_cache_dir) {
		size_t elf_len;
		const void *elf = sfagent_bpf__elf_bytes(&elf_len);

		if (btfcache_open(&cache, o->btf_cache_dir, DEFAULT_BTF, elf,
				  elf_len) == 0)
			core_btf = cache.path;
	}
	r = bpf_load(b, o, core_btf, core_btf == cache.path ? &cache.ids : NULL,
		     err);
	if (r < 0 && core_btf != o->btf_path) {
		/* never worse than without the cache */
		log_info(
			"%s (with the BTF cache of %s): again with the kernel's BTF",
			*err ? (*err)->msg : "load failed", o->btf_cache_dir);
		sf_error_free(*err);
		*err = NULL;
		btfcache_discard(&cache);
		bpf_unload(b);
		r = bpf_load(b, o, o->btf_path, NULL, err);
	}
	btfcache_close(&cache);
	ring_early_done(&b->ring);
	if (r < 0)
		return -1;
	if (plan_attachments(b, err) < 0)
		return -1;
	b->on_event = o->on_event;
	b->ctx = o->ctx;
	b->rb = ring_buffer__new(bpf_map__fd(b->skel->maps.events), o->on_event,
				 o->ctx, NULL);
	if (!b->rb)
		return sf_fail(err, errno, "create ring buffer reader");
	log_debug("BPF loaded: ring buffer %u bytes", o->ringbuf_bytes);
	return 0;
}

static void bpf_detach(struct probe *p, unsigned groups)
{
	struct probe_bpf *b = bpf_of(p);

	char what[128];

	log_debug("BPF detached: %s",
		  probe_groups_str(groups, what, sizeof(what)));
	b->groups &= ~groups;
	set_exec_tp(b, b->groups);
	for (int i = 0; i < b->natt; i++) {
		if (!b->att[i].link || !(b->att[i].group & groups))
			continue;
		if (b->att[i].tp) {
			release_later(b, i);
		} else {
			bpf_link__destroy(b->att[i].link);
			b->att[i].link = NULL;
		}
	}
}

static int bpf_attach(struct probe *p, unsigned groups, struct sf_error **err)
{
	struct probe_bpf *b = bpf_of(p);
	char what[128];
	struct timespec t0, t1;
	int n = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	release_take_back(b, groups);
	for (int i = 0; i < b->natt; i++) {
		struct attachment *at = &b->att[i];

		if (at->link || !(at->group & groups))
			continue;
		at->link = at->tp ? tp_attach(at)
				  : bpf_program__attach(at->prog);
		if (!at->link) {
			sf_fail(err, errno, "attach BPF program to %s",
				at->what);
			bpf_detach(p, groups & ~b->groups);
			return -1;
		}
		n++;
	}
	/* the set*id calls made while sf_sys_exit was away were not seen:
	 * the old ids kept before this are not believed (bpf/process.bpf.h
	 * task_ids); after the attach, so none from before slips through */
	if (groups & PROBE_G_SYSCALL & ~b->groups)
		__atomic_add_fetch(&b->skel->data->cred_gen, 1,
				   __ATOMIC_SEQ_CST);
	b->groups |= groups;
	set_exec_tp(b, b->groups);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the same line whatever the timing (tests/14-probe.bats diffs it) */
	log_debug("BPF attached: %s (%d new links)",
		  probe_groups_str(b->groups, what, sizeof(what)), n);
	log_debug("BPF attach: %.1f ms",
		  (t1.tv_sec - t0.tv_sec) * 1e3 +
			  (t1.tv_nsec - t0.tv_nsec) / 1e6);
	return 0;
}

static void bpf_close(struct probe *p)
{
	struct probe_bpf *b = bpf_of(p);

	if (!b)
		return;
	ring_early_done(&b->ring);
	release_stop(b);
	release_in_child(b);
	for (int i = 0; i < b->natt; i++) {
		if (b->att[i].link)
			bpf_link__destroy(b->att[i].link);
		free(b->att[i].tp);
	}
	free(b->att);
	free(b->snap);
	for (int i = 0; i < 2; i++)
		bpf_link__destroy(b->seccomp_links[i]);
	ring_buffer__free(b->rb);
	bpf_unload(b);
	pthread_mutex_destroy(&b->rq.lock);
	pthread_cond_destroy(&b->rq.more);
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

/*
 * A running task's ids for its next set*id event (task storage takes a
 * pidfd as the key from user space).  Never over what the kernel side has
 * written since the agent read them (BPF_NOEXIST), unless that entry is
 * from before sf_sys_exit's last attach (its gen), which it replaces.
 */
static int bpf_seed_ids(struct probe *p, int pidfd, const uint32_t ids[4])
{
	struct probe_bpf *b = bpf_of(p);
	int fd = bpf_map__fd(b->skel->maps.task_ids);
	struct sf_task_ids v = {
		.uid = ids[0],
		.euid = ids[1],
		.gid = ids[2],
		.egid = ids[3],
		.gen = __atomic_load_n(&b->skel->data->cred_gen,
				       __ATOMIC_SEQ_CST),
	};
	struct sf_task_ids cur;

	if (bpf_map_update_elem(fd, &pidfd, &v, BPF_NOEXIST) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (bpf_map_lookup_elem(fd, &pidfd, &cur) < 0 || cur.gen == v.gen)
		return 0;
	return bpf_map_update_elem(fd, &pidfd, &v, BPF_EXIST) < 0 ? -errno : 0;
}

static int bpf_untrack(struct probe *p, uint64_t cgid)
{
	struct probe_bpf *b = bpf_of(p);
	int r = bpf_map__delete_elem(b->skel->maps.tracked, &cgid, sizeof(cgid),
				     0);

	bump_gen(b);
	return r;
}

/* s += v, counter by counter: sf_drop is all __u64 counters, so a field
 * added to it is summed without a list here to forget it in */
static void drop_add(struct sf_drop *s, const struct sf_drop *v)
{
	_Static_assert(sizeof(struct sf_drop) % sizeof(__u64) == 0,
		       "struct sf_drop: __u64 counters only");
	__u64 *d = (__u64 *)s;
	const __u64 *a = (const __u64 *)v;

	for (size_t i = 0; i < sizeof(*s) / sizeof(__u64); i++)
		d[i] += a[i];
}

/* The slot's sf_drop counters summed over CPUs. */
static struct sf_drop bpf_drop_sum(struct probe *p, uint32_t slot)
{
	struct probe_bpf *b = bpf_of(p);
	struct sf_drop d[b->ncpus], sum = {0};

	if (b->snap_on && slot < SF_MAX_SLOTS)
		return b->snap[slot];
	memset(d, 0, sizeof(d)); /* valgrind cannot see the kernel fill it */
	if (bpf_map__lookup_elem(b->skel->maps.drops, &slot, sizeof(slot), d,
				 sizeof(d), 0) < 0)
		return sum;
	for (int i = 0; i < b->ncpus; i++)
		drop_add(&sum, &d[i]);
	return sum;
}

static void bpf_snapshot(struct probe *p, bool on)
{
	struct probe_bpf *b = bpf_of(p);
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	cleanup_free uint32_t *keys = NULL;
	cleanup_free struct sf_drop *vals = NULL;
	__u32 count = SF_MAX_SLOTS, out = 0;
	int r;

	b->snap_on = false;
	if (!on)
		return;
	/* zeroed: valgrind cannot see the kernel fill them (batch lookup) */
	keys = xzalloc(SF_MAX_SLOTS * sizeof(*keys));
	vals = xzalloc((size_t)SF_MAX_SLOTS * b->ncpus * sizeof(*vals));
	if (!b->snap)
		b->snap = xmalloc(SF_MAX_SLOTS * sizeof(*b->snap));
	r = bpf_map_lookup_batch(bpf_map__fd(b->skel->maps.drops), NULL, &out,
				 keys, vals, &count, &bo);
	/* -ENOENT: the end of the map was reached, count says how far */
	if ((r < 0 && errno != ENOENT) || count != SF_MAX_SLOTS) {
		log_debug("batch read of the loss counters: %s (%u of %u)",
			  strerror(errno), count, SF_MAX_SLOTS);
		return; /* per-slot lookups, as without a snapshot */
	}
	memset(b->snap, 0, SF_MAX_SLOTS * sizeof(*b->snap));
	for (__u32 i = 0; i < count; i++) {
		struct sf_drop *s = &b->snap[keys[i] & (SF_MAX_SLOTS - 1)];
		const struct sf_drop *v = &vals[(size_t)i * b->ncpus];

		for (int c = 0; c < b->ncpus; c++)
			drop_add(s, &v[c]);
	}
	b->snap_on = true;
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
			       const struct sf_filter_mask *m,
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

static void bpf_polls(struct probe *p, bool on)
{
	/* a store into the mmapped .bss; seq_cst: the agent's look at the
	 * ring after clearing it must not pass it (agent/agent.c) */
	__atomic_store_n(&bpf_of(p)->skel->bss->agent_polls, on,
			 __ATOMIC_SEQ_CST);
}

static uint64_t bpf_paused_drops(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).paused;
}

/* The slot's io_uring requests whose completion never came (a process
 * gone with requests in flight, a completion on a kworker's ring exit not
 * seen): deleted with its flows. */
static unsigned flow_uring_forget_in(int fd, uint32_t slot)
{
	/* keys of 8 (a request's address) or 16 bytes (ring, user_data);
	 * none is all zero: the walk starts at the first */
	const uint64_t none[2] = {0};
	const uint64_t *prev = none;
	uint64_t k[2], next[2];
	struct sf_flow_uring v;
	unsigned left = 0;

	memset(next, 0, sizeof(next)); /* valgrind: the kernel fills it */
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(k, next, sizeof(k));
		prev = k;
		memset(&v, 0, sizeof(v));
		if (bpf_map_lookup_elem(fd, k, &v) == 0 && v.slot == slot &&
		    bpf_map_delete_elem(fd, k) == 0) {
			left++;
			prev = none; /* deleted: start over */
		}
	}
	return left;
}

static void flow_uring_forget(struct probe_bpf *b, uint32_t slot)
{
	unsigned left =
		flow_uring_forget_in(bpf_map__fd(b->skel->maps.flow_uring),
				     slot) +
		flow_uring_forget_in(bpf_map__fd(b->skel->maps.flow_uring_ms),
				     slot);

	if (left)
		log_debug("slot %u: %u io_uring requests counted no completion",
			  slot, left);
}

/* -F sysflow's flow counting (bpf/flow.bpf.h) for slot: on or off.  Off
 * deletes what the slot's processes left in the map (fds closed unseen). */
static void bpf_flow_count(struct probe *p, uint32_t slot, bool on)
{
	struct probe_bpf *b = bpf_of(p);
	volatile __u8 *f = &b->skel->bss->flow_on[slot & (SF_MAX_SLOTS - 1)];
	int fd = bpf_map__fd(b->skel->maps.flow_counts);
	/* a key no flow has: the walk starts at the first (valgrind does
	 * not know a NULL key for BPF_MAP_GET_NEXT_KEY) */
	const struct sf_flow_key none = {.slot = SF_SLOT_EXCLUDED};
	struct sf_flow_key k, next;
	const struct sf_flow_key *prev = &none;
	unsigned left = 0;

	if (!*f == !on)
		return;
	*f = on;
	__atomic_add_fetch(&b->skel->bss->flow_slots, on ? 1 : -1,
			   __ATOMIC_SEQ_CST);
	if (on)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		k = next;
		prev = &k;
		if (k.slot == slot && bpf_map_delete_elem(fd, &k) == 0) {
			left++;
			prev = &none; /* deleted: start over */
		}
	}
	if (left)
		log_debug("slot %u: %u flow counters left by closes not seen",
			  slot, left);
	flow_uring_forget(b, slot);
}

static int bpf_flow_get(struct probe *p, const struct sf_flow_key *k, bool take,
			struct sf_flow_counts *out)
{
	int fd = bpf_map__fd(bpf_of(p)->skel->maps.flow_counts);

	memset(out, 0, sizeof(*out)); /* valgrind: the kernel fills it */
	if (take)
		return bpf_map_lookup_and_delete_elem(fd, k, out);
	return bpf_map_lookup_elem(fd, k, out);
}

static uint64_t bpf_uring_kept(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).uring_kept;
}

static uint64_t bpf_flow_full(struct probe *p, uint32_t slot)
{
	return bpf_drop_sum(p, slot).flow_full;
}

static void bpf_flow_fixed(struct probe *p, uint32_t slot, uint64_t *ops,
			   uint64_t *bytes)
{
	struct sf_drop d = bpf_drop_sum(p, slot);

	*ops = d.uring_fixed_ops;
	*bytes = d.uring_fixed_bytes;
}

static int bpf_epoll_fd(struct probe *p)
{
	return ring_buffer__epoll_fd(bpf_of(p)->rb);
}

static int bpf_poll(struct probe *p)
{
	return ring_buffer__consume(bpf_of(p)->rb);
}

static int bpf_seccomp_start(struct probe *p, uint32_t slot,
			     struct sf_error **err)
{
	struct probe_bpf *pb = bpf_of(p);
	struct sf_seccomp_bits b[pb->ncpus];
	__u32 on = 1;
	int r;

	memset(b, 0, sizeof(b));
	r = bpf_map__update_elem(pb->skel->maps.seccomp_bits, &slot,
				 sizeof(slot), b, sizeof(b), BPF_ANY);
	if (!r)
		r = bpf_map__update_elem(pb->skel->maps.seccomp_on, &slot,
					 sizeof(slot), &on, sizeof(on),
					 BPF_ANY);
	if (r < 0)
		return sf_fail(err, -r, "seccomp recording: BPF map update");
	if (pb->seccomp_users++ == 0) {
		pb->seccomp_links[0] =
			bpf_program__attach(pb->skel->progs.sf_seccomp_enter);
		/* io_uring may be compiled out: the syscalls still count */
		pb->seccomp_links[1] =
			bpf_program__attach(pb->skel->progs.sf_seccomp_uring);
		if (!pb->seccomp_links[0]) {
			int e = errno;

			pb->seccomp_users = 0;
			on = 0;
			bpf_map__update_elem(pb->skel->maps.seccomp_on, &slot,
					     sizeof(slot), &on, sizeof(on),
					     BPF_ANY);
			return sf_fail(
				err, e,
				"seccomp recording: attach to sys_enter");
		}
	}
	return 0;
}

static void bpf_seccomp_stop(struct probe *p, uint32_t slot,
			     struct sf_seccomp_bits *out)
{
	struct probe_bpf *pb = bpf_of(p);
	struct sf_seccomp_bits b[pb->ncpus];
	__u32 off = 0;

	memset(b, 0, sizeof(b)); /* valgrind cannot see the kernel fill it */
	if (!pb->seccomp_users)
		return;
	bpf_map__update_elem(pb->skel->maps.seccomp_on, &slot, sizeof(slot),
			     &off, sizeof(off), BPF_ANY);
	if (bpf_map__lookup_elem(pb->skel->maps.seccomp_bits, &slot,
				 sizeof(slot), b, sizeof(b), 0) == 0)
		for (int c = 0; c < pb->ncpus; c++) {
			for (int i = 0; i < SF_SECCOMP_NR_MAX / 64; i++) {
				out->native[i] |= b[c].native[i];
				out->compat[i] |= b[c].compat[i];
			}
			for (int i = 0; i < SF_SECCOMP_URING_MAX / 64; i++)
				out->uring[i] |= b[c].uring[i];
		}
	if (--pb->seccomp_users == 0)
		for (int i = 0; i < 2; i++) {
			bpf_link__destroy(pb->seccomp_links[i]);
			pb->seccomp_links[i] = NULL;
		}
}

/* A request's process is gone (or its pid taken by another, which only
 * delays the sweep). */
static bool pending_orphan(const struct sf_uring_pending *v, uint64_t now)
{
	return now - v->r.hdr.ts_boot >= SF_URING_SWEEP_AGE_NS &&
	       kill((pid_t)v->r.hdr.pid, 0) < 0 && errno == ESRCH;
}

static int bpf_uring_sweep(struct probe *p, uint32_t slot)
{
	struct probe_bpf *b = bpf_of(p);
	int fd = bpf_map__fd(b->skel->maps.uring_pending), n, sent = 0;
	static uint64_t keys[SF_URING_PENDING_MAX];
	struct sf_uring_pending v;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	/* the keys first (each entry there all along, once:
	 * uring_keys.h), then each entry taken */
	n = uring_keys_collect(fd, sizeof(v), keys, SF_URING_PENDING_MAX);
	if (n < 0 && !b->told_uring_keys) {
		b->told_uring_keys = true;
		log_warn(
			"io_uring: cannot read the table of requests waiting for a completion: %s (what the kernel never completes is not sent)",
			strerror(-n));
	}
	for (int i = 0; i < n; i++) {
		memset(&v, 0, sizeof(v));
		if (bpf_map_lookup_elem(fd, &keys[i], &v) < 0)
			continue; /* completed meanwhile */
		if (v.r.hdr.slot != slot && !pending_orphan(&v, now))
			continue;
		/* whoever deletes it sends it (bpf/uring.bpf.h) */
		if (bpf_map_delete_elem(fd, &keys[i]) < 0)
			continue;
		v.r.hdr.flags |= SF_F_URING_NO_CQE;
		if (v.size > sizeof(v.r))
			v.size = sizeof(v.r);
		b->on_event(b->ctx, &v.r, v.size);
		sent++;
	}
	if (sent)
		log_debug("io_uring: %d requests without a completion sent",
			  sent);
	return sent;
}

static void bpf_prog_stats(struct probe *p,
			   void (*fn)(void *ctx, const char *name,
				      uint64_t run_ns, uint64_t runs),
			   void *ctx)
{
	struct sfagent_bpf *objs[] = {bpf_of(p)->skel, bpf_of(p)->skel_sys};
	struct bpf_program *prog;

	/* a program is loaded in one of them (bpf_load), its fd < 0 in
	 * the other */
	for (int i = 0; i < 2; i++) {
		if (!objs[i])
			continue;
		bpf_object__for_each_program(prog, objs[i]->obj)
		{
			struct bpf_prog_info info;
			__u32 len = sizeof(info);
			int fd = bpf_program__fd(prog);

			memset(&info, 0, sizeof(info));
			if (fd < 0 ||
			    bpf_obj_get_info_by_fd(fd, &info, &len) < 0)
				continue;
			fn(ctx, bpf_program__name(prog), info.run_time_ns,
			   info.run_cnt);
		}
	}
}

const struct probe_ops probe_bpf_ops = {
	.name = "bpf",
	.open = bpf_open,
	.attach = bpf_attach,
	.detach = bpf_detach,
	.groups_for = bpf_groups_for,
	.poll = bpf_poll,
	.close = bpf_close,
	.epoll_fd = bpf_epoll_fd,
	.track = bpf_track,
	.untrack = bpf_untrack,
	.seed_ids = bpf_seed_ids,
	.drops = bpf_drops,
	.reset_drops = bpf_reset_drops,
	.filtered = bpf_filtered,
	.set_filter_mask = bpf_set_filter_mask,
	.pause = bpf_pause,
	.paused_drops = bpf_paused_drops,
	.snapshot = bpf_snapshot,
	.seccomp_start = bpf_seccomp_start,
	.seccomp_stop = bpf_seccomp_stop,
	.prog_stats = bpf_prog_stats,
	.flow_count = bpf_flow_count,
	.flow_get = bpf_flow_get,
	.flow_full = bpf_flow_full,
	.flow_fixed = bpf_flow_fixed,
	.uring_sweep = bpf_uring_sweep,
	.uring_kept = bpf_uring_kept,
	.polls = bpf_polls,
};
