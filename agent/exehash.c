// SPDX-License-Identifier: GPL-2.0
#include "exehash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static uint64_t stat_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + (uint64_t)t->tv_nsec;
}

/* What fstat says, in the kernel side's terms (bpf/process.bpf.h). */
static void stat_id(const struct stat *st, struct exehash_id *id)
{
	id->dev = ((uint64_t)major(st->st_dev) << 20) | minor(st->st_dev);
	id->ino = st->st_ino;
	id->mtime = (int64_t)stat_ns(&st->st_mtim);
	id->ctime = (int64_t)stat_ns(&st->st_ctim);
}

static bool id_eq(const struct exehash_id *a, const struct exehash_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->mtime == b->mtime &&
	       a->ctime == b->ctime;
}

static struct exehash_entry *cache_slot(struct exehash *h,
					const struct exehash_id *id)
{
	uint64_t k = id->ino * 0x9e3779b97f4a7c15ull ^ id->dev ^
		     (uint64_t)id->ctime * 0xff51afd7ed558ccdull;

	return &h->cache[(k >> 17) % EXEHASH_CACHE];
}

/* sha256 of fd (size bytes expected); NULL, or the exe_hash_state */
static const char *hash_fd(struct exehash *h, int fd, uint64_t size,
			   char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE], buf[1 << 16];
	unsigned mdlen = 0;
	uint64_t total = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *fail = NULL;
	ssize_t n;

	if (!ctx || !EVP_DigestInit_ex(ctx, h->md, NULL)) {
		EVP_MD_CTX_free(ctx);
		return "unreadable";
	}
	while ((n = pread(fd, buf, sizeof(buf), (off_t)total)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || total + (uint64_t)n > EXEHASH_MAX_BYTES) {
			fail = n < 0 ? "unreadable" : "too_large";
			break;
		}
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += (uint64_t)n;
	}
	if (!fail && !EVP_DigestFinal_ex(ctx, md, &mdlen))
		fail = "unreadable";
	EVP_MD_CTX_free(ctx);
	/* it cannot be written while it runs (ETXTBSY), but it may have been
	 * truncated or chmod'ed: the worker checks the identity again */
	if (!fail && total != size)
		fail = "changed";
	for (unsigned i = 0; !fail && i < mdlen && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = 0;
	return fail;
}

/* OpenSSL reads its configuration on first use: here, on the worker, off
 * the start's path (1.8 ms of a short -X on the main thread); the daemon
 * waits for it before its sandbox (exehash_ready).  The thread's OpenSSL
 * state is freed when it ends (OPENSSL_thread_stop). */
static void crypto_init(struct exehash *h)
{
	unsigned char probe[EVP_MAX_MD_SIZE];

	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CONFIG, NULL);
	h->md = EVP_sha256();
	EVP_Digest("", 0, probe, NULL, h->md, NULL);
	pthread_mutex_lock(&h->mu);
	h->ready = true;
	pthread_cond_broadcast(&h->done);
	pthread_mutex_unlock(&h->mu);
}

static void *worker(void *arg)
{
	struct exehash *h = arg;

	crypto_init(h);
	pthread_mutex_lock(&h->mu);
	for (;;) {
		struct exehash_job *j;
		struct exehash_id after;
		struct stat st;
		const char *fail;
		char hex[65];

		if (!h->qlen) {
			if (h->stop)
				break;
			pthread_cond_wait(&h->work, &h->mu);
			continue;
		}
		/* the oldest first */
		j = &h->jobs[h->queue[h->qhead]];
		h->qhead = (h->qhead + 1) % EXEHASH_JOBS;
		h->qlen--;
		j->queued = false;
		pthread_mutex_unlock(&h->mu);
		fail = hash_fd(h, j->fd, j->size, hex);
		if (!fail) {
			if (fstat(j->fd, &st) < 0)
				fail = "unreadable";
			stat_id(&st, &after);
			if (!fail &&
			    (after.dev != j->id.dev || after.ino != j->id.ino ||
			     (j->strict && !id_eq(&after, &j->id)) ||
			     (uint64_t)st.st_size != j->size))
				fail = "changed";
		}
		close(j->fd);
		pthread_mutex_lock(&h->mu);
		j->fd = -1;
		j->fail = fail;
		if (!fail)
			memcpy(j->hex, hex, sizeof(hex));
		j->done = true;
		h->inflight--;
		h->queued_bytes -= j->size;
		h->done_list[h->ndone++] = (unsigned)(j - h->jobs);
		__atomic_store_n(&h->done_hint, 1, __ATOMIC_RELEASE);
		pthread_cond_broadcast(&h->done);
	}
	pthread_mutex_unlock(&h->mu);
	/* the thread's OpenSSL state (its error queue) is freed here */
	OPENSSL_thread_stop();
	return NULL;
}

struct exehash *exehash_new(enum exehash_mode mode)
{
	sigset_t all, old;
	struct exehash *h;
	struct rlimit rl;
	int rc;

	if (mode == EXEHASH_NONE)
		return NULL;
	h = xmalloc(sizeof(*h));
	memset(h, 0, sizeof(*h));
	h->mode = mode;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->work, NULL);
	pthread_cond_init(&h->done, NULL);
	for (unsigned i = 0; i < EXEHASH_JOBS; i++) {
		h->jobs[i].fd = -1;
		h->free[h->nfree++] = EXEHASH_JOBS - 1 - i;
	}
	/* each queued file is an open fd: at most half of what the agent may
	 * open, the rest is for its outputs and clients */
	h->max_open = EXEHASH_JOBS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 2 < h->max_open)
		h->max_open = rl.rlim_cur > 2 ? (unsigned)(rl.rlim_cur / 2) : 1;
	/* no signal for the worker: the main thread's signalfd (SIGCHLD of
	 * -X's program, SIGTERM) must get them all, also when the thread is
	 * made before they are blocked */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&h->thread, NULL, worker, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		log_error("exe hash: no worker thread: %s", strerror(rc));
		free(h);
		return NULL;
	}
	return h;
}

void exehash_ready(struct exehash *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	while (!h->ready)
		pthread_cond_wait(&h->done, &h->mu);
	pthread_mutex_unlock(&h->mu);
}

void exehash_free(struct exehash *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	h->stop = true;
	/* queued, not started: not hashed (their fds are closed below) */
	h->qlen = 0;
	pthread_cond_broadcast(&h->work);
	pthread_mutex_unlock(&h->mu);
	pthread_join(h->thread, NULL);
	for (unsigned i = 0; i < EXEHASH_JOBS; i++)
		if (h->jobs[i].fd >= 0)
			close(h->jobs[i].fd);
	log_info(
		"exe hash: %llu binaries hashed, %llu execs from the cache, %llu without a hash for lack of room, %llu failed",
		(unsigned long long)h->computed, (unsigned long long)h->cached,
		(unsigned long long)h->dropped, (unsigned long long)h->failed);
	if (h->mode == EXEHASH_OPEN)
		log_info(
			"file hash: %llu files hashed, %llu opens and maps from the cache, %llu without a hash for lack of room",
			(unsigned long long)h->file_computed,
			(unsigned long long)h->file_cached,
			(unsigned long long)h->file_dropped);
	pthread_cond_destroy(&h->work);
	pthread_cond_destroy(&h->done);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static void add_hex(struct decode_event *v, const char *hex, bool file)
{
	decode_sec_add_str(v, file ? "file_sha256" : "exe_sha256", hex, 64);
}

static void add_state(struct decode_event *v, const char *state, bool file)
{
	decode_sec_add_str(v, file ? "file_hash_state" : "exe_hash_state",
			   state, strlen(state));
}

/* an exec (or a file event) waits for job j: false when there is no room */
static bool job_wait(struct exehash_job *j, uint32_t slot, uint64_t seq,
		     const struct sf_hdr *hdr, bool file)
{
	for (unsigned i = 0; i < j->nwaiters; i++) {
		if (j->w[i].slot == slot && j->w[i].file == file) {
			j->w[i].execs++;
			return true;
		}
	}
	if (j->nwaiters == EXEHASH_WAITERS)
		return false;
	j->w[j->nwaiters++] = (struct exehash_waiter){.slot = slot,
						      .execs = 1,
						      .exec_seq = seq,
						      .hdr = *hdr,
						      .file = file};
	return true;
}

/* the open failed for lack of fds: no room (backlog), not the file's fault */
static const char no_fd[] = "backlog";

/* Opens what runs in pid and checks it is what the kernel said: the fd,
 * or -1 with *state set. */
static int open_exe(const struct sf_exec_event *e, const struct exehash_id *id,
		    const struct decode_event *v, uint64_t *size,
		    const char **state, bool *strict)
{
	const struct decode_kv *path = decode_sec_find(v, "exe");
	bool by_path = false;
	char proc[32];
	struct exehash_id now;
	struct stat st;
	int fd;

	snprintf(proc, sizeof(proc), "/proc/%u/exe", e->hdr.pid);
	/* While the process runs the image, the file cannot be written
	 * (ETXTBSY): through /proc/PID/exe the same inode has the bytes that
	 * ran, whatever was done to its name or metadata since. */
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	/* gone already (a short-lived process): the image's path, which is
	 * only used when it is the very inode the kernel reported, unchanged
	 * (in a container the path is the container's, seldom found here) */
	if (fd < 0 && (errno == ENOENT || errno == ESRCH) && path && path->s &&
	    !path->truncated && !(e->exe_flags & SF_EXE_DELETED)) {
		by_path = true;
		fd = open(path->s, O_RDONLY | O_CLOEXEC | O_NOCTTY |
					   O_NOFOLLOW | O_NONBLOCK);
	}
	if (fd < 0) {
		*state = errno == EMFILE || errno == ENFILE ? no_fd
			 : errno == ENOENT || errno == ESRCH || errno == ELOOP
				 ? "exited"
				 : "unreadable";
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		*state = "unreadable";
		return -1;
	}
	stat_id(&st, &now);
	*strict = by_path;
	if (now.dev != id->dev || now.ino != id->ino || !S_ISREG(st.st_mode))
		*state = "exited"; /* it runs another image now (or the pid
				    * was reused), or the path leads elsewhere */
	else if (by_path && !id_eq(&now, id))
		*state = "changed"; /* no longer running: it may have been
				     * written since the exec */
	else if ((uint64_t)st.st_size > EXEHASH_MAX_BYTES)
		*state = "too_large";
	else
		*state = NULL;
	if (*state) {
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* a finished job's result into the cache (under the mutex) */
static void job_settle(struct exehash *h, struct exehash_job *j)
{
	struct exehash_entry *c = cache_slot(h, &j->id);

	if (!c->used || c->job != j - h->jobs || !id_eq(&c->id, &j->id))
		return;
	if (j->fail) {
		c->used = false;
		h->failed++;
		return;
	}
	c->job = -1;
	memcpy(c->hex, j->hex, sizeof(c->hex));
}

/* One event that wants the digest of the inode `id` (size: 0 unknown). */
struct want {
	struct exehash_id id;
	uint64_t size;
	uint32_t slot;
	uint64_t seq;
	const struct sf_hdr *hdr;
	bool file;
};

static void count(struct exehash *h, const struct want *w, int what)
{
	struct exehash_count *cnt = &h->count[w->slot % SF_MAX_SLOTS];
	uint64_t *agent[3] = {&h->computed, &h->cached, &h->dropped};
	uint64_t *stream[3] = {&cnt->computed, &cnt->cached, &cnt->dropped};

	if (w->file) {
		agent[0] = &h->file_computed, agent[1] = &h->file_cached;
		agent[2] = &h->file_dropped;
		stream[0] = &cnt->file_computed, stream[1] = &cnt->file_cached;
		stream[2] = &cnt->file_dropped;
	}
	(*agent[what])++;
	(*stream[what])++;
}

enum { COUNT_COMPUTED, COUNT_CACHED, COUNT_DROPPED };

/* no room for the hash the event wants: counted */
static void backlog(struct exehash *h, const struct want *w,
		    struct decode_event *v)
{
	count(h, w, COUNT_DROPPED);
	add_state(v, "backlog", w->file);
}

/* Room for one more hash of `size` bytes (0: not known yet), under mu:
 * a free job, an fd to spare, and the bytes waiting stay under the bound
 * (one file larger than that is taken when nothing else waits). */
static bool room(const struct exehash *h, uint64_t size)
{
	return h->nfree && h->inflight < h->max_open &&
	       (!h->queued_bytes ||
		h->queued_bytes + size <= EXEHASH_QUEUE_BYTES);
}

/* The cache answers, or there is no room (true: v has its field), or a
 * hash may be started (false). */
static bool lookup(struct exehash *h, const struct want *w,
		   struct decode_event *v)
{
	struct exehash_entry *c = cache_slot(h, &w->id);
	bool same, go;

	pthread_mutex_lock(&h->mu);
	if (c->used && id_eq(&c->id, &w->id) && c->job >= 0 &&
	    h->jobs[c->job].done)
		job_settle(h, &h->jobs[c->job]);
	/* the size is part of the identity where the event knows it */
	same = c->used && id_eq(&c->id, &w->id) &&
	       (!w->size || c->job >= 0 || c->size == w->size);
	if (same && c->job < 0) {
		pthread_mutex_unlock(&h->mu);
		count(h, w, COUNT_CACHED);
		add_hex(v, c->hex, w->file);
		return true;
	}
	if (same) {
		/* being hashed: told by the job's later record */
		bool ok = job_wait(&h->jobs[c->job], w->slot, w->seq, w->hdr,
				   w->file);

		pthread_mutex_unlock(&h->mu);
		if (!ok)
			count(h, w, COUNT_DROPPED);
		add_state(v, ok ? "pending" : "backlog", w->file);
		return true;
	}
	go = room(h, w->size);
	pthread_mutex_unlock(&h->mu);
	if (go)
		return false;
	backlog(h, w, v);
	return true;
}

/* fd (checked against w->id) to the worker, when there is still room for
 * its size; else closed, backlog */
static void start(struct exehash *h, const struct want *w, int fd,
		  uint64_t size, bool strict, struct decode_event *v)
{
	struct exehash_entry *c = cache_slot(h, &w->id);
	struct exehash_job *j;

	pthread_mutex_lock(&h->mu);
	if (!room(h, size)) {
		pthread_mutex_unlock(&h->mu);
		close(fd);
		backlog(h, w, v);
		return;
	}
	j = &h->jobs[h->free[--h->nfree]];
	h->queue[(h->qhead + h->qlen++) % EXEHASH_JOBS] =
		(unsigned)(j - h->jobs);
	h->inflight++;
	h->queued_bytes += size;
	*j = (struct exehash_job){.used = true,
				  .queued = true,
				  .strict = strict,
				  .fd = fd,
				  .id = w->id,
				  .size = size};
	job_wait(j, w->slot, w->seq, w->hdr, w->file);
	/* a binary hashed before and now gone from the cache is replaced */
	*c = (struct exehash_entry){.id = w->id,
				    .size = size,
				    .job = (int)(j - h->jobs),
				    .used = true};
	pthread_cond_signal(&h->work);
	pthread_mutex_unlock(&h->mu);
	count(h, w, COUNT_COMPUTED);
	add_state(v, "pending", w->file);
}

void exehash_exec(struct exehash *h, uint32_t slot, uint64_t seq,
		  const struct sf_exec_event *e, struct decode_event *v)
{
	struct want w = {.id = {.dev = e->exe_dev,
				.ino = e->exe_ino,
				.mtime = e->exe_mtime,
				.ctime = e->exe_ctime},
			 .slot = slot,
			 .seq = seq,
			 .hdr = &e->hdr};
	const char *state;
	bool strict = false;
	uint64_t size;
	int fd;

	if ((e->hdr.flags & SF_F_HAS_RET) && e->hdr.ret < 0)
		return; /* a failed exec ran nothing */
	if (e->exe.flags & SF_KP_NONE)
		return; /* no image reported */
	if (lookup(h, &w, v))
		return;
	/* at once: a short-lived process is gone soon */
	fd = open_exe(e, &w.id, v, &size, &state, &strict);
	if (fd < 0 && state == no_fd)
		backlog(h, &w, v);
	else if (fd < 0)
		add_state(v, state, false);
	else
		start(h, &w, fd, size, strict, v);
}

/* file systems whose files' bytes are made at each read */
static bool pseudo_fs(uint64_t magic)
{
	static const uint64_t m[] = {
		0x9fa0, /* proc */
		0x62656572, /* sysfs */
		0x63677270, /* cgroup2 */
		0x27e0eb, /* cgroup */
		0x64626720, /* debugfs */
		0x74726163, /* tracefs */
		0x73636673, /* securityfs */
		0xcafe4a11, /* bpf */
		0x62656570, /* configfs */
		0x1cd1, /* devpts */
		0x6e736673, /* nsfs */
	};

	for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
		if (magic == m[i])
			return true;
	return false;
}

/* The file of the event, opened by what still leads to it, with the
 * kernel's identity at the event checked (all of it: the file may be
 * written while open).  -1 with *state set. */
static int open_file(const struct decode_event *v, const void *raw,
		     const struct exehash_id *id, uint64_t want_size,
		     const char **state)
{
	char p[SF_PATH_MAX + 64];
	const char *name = NULL, *host = NULL;
	bool opened = false, nofd = false;
	int fd = -1, fdnum = -1;
	struct exehash_id now;
	struct stat st;

	if (v->type == SF_EV_MMAP_EXEC) {
		const struct sf_mmap_event *e = raw;
		const struct decode_kv *f = decode_sec_find(v, "file");

		fdnum = e->fd;
		if (f && f->s && !f->truncated && f->s[0] == '/')
			name = f->s;
	} else {
		const struct decode_kv *r = decode_sec_find(v, "resolved");
		const struct decode_kv *hp = decode_sec_find(v, "host_path");

		fdnum = (v->has & DECODE_HAS_FD) ? (int)v->fd : -1;
		if (hp && hp->s && !hp->truncated && hp->s[0] == '/')
			host = hp->s;
		if (r && r->s && !r->truncated && r->s[0] == '/')
			name = r->s;
		else if (!v->path.fault && !v->path.truncated && v->path.s &&
			 v->path.s[0] == '/')
			name = v->path.s;
	}
	/* 0: the fd while it is open; 1: the mapping (map_files) while it
	 * exists; 2: the path in the process's root; 3: the path here (the
	 * host's path of it where the record has one) */
	for (int step = 0; step < 4; step++) {
		const struct sf_mmap_event *m = raw;

		if (step == 0 && fdnum >= 0)
			snprintf(p, sizeof(p), "/proc/%u/fd/%d", v->pid, fdnum);
		else if (step == 1 && v->type == SF_EV_MMAP_EXEC && m->vm_end)
			snprintf(p, sizeof(p), "/proc/%u/map_files/%llx-%llx",
				 v->pid, (unsigned long long)m->vm_start,
				 (unsigned long long)m->vm_end);
		else if (step == 2 && name)
			snprintf(p, sizeof(p), "/proc/%u/root%s", v->pid, name);
		else if (step == 3 && (host || name))
			snprintf(p, sizeof(p), "%s", host ? host : name);
		else
			continue;
		/* symlinks are followed, as the open was: what is reached is
		 * checked against the kernel's identity of the file anyway */
		fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			if (errno == EACCES || errno == EPERM)
				opened = true; /* there, but not for us */
			if (errno == EMFILE || errno == ENFILE)
				nofd = true;
			continue;
		}
		opened = true;
		if (fstat(fd, &st) == 0) {
			stat_id(&st, &now);
			if (S_ISREG(st.st_mode) && id_eq(&now, id) &&
			    (uint64_t)st.st_size == want_size)
				break; /* the very file, unchanged */
		}
		close(fd);
		fd = -1;
	}
	if (fd >= 0) {
		*state = want_size > EXEHASH_MAX_BYTES ? "too_large" : NULL;
		if (*state) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	/* nothing leads to it any more, or only to something else */
	*state = opened ? "changed" : nofd ? no_fd : "exited";
	return -1;
}

void exehash_file(struct exehash *h, uint32_t slot, uint64_t seq,
		  const void *raw, struct decode_event *v)
{
	const struct sf_ident *id = v->ident;
	struct want w = {.slot = slot, .seq = seq, .hdr = raw, .file = true};
	const char *state;
	int fd;

	if (!h || h->mode != EXEHASH_OPEN || !(v->has & DECODE_HAS_IDENT))
		return;
	if (v->has_ret && v->ret < 0 && v->type == SF_EV_OPEN)
		return;
	if (!S_ISREG(id->mode) || pseudo_fs(id->magic) || !id->ctime)
		return;
	w.id = (struct exehash_id){.dev = id->dev,
				   .ino = id->ino,
				   .mtime = id->mtime,
				   .ctime = id->ctime};
	w.size = id->size;
	if (lookup(h, &w, v))
		return;
	fd = open_file(v, raw, &w.id, id->size, &state);
	if (fd < 0 && state == no_fd)
		backlog(h, &w, v);
	else if (fd < 0)
		add_state(v, state, true);
	else
		start(h, &w, fd, id->size, true, v);
}

static bool slot_waits(struct exehash *h, uint32_t slot)
{
	for (unsigned i = 0; i < EXEHASH_JOBS; i++) {
		const struct exehash_job *j = &h->jobs[i];

		if (!j->used || j->done)
			continue;
		for (unsigned k = 0; k < j->nwaiters; k++)
			if (j->w[k].slot == slot)
				return true;
	}
	return false;
}

void exehash_collect(struct exehash *h, exehash_emit_fn emit, void *ctx,
		     uint32_t slot, unsigned wait_ms)
{
	unsigned idx[EXEHASH_JOBS], n;

	if (!h)
		return;
	pthread_mutex_lock(&h->mu);
	__atomic_store_n(&h->done_hint, 0, __ATOMIC_RELEASE);
	if (wait_ms) {
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		while (slot_waits(h, slot) &&
		       pthread_cond_timedwait(&h->done, &h->mu, &until) == 0)
			;
	}
	n = h->ndone;
	memcpy(idx, h->done_list, n * sizeof(idx[0]));
	h->ndone = 0;
	for (unsigned i = 0; i < n; i++)
		job_settle(h, &h->jobs[idx[i]]);
	pthread_mutex_unlock(&h->mu);
	/* outside the lock: emit() encodes into the streams.  The worker
	 * no longer touches a done job, and only this (the consumer's)
	 * thread hands jobs out, after they are freed below. */
	for (unsigned i = 0; i < n; i++) {
		const struct exehash_job *j = &h->jobs[idx[i]];

		for (unsigned k = 0; k < j->nwaiters; k++) {
			struct exehash_result r = {
				.w = &j->w[k],
				.id = &j->id,
				.size = j->size,
				.hex = j->fail ? NULL : j->hex,
				.fail = j->fail,
			};

			emit(ctx, &r);
		}
	}
	pthread_mutex_lock(&h->mu);
	for (unsigned i = 0; i < n; i++) {
		h->jobs[idx[i]].used = false;
		h->free[h->nfree++] = idx[i];
	}
	pthread_mutex_unlock(&h->mu);
}

void exehash_forget(struct exehash *h, uint32_t slot, struct exehash_count *out)
{
	struct exehash_count *c;

	if (!h) {
		if (out)
			memset(out, 0, sizeof(*out));
		return;
	}
	c = &h->count[slot % SF_MAX_SLOTS];
	pthread_mutex_lock(&h->mu);
	for (unsigned i = 0; i < EXEHASH_JOBS; i++) {
		struct exehash_job *j = &h->jobs[i];

		for (unsigned k = 0; j->used && k < j->nwaiters; k++) {
			const struct exehash_waiter *w = &j->w[k];

			if (w->slot != slot)
				continue;
			/* still pending at the stream's end: no record will
			 * say it, counted as without a digest */
			if (w->file) {
				c->file_dropped += w->execs;
				h->file_dropped += w->execs;
			} else {
				c->dropped += w->execs;
				h->dropped += w->execs;
			}
			j->w[k] = j->w[--j->nwaiters];
			k--;
		}
	}
	pthread_mutex_unlock(&h->mu);
	if (out)
		*out = *c;
	memset(c, 0, sizeof(*c));
}

void exehash_result_view(const struct exehash_result *r, struct decode_event *v)
{
	char dev[24];

	if (r->w->file) {
		/* as file.open and file.mmap_exec say it */
		snprintf(dev, sizeof(dev), "%u:%u",
			 (unsigned)(r->id->dev >> 20),
			 (unsigned)(r->id->dev & 0xfffff));
		decode_sec_add_int(v, "event_seq", (int64_t)r->w->exec_seq);
		decode_sec_add_int(v, "events", r->w->execs);
		decode_sec_add_str(v, "file_dev", dev, strlen(dev));
		decode_sec_add_int(v, "file_ino", (int64_t)r->id->ino);
		decode_sec_add_int(v, "file_mtime", r->id->mtime);
		decode_sec_add_int(v, "file_ctime", r->id->ctime);
		decode_sec_add_int(v, "file_size", (int64_t)r->size);
		if (r->hex)
			add_hex(v, r->hex, true);
		else
			add_state(v, r->fail, true);
		return;
	}
	decode_sec_add_int(v, "exec_seq", (int64_t)r->w->exec_seq);
	decode_sec_add_int(v, "execs", r->w->execs);
	decode_sec_add_int(v, "exe_dev", (int64_t)r->id->dev);
	decode_sec_add_int(v, "exe_ino", (int64_t)r->id->ino);
	decode_sec_add_int(v, "exe_mtime", r->id->mtime);
	decode_sec_add_int(v, "exe_ctime", r->id->ctime);
	decode_sec_add_int(v, "exe_size", (int64_t)r->size);
	if (r->hex)
		add_hex(v, r->hex, r->w->file);
	else
		add_state(v, r->fail, r->w->file);
}
