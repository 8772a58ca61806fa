/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Binary digests of what process.exec ran (issue 12, docs/events.md).
 *
 * The consumer thread calls exehash_exec() for each exec it encodes.  A
 * binary already hashed (cache by the kernel's identity of the image:
 * dev, ino, mtime, ctime; the size is checked when hashing) gives its
 * exe_sha256 at once.  Otherwise the consumer opens /proc/PID/exe (which
 * reaches memfds, deleted files and other mount namespaces; the image's
 * path when the process is gone), checks with fstat that it is the inode
 * the kernel reported, and hands the fd to one
 * worker thread that hashes it (sha256, OpenSSL libcrypto): the exec record
 * is never held back, it says exe_hash_state "pending", and once the hash
 * is done exehash_collect() gives a process.exe_hash record to every
 * workload that waited for it.  The queue is bounded by entries
 * (EXEHASH_JOBS, and by the open files it may hold: half the agent's
 * RLIMIT_NOFILE) and by the bytes of file content waiting to be hashed
 * (EXEHASH_QUEUE_BYTES); its own memory is fixed (allocated at start).  An
 * event that finds no room says "backlog" and is counted; the consumer
 * never waits for the worker except at a stream's end (EXEHASH_SETTLE_MS),
 * and what a stream's end leaves pending is counted too (dropped).
 *
 * The cache and the waiters are the consumer's; the worker only sees jobs,
 * under the mutex.
 */
#ifndef SF_EXEHASH_H
#define SF_EXEHASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "sfagent.h"

/* --hash */
enum exehash_mode {
	EXEHASH_EXEC = 0, /* default: the image of every exec */
	EXEHASH_NONE,
	EXEHASH_OPEN, /* also files opened and mapped executable */
};

#define EXEHASH_MAX_BYTES (256ull << 20) /* larger: too_large */
/* hashes queued, running or done and not yet handed out; more: backlog */
#define EXEHASH_JOBS 1024
/* bytes of files queued and not yet hashed; more: backlog (a larger file
 * is taken when nothing else waits) */
#define EXEHASH_QUEUE_BYTES (64ull << 20)
#define EXEHASH_WAITERS	    8 /* workloads waiting for one hash */
#define EXEHASH_CACHE	    4096 /* binaries remembered (direct-mapped) */
#define EXEHASH_SETTLE_MS   1000 /* a stream's end waits for its hashes */

struct exehash_id {
	uint64_t dev; /* the kernel's dev_t: major << 20 | minor */
	uint64_t ino;
	int64_t mtime, ctime; /* ns since the epoch */
};

struct exehash_waiter {
	uint32_t slot;
	uint32_t execs; /* of this workload waiting (files: events) */
	uint64_t exec_seq; /* the first one's seq */
	struct sf_hdr hdr; /* the first one's header: pid, comm, cgroup */
	bool file; /* a file.open/file.mmap_exec's: the answer is file.hash */
};

struct exehash_job {
	bool used, queued, done;
	bool strict; /* opened by its path: mtime and ctime must match too */
	int fd;
	struct exehash_id id;
	uint64_t size;
	const char *fail; /* done: NULL, or the exe_hash_state */
	char hex[65];
	unsigned nwaiters;
	struct exehash_waiter w[EXEHASH_WAITERS];
};

struct exehash_entry {
	struct exehash_id id;
	uint64_t size;
	int job; /* pending: its job; -1: hashed */
	bool used;
	char hex[65];
};

/* per stream, for stream.end */
struct exehash_count {
	uint64_t computed; /* hashes this stream's execs started */
	uint64_t cached; /* execs the cache answered */
	uint64_t dropped; /* execs with no hash for lack of room (backlog) */
	/* --hash open: the same for file.open and file.mmap_exec */
	uint64_t file_computed, file_cached, file_dropped;
};

struct exehash {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work, done;
	bool stop;
	bool ready; /* OpenSSL set up, h->md too (crypto_init) */
	struct exehash_job jobs[EXEHASH_JOBS];
	/* under mu: free jobs (a stack), the worker's queue (FIFO), jobs
	 * done and not yet collected; each queued or running job holds an
	 * open file (at most max_open) and queued_bytes counts their sizes */
	unsigned free[EXEHASH_JOBS], nfree;
	unsigned queue[EXEHASH_JOBS], qhead, qlen;
	unsigned done_list[EXEHASH_JOBS], ndone;
	unsigned inflight, max_open;
	uint64_t queued_bytes;
	struct exehash_entry cache[EXEHASH_CACHE];
	struct exehash_count count[SF_MAX_SLOTS];
	uint64_t computed, cached, dropped, failed; /* the agent's */
	uint64_t file_computed, file_cached, file_dropped;
	const void *md; /* EVP_MD, fetched before any sandbox */
	enum exehash_mode mode;
	int done_hint; /* set by the worker when a job is done (atomic) */
};

/* A hash finished since the last collect: the consumer collects it at
 * once, between two records, so that its job is free again (else a burst
 * of new files finds every job taken and gets "backlog"). */
static inline bool exehash_has_done(const struct exehash *h)
{
	return h && __atomic_load_n(&h->done_hint, __ATOMIC_ACQUIRE);
}

/* The worker started (NULL for --hash none); it sets OpenSSL up first. */
struct exehash *exehash_new(enum exehash_mode mode);
/* Returns once the worker has set OpenSSL up (read its configuration):
 * before a sandbox that would refuse that. */
void exehash_ready(struct exehash *h);
void exehash_free(struct exehash *h);

/*
 * An exec about to be encoded with seq `seq` for the workload in `slot`:
 * adds exe_sha256, or exe_hash_state, to v's extra fields.
 */
void exehash_exec(struct exehash *h, uint32_t slot, uint64_t seq,
		  const struct sf_exec_event *e, struct decode_event *v);

/*
 * --hash open: a file.open (successful, of a regular file) or a
 * file.mmap_exec (raw: its record) about to be encoded with seq `seq`:
 * adds file_sha256, or file_hash_state, to v's extra fields; a later
 * file.hash record carries the digest when it was not cached.  Nothing
 * for other modes, files without the kernel's identity, and files of
 * pseudo file systems (proc, sysfs, ...: their bytes are made at read).
 */
void exehash_file(struct exehash *h, uint32_t slot, uint64_t seq,
		  const void *raw, struct decode_event *v);

/* One finished hash for a waiting workload (exehash_collect). */
struct exehash_result {
	const struct exehash_waiter *w;
	const struct exehash_id *id;
	uint64_t size;
	const char *hex; /* NULL: fail says why */
	const char *fail;
};
typedef void (*exehash_emit_fn)(void *ctx, const struct exehash_result *r);

/* Hands out the finished hashes: emit() once per waiting workload.  Waits
 * up to wait_ms for the hashes `slot` waits for (0: no wait). */
void exehash_collect(struct exehash *h, exehash_emit_fn emit, void *ctx,
		     uint32_t slot, unsigned wait_ms);
/* The stream in slot ends (after a collect): its waiters are forgotten,
 * counted as dropped (no record will tell them), and its counts are
 * copied to *out (may be NULL) before they are reset. */
void exehash_forget(struct exehash *h, uint32_t slot,
		    struct exehash_count *out);

/* The later record's fields, on a view of type SF_EV_EXE_HASH. */
void exehash_result_view(const struct exehash_result *r,
			 struct decode_event *v);

#endif
