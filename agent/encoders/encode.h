/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Encoders turn decoded events (decode.h) and stream records into bytes
 * for the sinks.  The formats are listed once, in lib/formats.h; each is
 * one file, encode_<id>.c, defining `const struct encoder_ops
 * encode_<id>_ops`.  An encoder does no argument decoding of its own: it
 * is a table of small writers, one per event type, over the decoded view.
 * Every record an encoder writes ends with '\n'.
 */
#ifndef SF_ENCODE_H
#define SF_ENCODE_H

#include <stdbool.h>
#include <stdint.h>

#include "decode.h"
#include "formats.h"
#include "sbuf.h"

struct workload;

/* What a stream.start record says besides the workload itself. */
/* An output kind with its own filter (--mqtt-filter ...): its expression in
 * stream.start, how many events it did not receive in stream.end. */
#define STREAM_SINK_KINDS 3
struct stream_sink_filter {
	const char *kind; /* "file", "mqtt", "http" */
	const char *filter;
	uint64_t count;
};

struct stream_info {
	const char *exporter; /* -e, hostname by default */
	const char *mode; /* execute, process, root, container, daemon */
	uint64_t start_ts; /* ns since the epoch */
	int resumed; /* the agent restarted and appends to the stream */
	const char *filter; /* the stream's filter, NULL: none */
	int nsink_filters;
	struct stream_sink_filter sink_filters[STREAM_SINK_KINDS];
	unsigned flow_interval; /* -F sysflow: --flow-interval SECS, 0: 30 */
};

/* One kind of output's share of the events (stream.end's "sinks"). */
struct stream_sink_total {
	const char *kind; /* "file", "http", "mqtt", "nats" */
	uint64_t written, filtered, missed; /* events only */
};

struct stream_totals {
	uint64_t events; /* events written */
	uint64_t missed; /* all missed, whatever the reason */
	uint64_t missed_ringbuf; /* kernel ring buffer full */
	uint64_t missed_sink; /* a sink could not take them */
	uint64_t filtered; /* not kept by the filter (docs/filters.md) */
	uint64_t filtered_kernel; /* of those, dropped in the kernel */
	int nsink_filtered;
	struct stream_sink_filter sink_filtered[STREAM_SINK_KINDS];
	uint64_t missed_quota; /* over the stream's budget (daemon) */
	/* seccomp recording (agent/seccomp/seccomp_record.c): the profile
	 * written and how many syscalls it allows, or why there is none */
	const char *seccomp_profile;
	unsigned seccomp_syscalls, seccomp_blocked;
	bool seccomp_partial;
	const char *seccomp_error;
	/* binary digests (agent/exehash.h), when --hash is not none */
	bool exe_hash;
	uint64_t exe_hashed, exe_hash_cached, exe_hash_dropped;
	bool file_hash; /* --hash open */
	uint64_t file_hashed, file_hash_cached, file_hash_dropped;
	/* flow counting (-F sysflow): flows the kernel could not count, its
	 * map full (bpf/flow.bpf.h) */
	uint64_t flows_uncounted;
	/* and io_uring requests on fixed files, in no flow, and their bytes */
	uint64_t uring_fixed_ops, uring_fixed_bytes;
	/* per kind of output: written + filtered + missed == events */
	int nsinks;
	struct stream_sink_total sinks[4];
};

/* Writes the type-specific part of an event. */
typedef void (*encoder_body_fn)(struct sbuf *o, const struct decode_event *v);

struct encoder_ops {
	void (*event)(struct sbuf *o, const struct workload *wl, uint64_t seq,
		      uint64_t ts, const struct decode_event *v);
	void (*stream_start)(struct sbuf *o, const struct workload *wl,
			     uint64_t seq, uint64_t ts,
			     const struct stream_info *si);
	void (*stream_missed)(struct sbuf *o, const struct workload *wl,
			      uint64_t seq, uint64_t ts, uint64_t count,
			      const char *reason);
	void (*stream_end)(struct sbuf *o, const struct workload *wl,
			   uint64_t seq, uint64_t ts,
			   const struct stream_totals *t);
	/* optional (NULL: none): closes what the encoder holds back (an
	 * Avro block) into o before the agent hands o to the sinks */
	void (*flush)(struct sbuf *o, const struct workload *wl);
	/* optional: the file sink began an empty file (rotation, reopen):
	 * the next record starts the format's header again.  Its file sinks
	 * then rotate after a batch (sink_file_conf.new_file). */
	void (*new_file)(struct workload *wl);
	/* optional: how many records a batch of this format holds, for the
	 * loss count of a batch a sink could not write (NULL: its lines) */
	uint64_t (*count_records)(const char *buf, size_t len);
	/* optional: the stream counts reads and writes in the kernel
	 * (bpf/flow.bpf.h) and this takes a flow's end (close(2) of a
	 * counted fd, SF_REC_FLOW_END) with its final counters; such a
	 * record is no event: never filtered, never in stream.end's events */
	void (*flow_end)(struct sbuf *o, const struct workload *wl, uint64_t ts,
			 const struct sf_flow_rec *r);
	/* optional: frees the encoder's per-stream state (wl->enc_state) */
	void (*release)(struct workload *wl);
	/* optional: opens what the format needs (a library it is not linked
	 * with: agent/lazylib.h) before a stream of it is made; -1: err set */
	int (*load)(struct sf_error **err);
	/* the per-type writers event() dispatches to, indexed by v->type;
	 * tests/unit check that every type the decoder knows has one */
	const encoder_body_fn *bodies;
};

/* A format of lib/formats.h with its encoder. */
struct encoder {
	const char *name;
	const char *file_prefix, *file_separator, *file_suffix;
	const struct encoder_ops *ops;
};

#define ENCODE_OPS_DECL(id, name, pre, sep, suf, hook, help) \
	extern const struct encoder_ops encode_##id##_ops;
SF_FORMATS(ENCODE_OPS_DECL, )

const struct encoder *encoder_find(const char *name);
/* Before a stream of format enc is made (ops.load): -1, err set, if it
 * cannot be. */
int encoder_load(const struct encoder *enc, struct sf_error **err);
/* For sink_file_conf.new_file, ctx a struct workload *: its encoder's
 * new_file; NULL when the workload's format does not want it. */
void (*encoder_new_file_fn(const struct encoder *enc))(void *ctx);
/* The sfagent type of a quixote record's TSEM event type (sfagent show). */
const char *enc_quixote_type_name(const char *tsem);
/* the table, for tests: encoder_table(&n) */
const struct encoder *encoder_table(size_t *n);
/* "json, quixote, ..." for messages */
#define encoder_names() SF_FORMAT_LIST

/* The names before the decoder existed, for code not yet moved over. */
#define sf_event_type_name decode_type_name
#define sf_syscall_name	   decode_syscall_name
#define sf_cap_name	   decode_cap_name
#define sf_family_name	   decode_family_name

/* Writer helpers shared by the encoders (encode_util.c). */
/* v->flags as "O_WRONLY|O_CREAT" (quoted), by v->flag_names; bits with
 * no name as a hex number ("RENAME_NOREPLACE|0x40"); none: "0" */
void encode_util_flags(struct sbuf *o, const struct decode_event *v);
/* v->argv as a JSON array of strings, or (array false) as one string, the
 * arguments separated by spaces */
void encode_util_argv(struct sbuf *o, const struct decode_event *v, bool array);
/* Closes a record that wraps a native JSON record: drops the native
 * record's '\n' and ends the outer object (quixote, cadets stream records). */
void encode_util_wrap_native_end(struct sbuf *o);
/* The view's extra fields v->x.kv[from..to) (decode_sec.h), each as
 * ,"key":value; strings (quixote): every value a JSON string, as TSEM
 * writes them.  A cut string adds ,"key_truncated":true. */
void encode_util_extra(struct sbuf *o, const struct decode_event *v,
		       unsigned from, unsigned to, bool strings);
/*
 * A memo of a run of fields that depends only on a key of the view's
 * values (json: pid .. cgroup; quixote: pid .. process, the COE block):
 * consecutive records come mostly from a few tasks, and formatting the
 * same numbers and escaping the same comm again was the most of an
 * encoder's samples (docs/performance.md).  Direct-mapped by a hash of
 * the key; a slot keeps the key and the bytes the encoder wrote for it,
 * so a hit writes what the encoder would have written.  A memo is the
 * encoder's own (file-static: every encoder runs on the agent's consumer
 * thread).  The key is compared as bytes: build it zeroed (padding too).
 */
#define ENCODE_MEMO_SLOTS 16 /* a power of two */
#define ENCODE_MEMO_KEY	  64
#define ENCODE_MEMO_TEXT  256
struct encode_memo_slot {
	unsigned char key[ENCODE_MEMO_KEY];
	uint16_t len; /* 0: empty */
	char text[ENCODE_MEMO_TEXT];
};
struct encode_memo {
	struct encode_memo_slot slot[ENCODE_MEMO_SLOTS];
};
/* false turns every memo off (tests: the output with and without) */
extern bool encode_memo_on;

/* The slot of key (klen <= ENCODE_MEMO_KEY bytes, hash: its hash); a hit
 * appends the kept run to o and returns NULL; a miss returns the slot
 * for encode_memo_keep. */
static inline struct encode_memo_slot *
encode_memo_find(struct encode_memo *m, const void *key, size_t klen,
		 uint32_t hash, struct sbuf *o)
{
	struct encode_memo_slot *s =
		&m->slot[(hash * 0x9e3779b1u) >> 28 & (ENCODE_MEMO_SLOTS - 1)];

	if (s->len && encode_memo_on && !memcmp(s->key, key, klen)) {
		sbuf_put(o, s->text, s->len);
		return NULL;
	}
	return s;
}

/* After a miss: keeps o's bytes from `from` on as key's run, when they
 * fit (a longer run is written each time). */
static inline void encode_memo_keep(struct encode_memo_slot *s, const void *key,
				    size_t klen, const struct sbuf *o,
				    size_t from)
{
	size_t n = o->len - from;

	if (!n || n > ENCODE_MEMO_TEXT) {
		s->len = 0;
		return;
	}
	memcpy(s->key, key, klen);
	memcpy(s->text, o->data + from, n);
	s->len = n;
}

/* ,"workload":"NAME"[,"container":"ID"] of every json and quixote record,
 * kept escaped per slot (compared with wl's strings, not escaped again;
 * names of 128 bytes and more are escaped each time) */
void encode_util_ident(struct sbuf *o, const struct workload *wl);
/* a quoted string that needs no escaping (names from the decoder) */
static inline void encode_util_name(struct sbuf *o, const char *s)
{
	size_t n = strlen(s);
	/* one reserve for the quotes and the name (sbuf_cur) */
	char *p = sbuf_cur(o, n + 2);

	*p++ = '"';
	memcpy(p, s, n);
	p[n] = '"';
	sbuf_cur_end(o, p + n + 1);
}

#endif
