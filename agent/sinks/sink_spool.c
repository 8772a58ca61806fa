// SPDX-License-Identifier: GPL-2.0
/* The durable spool of a network sink: see sink_spool.h for the format. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <zlib.h>

#include "sink_spool_int.h"

/* Bytes in the segments of every open spool of the process (not an option:
 * the state --spool-total bounds). */
static uint64_t all_bytes;

void spool_account(int64_t delta)
{
	__atomic_fetch_add(&all_bytes, (uint64_t)delta, __ATOMIC_RELAXED);
}

uint64_t sink_spool_total(void)
{
	return __atomic_load_n(&all_bytes, __ATOMIC_RELAXED);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The header's checksum: magic and tag, and the pack after it (v2). */
static uint32_t hdr_crc(const char *h, bool v2)
{
	uint32_t c = crc32(crc32(0, Z_NULL, 0), (const Bytef *)h, 16);

	return v2 ? crc32(c, (const Bytef *)h + 20, 4) : c;
}

char *spool_seg_name(const struct sink_spool *sp, uint32_t num)
{
	return xasprintf("%s.%010u", sp->key, num);
}

/* Frames of one segment, from its header on: the size of what is whole
 * and checks out.  A short frame at the end is a torn write; a bad
 * checksum is damage: both are cut off and told. */
uint64_t spool_seg_scan(struct sink_spool *sp, struct seg *g, uint64_t fsize,
			uint64_t count_from, uint64_t *nrec)
{
	cleanup_free char *name = spool_seg_name(sp, g->num);
	struct sbuf b = {0};
	uint64_t off = HDR_LEN;
	const char *what = NULL;

	sbuf_reserve(&b, READ_CHUNK);
	while (off < fsize) {
		char h[FRAME_LEN];
		uint32_t len;

		if (fsize - off < FRAME_LEN ||
		    pread(g->fd, h, FRAME_LEN, off) != FRAME_LEN) {
			what = "a torn record at the tail (a crash while writing?)";
			break;
		}
		len = get32(h);
		if (len > MAX_RECORD) {
			what = "a bad record length";
			break;
		}
		if (fsize - off - FRAME_LEN < len) {
			what = "a torn record at the tail (a crash while writing?)";
			break;
		}
		b.len = 0;
		sbuf_reserve(&b, 8 + len);
		memcpy(b.data, h + 8, 8);
		if (pread(g->fd, b.data + 8, len, off + FRAME_LEN) != len ||
		    crc(b.data, 8 + len) != get32(h + 4)) {
			what = "a record whose checksum does not match (damaged)";
			break;
		}
		*nrec += off >= count_from;
		g->last_rid = get64(b.data) & ~CONTROL_BIT;
		g->last_off = off;
		if (!g->nrid++) {
			g->first_rid = g->last_rid;
			g->first_off = off;
		}
		off += FRAME_LEN + len;
	}
	sbuf_free(&b);
	if (what) {
		g->damaged = strncmp(what, "a torn", 6) != 0;
		g->torn = !g->damaged;
		g->damage_at = off;
		g->damage_end = fsize;
		log_error(
			"spool `%s/%s`: %s at offset %llu: the %llu bytes from there are discarded, not replayed",
			sp->stem, name, what, (unsigned long long)off,
			(unsigned long long)(fsize - off));
		if (ftruncate(g->fd, off) < 0)
			log_warn("spool `%s/%s`: cannot cut it: %s", sp->stem,
				 name, strerror(errno));
	}
	return off;
}

static void seg_push(struct sink_spool *sp, struct seg g)
{
	if (sp->nsegs == sp->cap)
		sp->segs = xrealloc(sp->segs,
				    (sp->cap = sp->cap ? sp->cap * 2 : 8) *
					    sizeof(*sp->segs));
	sp->segs[sp->nsegs++] = g;
}

static void seg_drop_first(struct sink_spool *sp)
{
	cleanup_free char *name = spool_seg_name(sp, sp->segs[0].num);

	close(sp->segs[0].fd);
	spool_account(-(int64_t)(sp->segs[0].size - HDR_LEN));
	if (unlinkat(sp->dirfd, name, 0) < 0 && errno != ENOENT)
		log_warn("spool `%s/%s`: cannot remove it: %s", sp->stem, name,
			 strerror(errno));
	memmove(sp->segs, sp->segs + 1, --sp->nsegs * sizeof(*sp->segs));
	if (sp->rseg)
		sp->rseg--;
	else
		sp->roff = HDR_LEN;
}

static int num_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The segment numbers on disk, sorted. */
static size_t list_segs(struct sink_spool *sp, uint32_t **out)
{
	size_t klen = strlen(sp->key), n = 0, cap = 0;
	uint32_t *nums = NULL;
	struct dirent *de;
	int fd = dup(sp->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	while (d && (de = readdir(d))) {
		const char *p = de->d_name + klen + 1;
		char *end;
		unsigned long v;

		if (strncmp(de->d_name, sp->key, klen) != 0 ||
		    de->d_name[klen] != '.' || strlen(p) != 10)
			continue;
		v = strtoul(p, &end, 10);
		if (*end || v == 0 || v > 0xffffff)
			continue;
		if (n == cap)
			nums = xrealloc(nums, (cap = cap ? cap * 2 : 8) * 4);
		nums[n++] = v;
	}
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	if (n)
		qsort(nums, n, sizeof(*nums), num_cmp);
	*out = nums;
	return n;
}

/* One segment found at open: header checked (a v1 one, written before
 * segments told their pack, is read as pack 0), frames scanned. */
static void load_seg(struct sink_spool *sp, uint32_t num)
{
	cleanup_free char *name = spool_seg_name(sp, num);
	struct seg g = {.num = num};
	char h[HDR_LEN];
	struct stat st;
	uint64_t nrec = 0;
	bool v2 = false, good;

	g.fd = openat(sp->dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	good = g.fd >= 0 && fstat(g.fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       pread(g.fd, h, HDR_LEN, 0) == HDR_LEN;
	if (good) {
		v2 = memcmp(h, SEG_MAGIC, 8) == 0;
		good = (v2 || memcmp(h, SEG_MAGIC_V1, 8) == 0) &&
		       hdr_crc(h, v2) == get32(h + 16);
	}
	if (!good) {
		log_error(
			"spool `%s/%s`: not a spool segment (bad header): not replayed, left for you to look at",
			sp->stem, name);
		if (g.fd >= 0)
			close(g.fd);
		return;
	}
	g.tag = get64(h + 8);
	g.pack = v2 ? get32(h + 20) : 0;
	g.size = spool_seg_scan(sp, &g, st.st_size,
				num == MARK_SEG(sp->ack_mark)
					? MARK_OFF(sp->ack_mark)
					: HDR_LEN,
				&nrec);
	sp->replayed += nrec;
	spool_account(g.size - HDR_LEN);
	seg_push(sp, g);
}

static void load_ack(struct sink_spool *sp)
{
	char b[20];

	if (pread(sp->ackfd, b, sizeof(b), 0) != sizeof(b))
		return;
	if (memcmp(b, ACK_MAGIC, 8) != 0 || crc(b, 16) != get32(b + 16)) {
		log_warn(
			"spool `%s.ack`: damaged: replaying from the oldest segment (records may arrive twice)",
			sp->stem);
		return;
	}
	sp->ack_mark = sp->saved_mark = get64(b + 8);
}

/* KEY.cuts: whole entries whose checksum holds (a damaged one is told and
 * skipped: its window may then be stored twice). */
static void load_cuts(struct sink_spool *sp)
{
	cleanup_free char *name = xasprintf("%s.cuts", sp->key);
	cleanup_close int fd =
		openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	char b[CUT_LEN];
	size_t cap = 0;
	bool told = false;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	for (off_t off = 0; pread(fd, b, CUT_LEN, off) == CUT_LEN;
	     off += CUT_LEN) {
		if (crc(b, 16) != get32(b + 16)) {
			if (!told)
				log_warn(
					"spool `%s/%s`: damaged entry skipped (records around it may be stored twice)",
					sp->stem, name);
			told = true;
			continue;
		}
		if (sp->ncuts == cap) {
			cap = cap ? cap * 2 : 64;
			sp->cuts = xrealloc(sp->cuts, cap * sizeof(*sp->cuts));
		}
		sp->cuts[sp->ncuts++] = (struct sink_spool_cut){
			.tag = get64(b),
			.rid = get64(b + 8),
		};
	}
	sp->cuts_size = (uint64_t)st.st_size / CUT_LEN * CUT_LEN;
}

size_t sink_spool_cuts(const struct sink_spool *sp,
		       const struct sink_spool_cut **v)
{
	*v = sp->cuts;
	return sp->ncuts;
}

static int open_cuts(struct sink_spool *sp, const char *name, int flags)
{
	int fd = openat(sp->dirfd, name,
			O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags,
			0600);
	struct stat st;

	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static void put_cut(char *b, const struct sink_spool_cut *c)
{
	put64(b, c->tag);
	put64(b + 8, c->rid);
	put32(b + 16, crc(b, 16));
}

int sink_spool_cut_add(struct sink_spool *sp, uint64_t tag, uint64_t rid)
{
	cleanup_free char *name = xasprintf("%s.cuts", sp->key);
	char b[CUT_LEN];

	if (sp->cutsfd < 0)
		sp->cutsfd = open_cuts(sp, name, 0);
	put_cut(b, &(struct sink_spool_cut){.tag = tag, .rid = rid});
	if (sp->cutsfd < 0 ||
	    pwrite(sp->cutsfd, b, CUT_LEN, (off_t)sp->cuts_size) != CUT_LEN) {
		log_error("%s: spool `%s/%s`: %s", sp->desc, sp->stem, name,
			  strerror(errno));
		return -1;
	}
	sp->cuts_size += CUT_LEN;
	return 0;
}

uint64_t sink_spool_cuts_written(const struct sink_spool *sp)
{
	return sp->cuts_size / CUT_LEN;
}

int sink_spool_cuts_set(struct sink_spool *sp, const struct sink_spool_cut *v,
			size_t n)
{
	cleanup_free char *name = xasprintf("%s.cuts", sp->key);
	cleanup_free char *tmp = xasprintf("%s.cuts.new", sp->key);
	cleanup_free char *buf = xmalloc(n * CUT_LEN + 1);
	int fd = open_cuts(sp, tmp, O_TRUNC);

	for (size_t i = 0; i < n; i++)
		put_cut(buf + i * CUT_LEN, &v[i]);
	if (fd < 0 || write(fd, buf, n * CUT_LEN) != (ssize_t)(n * CUT_LEN) ||
	    renameat(sp->dirfd, tmp, sp->dirfd, name) < 0) {
		log_error("%s: spool `%s/%s`: %s", sp->desc, sp->stem, tmp,
			  strerror(errno));
		if (fd >= 0)
			close(fd);
		unlinkat(sp->dirfd, tmp, 0);
		return -1;
	}
	if (sp->cutsfd >= 0)
		close(sp->cutsfd);
	sp->cutsfd = fd;
	sp->cuts_size = n * CUT_LEN;
	return 0;
}

/* Old segments, the acked position, the read cursor. */
static void load(struct sink_spool *sp)
{
	uint32_t *nums = NULL;
	size_t n = list_segs(sp, &nums);

	load_ack(sp);
	for (size_t i = 0; i < n; i++) {
		cleanup_free char *name = spool_seg_name(sp, nums[i]);

		if (nums[i] < MARK_SEG(sp->ack_mark)) {
			/* acked whole by the last run */
			unlinkat(sp->dirfd, name, 0);
			continue;
		}
		load_seg(sp, nums[i]);
	}
	free(nums);
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].damaged ||
		    (sp->segs[i].torn && i + 1 < sp->nsegs &&
		     sp->segs[i + 1].tag == sp->segs[i].tag))
			spool_tell_damage(sp, i);
	/* damage cut before the acked position: all there was delivered */
	if (sp->nsegs && sp->segs[0].num == MARK_SEG(sp->ack_mark) &&
	    MARK_OFF(sp->ack_mark) > sp->segs[0].size) {
		sp->ack_mark = MARK(sp->segs[0].num, sp->segs[0].size);
		spool_save_ack(sp);
	}
	sp->rseg = 0;
	sp->roff = HDR_LEN;
	if (sp->nsegs && sp->segs[0].num == MARK_SEG(sp->ack_mark) &&
	    MARK_OFF(sp->ack_mark) <= sp->segs[0].size)
		sp->roff = MARK_OFF(sp->ack_mark);
	sp->unread = sp->replayed;
}

static int lock_key(struct sink_spool *sp, const char *key,
		    struct sf_error **err)
{
	for (int i = 1; i <= 16; i++) {
		cleanup_free char *k = i == 1 ? xstrdup(key)
					      : xasprintf("%s-%d", key, i);
		cleanup_free char *lk = xasprintf("%s.lock", k);
		int fd = openat(sp->dirfd, lk,
				O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
				0600);

		if (fd < 0)
			return sf_fail(err, errno,
				       "cannot create `%s/%s` (--spool-dir)",
				       sp->stem, lk);
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			sp->lockfd = fd;
			sp->key = steal_pointer(&k);
			return 0;
		}
		close(fd);
	}
	return sf_fail(err, 0,
		       "spool `%s/%s`: 16 agents use this destination already",
		       sp->stem, key);
}

static int mkdirs(const char *dir, struct sf_error **err)
{
	cleanup_free char *p = xstrdup(dir);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			return sf_fail(
				err, errno,
				"cannot create spool directory `%s` (--spool-dir)",
				p);
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		return sf_fail(
			err, errno,
			"cannot create spool directory `%s` (--spool-dir)", p);
	return 0;
}

struct sink_spool *sink_spool_open(const char *dir, const char *key,
				   const char *desc, uint64_t max_bytes,
				   uint64_t tag, struct sf_error **err)
{
	struct sink_spool *sp;
	cleanup_free char *ack = NULL;

	if (mkdirs(dir, err) < 0)
		return NULL;
	sp = xzalloc(sizeof(*sp));
	sp->lockfd = sp->ackfd = sp->cutsfd = -1;
	sp->desc = xstrdup(desc);
	sp->stem = xstrdup(dir);
	sp->max_bytes = max_bytes;
	sp->tag = tag;
	sp->seg_limit = max_bytes / 8;
	if (sp->seg_limit < (1u << 20))
		sp->seg_limit = 1u << 20;
	if (sp->seg_limit > (64u << 20))
		sp->seg_limit = 64u << 20;
	sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		sf_fail(err, errno, "cannot open spool directory `%s`", dir);
		goto fail;
	}
	if (lock_key(sp, key, err) < 0)
		goto fail;
	ack = xasprintf("%s.ack", sp->key);
	sp->ackfd = openat(sp->dirfd, ack,
			   O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (sp->ackfd < 0) {
		sf_fail(err, errno, "cannot create `%s/%s` (--spool-dir)", dir,
			ack);
		goto fail;
	}
	load(sp);
	load_cuts(sp);
	if (sp->replayed)
		log_warn(
			"%s: replaying %llu records an earlier run left in `%s/%s.*`",
			desc, (unsigned long long)sp->replayed, dir, sp->key);
	return sp;
fail:
	sink_spool_close(sp);
	return NULL;
}

void sink_spool_close(struct sink_spool *sp)
{
	if (!sp)
		return;
	if (sp->ackfd >= 0)
		sink_spool_ack(sp, sp->ack_mark, true);
	/* wholly acked and nothing more: no files left behind */
	while (sp->nsegs && sp->ack_mark == MARK(sp->segs[sp->nsegs - 1].num,
						 sp->segs[sp->nsegs - 1].size))
		seg_drop_first(sp);
	/* nothing left: no files either (a daemon has a spool per stream) */
	if (!sp->nsegs && sp->lockfd >= 0 && !sp->broken) {
		cleanup_free char *ack = xasprintf("%s.ack", sp->key);
		cleanup_free char *lk = xasprintf("%s.lock", sp->key);

		cleanup_free char *dest = xasprintf("%s.dest", sp->key);

		cleanup_free char *cuts = xasprintf("%s.cuts", sp->key);

		unlinkat(sp->dirfd, ack, 0);
		unlinkat(sp->dirfd, cuts, 0);
		unlinkat(sp->dirfd, dest, 0);
		unlinkat(sp->dirfd, lk, 0);
	}
	for (size_t i = 0; i < sp->nsegs; i++) {
		close(sp->segs[i].fd);
		spool_account(-(int64_t)(sp->segs[i].size - HDR_LEN));
	}
	free(sp->segs);
	if (sp->ackfd >= 0)
		close(sp->ackfd);
	if (sp->cutsfd >= 0)
		close(sp->cutsfd);
	free(sp->cuts);
	if (sp->lockfd >= 0)
		close(sp->lockfd);
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	sbuf_free(&sp->stage);
	sbuf_free(&sp->rbuf);
	free(sp->desc);
	free(sp->key);
	free(sp->stem);
	free(sp);
}

static void set_broken(struct sink_spool *sp, const char *what, int e)
{
	if (!sp->broken)
		log_error(
			"%s: spool in `%s`: %s: %s; records are kept in memory only from now on",
			sp->desc, sp->stem, what, strerror(e));
	sp->broken = true;
	sp->stage.len = 0;
	sp->staged = 0;
}

/* A new segment for this run's records. */
static int new_seg(struct sink_spool *sp)
{
	/* after every number the acked position may name, even when the
	 * segments it names are gone */
	uint32_t num = sp->nsegs ? sp->segs[sp->nsegs - 1].num + 1
				 : MARK_SEG(sp->ack_mark) + 1;
	cleanup_free char *name = NULL;
	struct seg g = {
		.num = num, .tag = sp->tag, .pack = sp->pack, .size = HDR_LEN};
	char h[HDR_LEN] = SEG_MAGIC;

	if (num > 0xffffff) {
		set_broken(sp, "too many segments", EOVERFLOW);
		return -1;
	}
	name = spool_seg_name(sp, num);
	g.fd = openat(sp->dirfd, name,
		      O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	put64(h + 8, sp->tag);
	put32(h + 20, sp->pack);
	put32(h + 16, hdr_crc(h, true));
	if (g.fd < 0 || pwrite(g.fd, h, HDR_LEN, 0) != HDR_LEN) {
		set_broken(sp, "cannot create a segment", errno);
		if (g.fd >= 0)
			close(g.fd);
		return -1;
	}
	seg_push(sp, g);
	return 0;
}

static struct seg *wseg(struct sink_spool *sp)
{
	return sp->nsegs ? &sp->segs[sp->nsegs - 1] : NULL;
}

uint64_t sink_spool_bytes(const struct sink_spool *sp)
{
	uint64_t n = sp->stage.len;

	for (size_t i = 0; i < sp->nsegs; i++)
		n += sp->segs[i].size - HDR_LEN;
	if (sp->nsegs && sp->segs[0].num == MARK_SEG(sp->ack_mark))
		n -= MARK_OFF(sp->ack_mark) - HDR_LEN;
	return n;
}

uint64_t sink_spool_add(struct sink_spool *sp, const char *rec, size_t len,
			bool control, uint64_t rid)
{
	struct seg *g = wseg(sp);
	size_t at;

	if (sp->broken || len > MAX_RECORD)
		return 0;
	if (!control &&
	    (sink_spool_bytes(sp) + FRAME_LEN + len > sp->max_bytes ||
	     (sp->total_max &&
	      sink_spool_total() + sp->stage.len + FRAME_LEN + len >
		      sp->total_max))) {
		sp->full = true;
		return 0;
	}
	if (!control)
		sp->full = false;
	if (g && g->tag == sp->tag &&
	    g->size + sp->stage.len + FRAME_LEN + len > sp->seg_limit &&
	    sp->stage.len && sink_spool_commit(sp) < 0)
		return 0;
	g = wseg(sp);
	if (!g || g->tag != sp->tag ||
	    g->size + sp->stage.len + FRAME_LEN + len > sp->seg_limit) {
		if (new_seg(sp) < 0)
			return 0;
		g = wseg(sp);
	}
	at = sp->stage.len;
	sbuf_reserve(&sp->stage, FRAME_LEN + len);
	put32(sp->stage.data + at, len);
	put64(sp->stage.data + at + 8, rid | (control ? CONTROL_BIT : 0));
	memcpy(sp->stage.data + at + FRAME_LEN, rec, len);
	put32(sp->stage.data + at + 4, crc(sp->stage.data + at + 8, 8 + len));
	sp->stage.len += FRAME_LEN + len;
	sp->staged++;
	return MARK(g->num, g->size + sp->stage.len);
}

int sink_spool_commit(struct sink_spool *sp)
{
	struct seg *g = wseg(sp);
	ssize_t w;

	if (!sp->stage.len || sp->broken)
		return sp->broken ? -1 : 0;
	w = pwrite(g->fd, sp->stage.data, sp->stage.len, g->size);
	if (w != (ssize_t)sp->stage.len) {
		int e = w < 0 ? errno : ENOSPC;

		/* no torn frame left behind */
		if (ftruncate(g->fd, g->size) < 0)
			log_debug("spool: cut back: %s", strerror(errno));
		set_broken(sp, "cannot write", e);
		return -1;
	}
	g->size += sp->stage.len;
	spool_account(sp->stage.len);
	sp->stage.len = 0;
	sp->unread += sp->staged;
	sp->staged = 0;
	return 0;
}

bool sink_spool_full(const struct sink_spool *sp)
{
	return sp->full && (sink_spool_bytes(sp) + 64 * 1024 > sp->max_bytes ||
			    (sp->total_max &&
			     sink_spool_total() + 64 * 1024 > sp->total_max));
}

void sink_spool_set_pack(struct sink_spool *sp, uint32_t pack)
{
	sp->pack = pack;
}

void sink_spool_set_total(struct sink_spool *sp, uint64_t total_max)
{
	sp->total_max = total_max;
}

bool sink_spool_ok(const struct sink_spool *sp)
{
	return !sp->broken;
}

uint64_t sink_spool_unread(const struct sink_spool *sp)
{
	return sp->unread + sp->staged;
}

/* At least want bytes at roff in rbuf (fewer at the segment's end). */
static bool fill(struct sink_spool *sp, struct seg *g, size_t want)
{
	size_t have = sp->rbuf_off <= sp->roff &&
				      sp->roff <= sp->rbuf_off + sp->rbuf.len
			      ? sp->rbuf_off + sp->rbuf.len - sp->roff
			      : 0;
	size_t chunk;
	ssize_t r;

	if (have >= want)
		return true;
	if (have)
		memmove(sp->rbuf.data,
			sp->rbuf.data + (sp->roff - sp->rbuf_off), have);
	sp->rbuf.len = have;
	sp->rbuf_off = sp->roff;
	chunk = want > READ_CHUNK ? want : READ_CHUNK;
	if (chunk > g->size - sp->roff)
		chunk = g->size - sp->roff;
	if (chunk <= have)
		return have >= want;
	sbuf_reserve(&sp->rbuf, chunk - have);
	r = pread(g->fd, sp->rbuf.data + have, chunk - have, sp->roff + have);
	if (r > 0)
		sp->rbuf.len += r;
	return sp->rbuf.len >= want;
}

bool sink_spool_next(struct sink_spool *sp, struct sink_spool_rec *r)
{
	while (sp->rseg < sp->nsegs) {
		struct seg *g = &sp->segs[sp->rseg];
		const char *f;
		uint32_t len;
		uint64_t rid;

		if (sp->roff >= g->size) {
			if (sp->rseg == sp->nsegs - 1)
				return false;
			sp->rseg++;
			sp->roff = HDR_LEN;
			sp->rbuf.len = 0;
			continue;
		}
		if (!fill(sp, g, FRAME_LEN))
			goto bad;
		f = sp->rbuf.data + (sp->roff - sp->rbuf_off);
		len = get32(f);
		if (len > MAX_RECORD || !fill(sp, g, FRAME_LEN + len))
			goto bad;
		f = sp->rbuf.data + (sp->roff - sp->rbuf_off);
		if (crc(f + 8, 8 + len) != get32(f + 4))
			goto bad;
		rid = get64(f + 8);
		*r = (struct sink_spool_rec){
			.data = f + FRAME_LEN,
			.len = len,
			.control = rid & CONTROL_BIT,
			.rid = rid & ~CONTROL_BIT,
			.tag = g->tag,
			.pack = g->pack,
		};
		sp->roff += FRAME_LEN + len;
		r->mark = MARK(g->num, sp->roff);
		if (sp->unread)
			sp->unread--;
		return true;
	bad:
		if (spool_damage_found(sp, sp->rseg))
			continue; /* the stream.missed record is at roff */
		log_error(
			"spool `%s` segment %u: unreadable record at offset %llu: the rest of the segment is skipped",
			sp->stem, g->num, (unsigned long long)sp->roff);
		sp->roff = g->size;
	}
	/* all read: a count left over is from a damaged segment */
	sp->unread = 0;
	return false;
}

void sink_spool_skip(struct sink_spool *sp, uint64_t mark, uint64_t nrec)
{
	for (size_t i = 0; i < sp->nsegs; i++) {
		if (sp->segs[i].num != MARK_SEG(mark))
			continue;
		sp->rseg = i;
		sp->roff = MARK_OFF(mark);
		break;
	}
	sp->unread = nrec > sp->unread ? 0 : sp->unread - nrec;
	sp->rbuf.len = 0;
}

void spool_save_ack(struct sink_spool *sp)
{
	char b[20] = ACK_MAGIC;

	put64(b + 8, sp->ack_mark);
	put32(b + 16, crc(b, 16));
	if (pwrite(sp->ackfd, b, sizeof(b), 0) != sizeof(b))
		log_debug("spool `%s.ack`: %s", sp->stem, strerror(errno));
	sp->saved_mark = sp->ack_mark;
	sp->saved_at = mono_ns();
}

void sink_spool_ack(struct sink_spool *sp, uint64_t mark, bool force)
{
	if (mark > sp->ack_mark)
		sp->ack_mark = mark;
	while (sp->nsegs > 1 && sp->segs[0].num < MARK_SEG(sp->ack_mark))
		seg_drop_first(sp);
	if (sp->saved_mark != sp->ack_mark &&
	    (force || mono_ns() - sp->saved_at >= ACK_SAVE_NS))
		spool_save_ack(sp);
}

bool sink_spool_ack_saved(const struct sink_spool *sp)
{
	return sp->saved_mark == sp->ack_mark;
}

const char *sink_spool_key(const struct sink_spool *sp)
{
	return sp->key;
}

void sink_spool_set_dest(struct sink_spool *sp, const char *kind,
			 const char *dest)
{
	cleanup_free char *name = xasprintf("%s.dest", sp->key);
	cleanup_free char *body = xasprintf("%s\n%s\n", kind, dest);
	int fd = openat(sp->dirfd, name,
			O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			0600);

	if (fd < 0 || write(fd, body, strlen(body)) != (ssize_t)strlen(body))
		log_warn("spool `%s/%s`: cannot write it: %s", sp->stem, name,
			 strerror(errno));
	if (fd >= 0)
		close(fd);
}

const char *sink_spool_path(const struct sink_spool *sp)
{
	return sp->stem;
}
