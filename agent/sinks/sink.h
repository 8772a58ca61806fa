/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Sinks take encoded records and deliver them somewhere: a file here, MQTT and
 * HTTP in their own files behind the same ops.
 *
 * write() is handed one or more complete records, each ending in '\n'.  A sink
 * never blocks the ring-buffer consumer for long; records it cannot deliver
 * are counted in `dropped`, and the stream reports them as stream.missed.
 */
#ifndef SF_SINK_H
#define SF_SINK_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "util.h"

struct sink;

/* A sink's state for status and metrics. */
struct sink_state {
	const char *state; /* "up", "connecting", "down"; NULL: no such idea */
	uint64_t backlog; /* records queued, not yet delivered */
	uint64_t connects; /* connections made */
	char last_error[160]; /* the last reason it went down, or "" */
};

struct sink_ops {
	const char *name;
	int (*write)(struct sink *s, const char *buf, size_t len,
		     struct sf_error **err);
	/* Waits (bounded by --drain-timeout) until what was written is
	 * delivered; what cannot be is counted in `dropped` and told on stderr. */
	int (*flush)(struct sink *s, struct sf_error **err);
	void (*close)(struct sink *s);
	/* Optional.  stream.start/missed/end: never dropped for lack of queue
	 * room (a queue may exceed its bound for them), and a failure is not
	 * counted in `dropped`: the caller decides.  NULL: write. */
	int (*write_control)(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err);
	/* Optional.  SIGHUP: reopen (files moved away by logrotate). */
	int (*reopen)(struct sink *s, struct sf_error **err);
	/* Optional (network sinks): flush without blocking, for the daemon,
	 * which must keep serving while a stream drains.  The stream is
	 * ending: send what is queued without waiting for a batch to fill and
	 * return how many records are not delivered yet.  give_up: count those
	 * as dropped, say so on stderr, stop sending, return 0.  NULL: nothing
	 * is ever pending. */
	uint64_t (*drain)(struct sink *s, bool give_up);
	/* Optional.  True while the sink cannot deliver (disconnected, queue
	 * full): the stream then waits to report the loss, so one
	 * stream.missed covers an outage rather than one every check. */
	bool (*congested)(struct sink *s);
	/* Optional (network sinks): what sfagent status and /metrics show. */
	void (*state)(struct sink *s, struct sink_state *st);
};

struct sink {
	const struct sink_ops *ops;
	/* Records lost.  Sinks with threads add to it from those threads:
	 * read it with sink_dropped(). */
	uint64_t dropped;
	/* Of those, dropped because the spool was full (stream.missed
	 * reason spool_full); read with sink_dropped_spool(). */
	uint64_t dropped_spool;
	char *desc; /* "file /var/log/x.jsonl" for messages */
	/* "file", "mqtt", "http" when opened by kind (sink_open_spec); NULL:
	 * ops->name says it */
	const char *kind;
};

static inline uint64_t sink_dropped(const struct sink *s)
{
	return __atomic_load_n(&s->dropped, __ATOMIC_RELAXED);
}

static inline void sink_count_dropped(struct sink *s, uint64_t n)
{
	__atomic_fetch_add(&s->dropped, n, __ATOMIC_RELAXED);
}

static inline uint64_t sink_dropped_spool(const struct sink *s)
{
	return __atomic_load_n(&s->dropped_spool, __ATOMIC_RELAXED);
}

/* Counted in both: dropped_spool is the part of dropped it explains.  The
 * total first: a reader that reads the spool part first never sees it
 * exceed the total. */
static inline void sink_count_dropped_spool(struct sink *s, uint64_t n)
{
	__atomic_fetch_add(&s->dropped, n, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&s->dropped_spool, n, __ATOMIC_SEQ_CST);
}

static inline int sink_write_control(struct sink *s, const char *buf,
				     size_t len, struct sf_error **err)
{
	if (s->ops->write_control)
		return s->ops->write_control(s, buf, len, err);
	return s->ops->write(s, buf, len, err);
}

static inline bool sink_congested(struct sink *s)
{
	return s->ops->congested ? s->ops->congested(s) : false;
}

static inline void sink_get_state(struct sink *s, struct sink_state *st)
{
	memset(st, 0, sizeof(*st));
	if (s->ops->state)
		s->ops->state(s, st);
}

static inline int sink_reopen(struct sink *s, struct sf_error **err)
{
	return s->ops->reopen ? s->ops->reopen(s, err) : 0;
}

static inline int sink_write(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err)
{
	return s->ops->write(s, buf, len, err);
}

static inline int sink_flush(struct sink *s, struct sf_error **err)
{
	return s->ops->flush ? s->ops->flush(s, err) : 0;
}

static inline uint64_t sink_drain(struct sink *s, bool give_up)
{
	return s->ops->drain ? s->ops->drain(s, give_up) : 0;
}

void sink_close(struct sink *s);

/* File sink: path "-" is stdout.  append keeps what is there. */
struct sink *sink_file_open(const char *path, bool append,
			    struct sf_error **err);
/* File sink on an fd the caller opened (daemon: openat in the output dir);
 * takes ownership of fd and of desc ("file `...`", for messages). */
struct sink *sink_file_fdopen(int fd, char *desc);
struct sink_file_conf;
/* The same with the encoder's framing (a cadets file is a JSON array). */
struct sink *sink_file_fdopen_conf(int fd, char *desc,
				   const struct sink_file_conf *c);

struct sink_file_conf {
	bool append;
	unsigned rotate_secs; /* -G: new file every N seconds, 0: never */
	uint64_t max_size; /* --max-size: bytes, 0: no limit */
	unsigned max_files; /* --max-files: rotated files kept, 0: all */
	/* Framing from the encoder (cadets: a JSON array), NULL for lines. */
	const char *prefix, *separator, *suffix;
	/* A format that is one document per file with a header of its own
	 * (-F sysflow: an Avro file): the file rotates after a batch, never
	 * before one, and new_file(new_file_ctx) is called whenever an empty
	 * file begins, so the encoder starts its next batch with a header.
	 * NULL: not wanted. */
	void (*new_file)(void *ctx);
	void *new_file_ctx;
	/* records in a batch, for the loss count (NULL: its lines) */
	uint64_t (*count_records)(const char *buf, size_t len);
	/* The stream that owns the file, written as the SINK_FILE_OWNER
	 * xattr on every file the sink opens (a rotation's new one too), so
	 * that a later explicit file:NAME can tell whose file it is (the
	 * daemon, agent/daemon/daemon_reg.c).  NULL: no mark. */
	const char *owner;
};
#define SINK_FILE_OWNER "user.sfagent.stream"
struct sink *sink_file_open_conf(const char *path,
				 const struct sink_file_conf *c,
				 struct sf_error **err);
/*
 * The daemon's files: name is a plain name inside dirfd (the sink keeps a
 * duplicate of it).  Opened, rotated (c: -G, --max-size, --max-files),
 * pruned and reopened (SIGHUP) inside that directory only, never through a
 * symlink, regular files only.  fd: the file, already opened that way by
 * the caller (it wants to know whether it created it), or -1.  Takes
 * ownership of fd and desc (also when it fails).
 */
struct sink *sink_file_openat(int dirfd, const char *name, int fd, char *desc,
			      const struct sink_file_conf *c,
			      struct sf_error **err);
bool sink_file_is(const struct sink *s);
/* A file sink's bytes on disk: its file, and the rotated files it keeps
 * when it rotates. */
uint64_t sink_file_bytes(const struct sink *s);

struct sf_options;
/* MQTT: connects before returning (a refused or unreachable broker is an
 * error here, not later). */
struct sink *sink_mqtt_open(const struct sf_options *o, const char *topic,
			    const char *client_id, struct sf_error **err);
/* The same without waiting for the first connection (daemon mode: checked
 * once at start): records queue until it is made, reconnecting with backoff. */
struct sink *sink_mqtt_open_background(const struct sf_options *o,
				       const char *topic, const char *client_id,
				       struct sf_error **err);
/* NATS JetStream (--nats): connects before returning when wait (else in
 * the background, as the daemon does); exporter goes into each record's
 * Nats-Msg-Id. */
struct sink *sink_nats_open(const struct sf_options *o, const char *subject,
			    const char *exporter, bool wait,
			    struct sf_error **err);
#define SINK_NATS_DEFAULT "sfagent.%h.%w"
/* %h, %w, %c and %% in a NATS subject template; no wildcards (* >), no
 * spaces, no empty tokens; in values '.', '*', '>', spaces and control
 * characters become '_'.  NULL and a usage error otherwise. */
char *sink_topic_expand_nats(const char *tmpl, const char *exporter,
			     const char *workload, const char *container_id,
			     struct sf_error **err);
/* HTTP: POSTs batches from a thread of its own. */
struct sink *sink_http_open(const struct sf_options *o, const char *url,
			    struct sf_error **err);

/*
 * Opening a workload's sinks by name, for every mode (the daemon calls it
 * per container).  kind is "file", "mqtt" or "http"; arg is, for a file,
 * its path; for MQTT the topic or a topic template; for HTTP the URL.  A
 * NULL arg takes the command line's (-o, -t or sfagent/%h/%w, --http).
 * The sink is added to wl->sinks.
 */
struct agent;
struct workload;
/* A kind of sink, for sink_spec.c's table: its name (in messages and in
 * sink_open_spec), whether the command line asks for it, and how to open
 * it for a workload (arg NULL: the command line's destination). */
struct sink_kind {
	const char *name;
	bool (*wanted)(const struct sf_options *o);
	struct sink *(*open)(struct agent *a, struct workload *wl,
			     const char *arg, struct sf_error **err);
};
int sink_open_spec(struct agent *a, struct workload *wl, const char *kind,
		   const char *arg, struct sf_error **err);
/* Every sink the command line asks for (-b, --http, -o, ...), network sinks
 * first: one that fails leaves no file behind. */
int sink_open_from_options(struct agent *a, struct workload *wl,
			   struct sf_error **err);

#define SINK_TOPIC_MAX	   1024
#define SINK_TOPIC_DEFAULT "sfagent/%h/%w"
/* -D: where containers' own mqtt:TOPIC go (--topic-root) */
#define SINK_TOPIC_ROOT_DEFAULT "sfagent/%h"
/*
 * Expands %h (exporter id), %w (workload name), %c (container id, empty
 * outside containers) and %% in a topic template.  The template may not
 * hold MQTT wildcards (+ #); in substituted values '/', '+', '#' and control
 * characters become '_', so a name cannot add topic levels or reach another
 * workload's topic.  NULL and a usage error on a bad template or a result
 * that is empty or longer than SINK_TOPIC_MAX bytes.
 */
char *sink_topic_expand(const char *tmpl, const char *exporter,
			const char *workload, const char *container_id,
			struct sf_error **err);

#endif
