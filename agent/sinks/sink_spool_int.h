/* SPDX-License-Identifier: GPL-2.0 */
/* The spool's insides (sink_spool.c), shared with its damage handling
 * (sink_spool_damage.c); not for other users: see sink_spool.h. */
#ifndef SF_SINK_SPOOL_INT_H
#define SF_SINK_SPOOL_INT_H

#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "sink_spool.h"

#define SEG_MAGIC      "SFSPOOL2"
#define SEG_MAGIC_V1   "SFSPOOL1" /* no pack: still read */
#define ACK_MAGIC      "SFSPACK1"
#define HDR_LEN	       24 /* magic 8, tag 8, crc 4, pack 4 */
#define FRAME_LEN      16 /* len 4, crc 4, rid|control 8 */
#define CONTROL_BIT    (1ull << 63)
#define MARK(seg, off) (((uint64_t)(seg) << 40) | (off))
#define MARK_SEG(m)    ((uint32_t)((m) >> 40))
#define MARK_OFF(m)    ((m) & ((1ull << 40) - 1))
#define READ_CHUNK     (256 * 1024)
#define MAX_RECORD     (64u << 20)
#define CUT_LEN	       20 /* tag 8, rid 8, crc 4 */
#define ACK_SAVE_NS    (50 * 1000000ull)

struct seg {
	uint32_t num;
	int fd;
	uint64_t size; /* bytes of whole frames (and the header) */
	uint64_t tag;
	uint32_t pack; /* its writer's (sink_spool_set_pack), 0: not told */
	/* its good frames' numbers (seg_scan), when nrid: the first and last */
	uint64_t nrid, first_rid, last_rid, first_off, last_off;
	/* what seg_scan cut off, from damage_at to damage_end: damage, or a
	 * torn tail (damage too when a segment of its run follows) */
	uint64_t damage_at, damage_end;
	bool damaged, torn;
};

struct sink_spool {
	char *desc, *key, *stem; /* stem: DIR/KEY, for messages */
	int dirfd, lockfd, ackfd;
	uint64_t max_bytes, seg_limit, tag, total_max;
	uint32_t pack; /* this run's, for its segments' headers */
	struct seg *segs; /* oldest first */
	size_t nsegs, cap;
	size_t rseg; /* read cursor: segs[rseg], offset roff */
	uint64_t roff;
	uint64_t ack_mark, saved_mark, saved_at;
	struct sbuf stage; /* frames not written yet, for the last segment */
	struct sbuf rbuf; /* frames read, from rbuf_off in segs[rseg] */
	uint64_t rbuf_off;
	uint64_t replayed; /* records found at open */
	uint64_t unread, staged; /* records */
	bool full; /* the last record was refused for room */
	bool broken;
	int cutsfd; /* KEY.cuts, opened at the first cut added */
	uint64_t cuts_size;
	struct sink_spool_cut *cuts; /* read at open */
	size_t ncuts;
};

static inline void put32(char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static inline void put64(char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static inline uint32_t get32(const char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline uint64_t get64(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline uint32_t crc(const char *p, size_t len)
{
	return crc32(crc32(0, Z_NULL, 0), (const Bytef *)p, len);
}

/* The segment's file name, KEY.NNNNNNNNNN (caller frees). */
char *spool_seg_name(const struct sink_spool *sp, uint32_t num);
/* Adds delta to the bytes of all the process's spools. */
void spool_account(int64_t delta);
/* Writes the acked position to KEY.ack. */
void spool_save_ack(struct sink_spool *sp);
/* Scans g's frames up to fsize, cuts off damage or a torn tail (told on
 * stderr); the size of what checks out.  nrec: frames from count_from. */
uint64_t spool_seg_scan(struct sink_spool *sp, struct seg *g, uint64_t fsize,
			uint64_t count_from, uint64_t *nrec);

/* sink_spool_damage.c: what was cut off segs[i] at open is told in the
 * stream; the read cursor met damage in segs[i] (true: the record told
 * is at the cursor). */
void spool_tell_damage(struct sink_spool *sp, size_t i);
bool spool_damage_found(struct sink_spool *sp, size_t i);

#endif
