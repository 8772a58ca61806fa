// SPDX-License-Identifier: GPL-2.0
/* Damage in a spool (sink_spool.h): the cut, the count of the records lost,
 * the stream.missed record told in their place. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sink_spool_int.h"

/* The `workload` of the record framed at off in g (a JSON string's body,
 * escaped as it is there), or "" (caller frees). */
static char *frame_workload(const struct seg *g, uint64_t off)
{
	static const char key[] = "\"workload\":\"";
	char h[FRAME_LEN];
	cleanup_free char *rec = NULL;
	const char *p, *q;
	uint32_t len;

	if (pread(g->fd, h, FRAME_LEN, off) != FRAME_LEN)
		return xstrdup("");
	len = get32(h);
	rec = xmalloc(len + 1);
	if (pread(g->fd, rec, len, off + FRAME_LEN) != len)
		return xstrdup("");
	rec[len] = 0;
	p = memmem(rec, len, key, sizeof(key) - 1);
	if (!p)
		return xstrdup("");
	p += sizeof(key) - 1;
	for (q = p; q < rec + len && *q != '"'; q++)
		if (*q == '\\' && q + 1 < rec + len)
			q++;
	return xasprintf("%.*s", (int)(q - p), p);
}

/*
 * What seg_scan cut off segs[i] at open is told in the stream: a control
 * frame with a stream.missed record (reason spool_damaged) goes where the
 * damage began, so that it is replayed in order, where the gap is, and a
 * later run replays the same bytes (the same NATS Nats-Msg-Id).  Records
 * are numbered per run (tag) from 1 without gaps, so what is lost is told
 * by the numbers of the last good record before the damage (in this
 * segment or the one before, of the same run) and the first of the next
 * segment of the same run: count = next - last - 1.  When either is not
 * there (the damage reaches the run's last segment, or nothing good is
 * left before it), or records up to the acked position were delivered
 * before it, count is a lower bound (1) and the record says
 * "count_at_least": true.  The frame takes the number of the last record
 * lost when the next is known (the least likely of them to have reached a
 * destination that deduplicates by it, NATS), else the first's.
 */
void spool_tell_damage(struct sink_spool *sp, size_t i)
{
	struct seg *g = &sp->segs[i];
	const struct seg *prev = i ? &sp->segs[i - 1] : NULL;
	const struct seg *next = i + 1 < sp->nsegs ? &sp->segs[i + 1] : NULL;
	bool in_ack = g->num == MARK_SEG(sp->ack_mark);
	bool lo_ok = false, hi_ok = false, exact;
	uint64_t lo = 0, hi = 0, count, rid, lo_off = 0;
	cleanup_free char *cut = spool_seg_name(sp, g->num);
	cleanup_free char *wl = NULL, *kind = NULL, *rec = NULL;
	const struct seg *wseg_of = NULL;
	size_t klen = strcspn(sp->key, "-");
	struct timespec ts;
	char h[FRAME_LEN];
	uint32_t len;

	if (in_ack && MARK_OFF(sp->ack_mark) >= g->damage_end)
		return; /* all delivered before the damage */
	if (g->nrid) {
		lo = g->last_rid;
		lo_ok = true;
		lo_off = g->last_off;
		wseg_of = g;
	} else if (prev && prev->tag == g->tag && prev->nrid &&
		   !prev->damaged && !prev->torn) {
		lo = prev->last_rid;
		lo_ok = true;
		lo_off = prev->last_off;
		wseg_of = prev;
	}
	if (next && next->tag == g->tag && next->nrid) {
		hi = next->first_rid;
		hi_ok = true;
		if (!wseg_of) {
			wseg_of = next;
			lo_off = next->first_off;
		}
	}
	if (lo_ok && hi_ok && hi <= lo + 1)
		return; /* no record of the run in what was cut */
	exact = lo_ok && hi_ok &&
		!(in_ack && MARK_OFF(sp->ack_mark) > g->damage_at);
	count = exact ? hi - lo - 1 : 1;
	rid = hi_ok && hi > 1 ? hi - 1 : lo_ok ? lo + 1 : 1;
	wl = wseg_of ? frame_workload(wseg_of, lo_off) : xstrdup("");
	kind = xasprintf("%.*s", (int)klen, sp->key);
	clock_gettime(CLOCK_REALTIME, &ts);
	rec = xasprintf(
		"{\"type\":\"stream.missed\",\"ts\":%llu,\"workload\":\"%s\",\"count\":%llu,\"reason\":\"spool_damaged\",\"sink\":\"%s\",\"spool\":\"%s\"%s}\n",
		(unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec, wl,
		(unsigned long long)count, kind, cut,
		exact ? "" : ",\"count_at_least\":true");
	len = strlen(rec);
	put32(h, len);
	put64(h + 8, rid | CONTROL_BIT);
	{
		cleanup_free char *body = xmalloc(8 + len);

		memcpy(body, h + 8, 8);
		memcpy(body + 8, rec, len);
		put32(h + 4, crc(body, 8 + len));
	}
	if (pwrite(g->fd, h, FRAME_LEN, g->size) != FRAME_LEN ||
	    pwrite(g->fd, rec, len, g->size + FRAME_LEN) != len) {
		log_error(
			"spool `%s/%s`: cannot write the stream.missed record for the damage: %s",
			sp->stem, cut, strerror(errno));
		if (ftruncate(g->fd, g->size) < 0)
			log_debug("spool: cut back: %s", strerror(errno));
		return;
	}
	log_error(
		"spool `%s/%s`: %s%llu records lost to the damage: told in the stream (stream.missed, reason spool_damaged)",
		sp->stem, cut, exact ? "" : "at least ",
		(unsigned long long)count);
	/* what was delivered before the damage is acked: the cursor starts
	 * at the record, not before what was delivered */
	if (in_ack && MARK_OFF(sp->ack_mark) > g->size) {
		/* on disk now: an older position would skip the record */
		sp->ack_mark = MARK(g->num, g->size);
		spool_save_ack(sp);
	}
	g->size += FRAME_LEN + len;
	spool_account(FRAME_LEN + len);
	sp->replayed++;
}

/* The number of the first frame of g, when it checks out (into
 * g->first_rid, first_off, nrid 1), unless seg_scan numbered g already. */
static bool first_frame(struct seg *g)
{
	char h[FRAME_LEN];
	cleanup_free char *b = NULL;
	uint32_t len;

	if (g->nrid)
		return true;
	if (g->size < HDR_LEN + FRAME_LEN ||
	    pread(g->fd, h, FRAME_LEN, HDR_LEN) != FRAME_LEN)
		return false;
	len = get32(h);
	if (len > MAX_RECORD || g->size - HDR_LEN - FRAME_LEN < len)
		return false;
	b = xmalloc(8 + len);
	memcpy(b, h + 8, 8);
	if (pread(g->fd, b + 8, len, HDR_LEN + FRAME_LEN) != len ||
	    crc(b, 8 + len) != get32(h + 4))
		return false;
	g->first_rid = g->last_rid = get64(b) & ~CONTROL_BIT;
	g->first_off = g->last_off = HDR_LEN;
	g->nrid = 1;
	return true;
}

/* Frames in g from off (whole ones, by their lengths alone). */
static uint64_t count_frames(const struct seg *g, uint64_t off)
{
	uint64_t n = 0;
	char h[4];

	while (off + FRAME_LEN <= g->size &&
	       pread(g->fd, h, sizeof(h), off) == sizeof(h)) {
		off += FRAME_LEN + get32(h);
		n++;
	}
	return n;
}

/*
 * The read cursor met a frame that does not check out in segs[i], after
 * the spool was opened (a running agent reading back its backlog): told as
 * at open.  The segment is scanned again (cut at the damage, its good
 * frames numbered), the next one's first number read, and spool_tell_damage
 * writes the stream.missed record at the cut, where the cursor is, so the
 * reader gives it next, and a later run that replays the segment the same
 * bytes.  Not for the last segment, still being appended to (the rest of
 * it is skipped, told on stderr only): false then, or when the cut is not
 * where the cursor is.
 */
bool spool_damage_found(struct sink_spool *sp, size_t i)
{
	struct seg *g = &sp->segs[i];
	uint64_t old = g->size, nrec = 0, cut;

	if (i + 1 >= sp->nsegs)
		return false;
	g->nrid = 0;
	g->damaged = g->torn = false;
	cut = spool_seg_scan(sp, g, old, old, &nrec);
	if (!g->damaged && !g->torn)
		return false; /* it checks out now (a short read?) */
	g->size = cut;
	spool_account(-(int64_t)(old - cut));
	/* whole frames up to g->size, so a bad length is damage too */
	g->damaged = true;
	g->torn = false;
	first_frame(&sp->segs[i + 1]);
	spool_tell_damage(sp, i);
	sp->rbuf.len = 0;
	if (sp->roff != cut)
		sp->roff = g->size;
	/* what is unread now: the lost records are not */
	sp->unread = count_frames(g, sp->roff);
	for (size_t j = i + 1; j < sp->nsegs; j++)
		sp->unread += count_frames(&sp->segs[j], HDR_LEN);
	return sp->roff == cut;
}
