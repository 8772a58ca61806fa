/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The durable spool of a network sink: every record the sink accepts is
 * appended to it before it is sent, and leaves it only once the destination
 * acknowledged it, so neither an outage longer than the memory queue nor
 * an agent killed meanwhile loses what was accepted.
 *
 * On disk, in the spool directory, per sink (KEY names the destination):
 *   KEY.lock          flock()ed while an agent uses the spool
 *   KEY.NNNNNNNNNN    segments, appended in order, removed once acked whole
 *   KEY.ack           the position up to which everything was acked
 *   KEY.cuts          NATS batch cut points (see sink_spool_cut_add)
 *   KEY.dest          the sink's kind and destination (topic, subject, URL),
 *                     "KIND\nDEST\n": what a later agent replays it to
 * A segment starts with a header (magic, the writing sink's tag and pack,
 * a CRC-32) and holds frames: length, CRC-32 over the rest, the record's
 * number (rid, with a control bit) and the record.  A torn frame at the tail (a crash during a
 * write) is cut off when the spool is opened again; a frame whose checksum
 * does not match ends what is read from that segment, and is reported: on
 * stderr, and in the stream by a control frame written where the damage
 * began, a stream.missed record (reason spool_damaged) with the number of
 * records lost, from the numbers (rid) around the gap, or a lower bound
 * ("count_at_least") when they are not known (sink_spool_damage.c),
 * when it is opened and when the read cursor meets damage later (but for
 * the segment being written: stderr only).
 *
 * Positions ("marks") are (segment << 40 | offset after the frame), so they
 * compare in the order records were written.  Records are written (the
 * consumer) through the page cache; while the destination keeps up they are
 * also handed to the sender in memory, and the read cursor skips them
 * (sink_spool_skip), so the disk is only read back for what memory could not
 * hold (an outage, a restart).  Not thread-safe: the network base calls it
 * with its own spool lock held, never under its queue lock.
 */
#ifndef SF_SINK_SPOOL_H
#define SF_SINK_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "sbuf.h"
#include "util.h"

#define SINK_SPOOL_DIR_DEFAULT "/var/lib/sfagent/spool"
#define SINK_SPOOL_MAX_DEFAULT (512ull << 20)

struct sink_spool;

/* Opens (creates) the spool for KEY in dir; tag is the new records' origin.
 * What an earlier agent left there is replayed first.  max_bytes bounds the
 * records kept (control records may exceed it). */
struct sink_spool *sink_spool_open(const char *dir, const char *key,
				   const char *desc, uint64_t max_bytes,
				   uint64_t tag, struct sf_error **err);
void sink_spool_close(struct sink_spool *sp);

/* Stages one record (ending in '\n'); returns its mark, or 0 when the
 * spool is full (or broken): the record is not kept. */
uint64_t sink_spool_add(struct sink_spool *sp, const char *rec, size_t len,
			bool control, uint64_t rid);
/* Writes what was staged (one write).  < 0: the spool is broken from now
 * on (told on stderr), and what was staged is not on disk. */
int sink_spool_commit(struct sink_spool *sp);

/* The records' pack (records per protocol message window: NATS
 * --nats-batch; 0: none), kept in the header of every segment this run
 * writes and given back with each record read (sink_spool_rec.pack), so a
 * later run sends replayed records in the messages this run made of them.
 * Set before the first add. */
void sink_spool_set_pack(struct sink_spool *sp, uint32_t pack);
/* Bounds the bytes of all the process's spools together (0: no bound):
 * a record that would pass it is refused as for the spool's own bound. */
void sink_spool_set_total(struct sink_spool *sp, uint64_t total_max);
/* Bytes in the segments of all the process's open spools. */
uint64_t sink_spool_total(void);
/* Records are being refused for room (and it is still nearly full). */
bool sink_spool_full(const struct sink_spool *sp);
/* False once a write failed: the sink keeps records in memory only. */
bool sink_spool_ok(const struct sink_spool *sp);
/* The next unread record, or false.  rec is valid until the next call. */
struct sink_spool_rec {
	const char *data;
	size_t len;
	bool control;
	uint64_t tag, rid, mark;
	uint32_t pack; /* its writer's (sink_spool_set_pack); 0: not told */
};
bool sink_spool_next(struct sink_spool *sp, struct sink_spool_rec *r);
/* The nrec records up to mark (all committed, the oldest unread ones) were
 * handed over in memory: the read cursor moves past them unread. */
void sink_spool_skip(struct sink_spool *sp, uint64_t mark, uint64_t nrec);

/* Everything up to mark was delivered: segments wholly acked go, and the
 * position is saved (at most every 50 ms, always when force). */
void sink_spool_ack(struct sink_spool *sp, uint64_t mark, bool force);
/* The acked position is on disk (nothing left for a later save). */
bool sink_spool_ack_saved(const struct sink_spool *sp);

/* Bytes of records not acked; records written and not read yet. */
uint64_t sink_spool_bytes(const struct sink_spool *sp);
uint64_t sink_spool_unread(const struct sink_spool *sp);
const char *sink_spool_path(const struct sink_spool *sp);
/* KEY (the destination's name, "-N" added when it was in use). */
const char *sink_spool_key(const struct sink_spool *sp);
/* Writes KEY.dest (see above); failures are told, not fatal. */
void sink_spool_set_dest(struct sink_spool *sp, const char *kind,
			 const char *dest);

/* Cut points of the NATS sink's batches (sink_nats.c): where a message
 * ended before its window's end, recorded before it is published so that
 * a later run cuts the records it replays the same way.  In KEY.cuts,
 * appended (one pwrite each: it survives a SIGKILL, as the spool does),
 * read back at open, removed with the spool. */
struct sink_spool_cut {
	uint64_t tag, rid; /* the message's last record */
};
/* Those an earlier run left (read at open; valid until close). */
size_t sink_spool_cuts(const struct sink_spool *sp,
		       const struct sink_spool_cut **v);
/* Appends one; < 0: not written (told on stderr). */
int sink_spool_cut_add(struct sink_spool *sp, uint64_t tag, uint64_t rid);
/* Entries in the file (appended or set). */
uint64_t sink_spool_cuts_written(const struct sink_spool *sp);
/* Replaces the file by the n cut points of v (those still needed). */
int sink_spool_cuts_set(struct sink_spool *sp, const struct sink_spool_cut *v,
			size_t n);

#endif
