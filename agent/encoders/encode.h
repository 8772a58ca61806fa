/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Encoders turn kernel events and stream records into bytes for the sinks.
 * Each format is one file implementing struct encoder plus one line in the
 * table in encode.c.  Every record an encoder writes ends with '\n'.
 */
#ifndef SF_ENCODE_H
#define SF_ENCODE_H

#include <stdint.h>

#include "sbuf.h"

struct workload;

/* What a stream.start record says besides the workload itself. */
struct stream_info {
	const char *exporter; /* -e, hostname by default */
	const char *mode; /* execute, process, root, container, daemon */
	uint64_t start_ts; /* ns since the epoch */
	int resumed; /* the agent restarted and appends to the stream */
};

struct stream_totals {
	uint64_t events; /* events written */
	uint64_t missed; /* all missed, whatever the reason */
	uint64_t missed_ringbuf; /* kernel ring buffer full */
	uint64_t missed_sink; /* a sink could not take them */
	uint64_t missed_quota; /* over the stream's budget (daemon) */
};

struct encoder {
	const char *name;
	/* How a file frames the records, e.g. a JSON array: written before the
	 * first record, between two records, after the last.  NULL: nothing
	 * (JSON lines).  Message sinks send bare records. */
	const char *file_prefix, *file_separator, *file_suffix;
	void (*event)(struct sbuf *o, const struct workload *wl, uint64_t seq,
		      uint64_t ts, const void *ev, size_t size);
	void (*stream_start)(struct sbuf *o, const struct workload *wl,
			     uint64_t seq, uint64_t ts,
			     const struct stream_info *si);
	void (*stream_missed)(struct sbuf *o, const struct workload *wl,
			      uint64_t seq, uint64_t ts, uint64_t count,
			      const char *reason);
	void (*stream_end)(struct sbuf *o, const struct workload *wl,
			   uint64_t seq, uint64_t ts,
			   const struct stream_totals *t);
};

extern const struct encoder encoder_json;
extern const struct encoder encoder_quixote;
extern const struct encoder encoder_cadets;

const struct encoder *encoder_find(const char *name);
/* "json, quixote, ..." for messages */
const char *encoder_names(void);

/* Decoding helpers shared by the encoders (encode_util.c). */
const char *sf_event_type_name(unsigned type);
const char *sf_syscall_name(unsigned nr);
const char *sf_cap_name(int cap);
const char *sf_family_name(unsigned family);
void sf_open_flags(struct sbuf *o, uint64_t flags);
void sf_signal_name(struct sbuf *o, int sig);
void sf_addr_str(struct sbuf *o, unsigned family, const uint8_t *addr);
/* Closes a record that wraps a native JSON record: drops the native
 * record's '\n' and ends the outer object (quixote, cadets stream records). */
void sf_wrap_native_end(struct sbuf *o);

#endif
