/* SPDX-License-Identifier: GPL-2.0 */
/*
 * -F sysflow's per-stream state (encode_sysflow_state.c): the Avro writer,
 * the processes of the stream with their OIDs, the open flows by
 * (pid, fd) and the files this Avro file has written.  Owned by the
 * workload (wl->enc_state), freed by encoder_ops.release.
 */
#ifndef SF_ENCODE_SYSFLOW_H
#define SF_ENCODE_SYSFLOW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <avro.h>

#include "lazy_avro.h"

#include "decode.h"
#include "sbuf.h"

struct workload;

#define SYSFLOW_FOID_LEN 20
#define SYSFLOW_BUCKETS	 1024

struct sysflow_oid {
	int64_t create_ts; /* ns since the epoch */
	int64_t hpid;
};

struct sysflow_proc {
	uint32_t pid;
	struct sysflow_oid oid, poid;
	bool has_parent, written, entry;
	uint32_t uid, gid;
	char *exe, *args;
	struct sysflow_proc *next;
};

enum sysflow_flow_kind {
	SYSFLOW_FLOW_SOCK, /* a socket before connect/accept: no record */
	SYSFLOW_FLOW_FILE,
	SYSFLOW_FLOW_NET,
};

struct sysflow_flow {
	uint32_t pid;
	int32_t fd;
	enum sysflow_flow_kind kind;
	uint64_t ts;
	uint32_t tid;
	int op;
	uint32_t open_flags;
	uint8_t foid[SYSFLOW_FOID_LEN];
	char path[256]; /* to write its File again after a new header */
	uint32_t sip, dip;
	int sport, dport, proto;
	uint64_t ts_boot; /* its open/connect/accept record's */
	/* the kernel's counters as far as written (a split writes the
	 * difference, bpf/flow.bpf.h) */
	struct sf_flow_counts sent;
	struct sysflow_flow *next;
};

struct sysflow_file {
	uint8_t foid[SYSFLOW_FOID_LEN];
	struct sysflow_file *next;
};

/* path -> FOID, remembered: OpenSSL's one-shot SHA1 costs more than the
 * rest of a record */
struct sysflow_foid_slot {
	uint64_t hash;
	char *path; /* NUL-terminated copy, NULL: empty slot */
	size_t len;
	uint8_t foid[SYSFLOW_FOID_LEN];
};
#define SYSFLOW_FOID_CACHE 1024

struct sysflow_state {
	FILE *fp; /* libavro writes here; the bytes go to *out */
	struct sbuf *out;
	avro_schema_t schema;
	avro_value_iface_t *iface;
	avro_value_t rec;
	avro_file_writer_t writer; /* NULL: no file begun */
	char *exporter, *container_id;
	uint64_t records, errors, unmapped;
	uint64_t uncounted; /* flows the kernel could not count (map full) */
	/* io_uring requests on fixed files (no fd, no flow), their bytes */
	uint64_t fixed_ops, fixed_bytes;
	bool had_root; /* the first process seen is the entry */
	bool restart; /* the file sink began a new file: header next */
	uint64_t last_ts, last_split; /* the newest event's time; the last
				       * look for flows to split */
	uint64_t split_ns; /* --flow-interval; 0: SysFlow's 30 s */
	const struct workload *wl; /* the stream of the current call */
	struct sysflow_proc *procs[SYSFLOW_BUCKETS];
	struct sysflow_flow *flows[SYSFLOW_BUCKETS];
	struct sysflow_file *files[SYSFLOW_BUCKETS];
	struct sysflow_foid_slot foids[SYSFLOW_FOID_CACHE];
};

struct sysflow_state *sysflow_state_new(const struct workload *wl,
					const char *exporter,
					const unsigned char *schema,
					size_t schema_len);
void sysflow_state_free(struct sysflow_state *s);
/* Begins a new Avro file in o (also after a rotation): forgets which
 * entities were written. */
int sysflow_file_begin(struct sysflow_state *s, struct sbuf *o,
		       const struct workload *wl);
/* A new file: every entity is to be written again before its use. */
void sysflow_state_new_file(struct sysflow_state *s);
/* The native stream record in side, to the side channel: the log. */
void sysflow_side(struct sysflow_state *s, const struct workload *wl,
		  struct sbuf *side);
/* adds ,"sysflow_records":N,... before the end record's closing brace */
void sysflow_side_end(struct sysflow_state *s, struct sbuf *side);

/* pid's process; first seen: created with the event's ts as its OID's
 * create time (the fork was before the stream) */
struct sysflow_proc *sysflow_proc_get(struct sysflow_state *s, uint32_t pid,
				      uint64_t ts,
				      const struct decode_event *v);
struct sysflow_proc *sysflow_proc_find(struct sysflow_state *s, uint32_t pid);
/* a forked child of p, created at ts */
struct sysflow_proc *sysflow_proc_child(struct sysflow_state *s,
					struct sysflow_proc *p, uint32_t pid,
					uint64_t ts);
void sysflow_proc_exec(struct sysflow_proc *p, const struct decode_event *v);
void sysflow_proc_drop(struct sysflow_state *s, uint32_t pid);

struct sysflow_flow *sysflow_flow_add(struct sysflow_state *s, uint32_t pid,
				      int32_t fd, enum sysflow_flow_kind kind);
struct sysflow_flow *sysflow_flow_find(struct sysflow_state *s, uint32_t pid,
				       int32_t fd);
/* unlinked, the caller frees it */
struct sysflow_flow *sysflow_flow_take(struct sysflow_state *s, uint32_t pid,
				       int32_t fd);
struct sysflow_flow *sysflow_flow_take_pid(struct sysflow_state *s,
					   uint32_t pid);
struct sysflow_flow *sysflow_flow_take_any(struct sysflow_state *s);

/* SHA-1 of the container id and the path, as sf-collector derives it */
void sysflow_foid(struct sysflow_state *s, const char *path, size_t n,
		  uint8_t foid[SYSFLOW_FOID_LEN]);
/* true when this file has its File entity; else marks it */
bool sysflow_file_seen(struct sysflow_state *s, const uint8_t *foid);

#endif
