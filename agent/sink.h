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

#include "util.h"

struct sink;

struct sink_ops {
	const char *name;
	int (*write)(struct sink *s, const char *buf, size_t len,
		     struct sf_error **err);
	int (*flush)(struct sink *s, struct sf_error **err);
	void (*close)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	uint64_t dropped; /* records lost, reported and cleared by the stream */
	char *desc;	  /* "file /var/log/x.jsonl" for messages */
};

static inline int sink_write(struct sink *s, const char *buf, size_t len,
			     struct sf_error **err)
{
	return s->ops->write(s, buf, len, err);
}

static inline int sink_flush(struct sink *s, struct sf_error **err)
{
	return s->ops->flush ? s->ops->flush(s, err) : 0;
}

void sink_close(struct sink *s);

/* File sink: path "-" is stdout.  append keeps what is there. */
struct sink *sink_file_open(const char *path, bool append,
			    struct sf_error **err);
/* File sink on an fd the caller opened (daemon: openat in the output dir);
 * takes ownership of fd and of desc ("file `...`", for messages). */
struct sink *sink_file_fdopen(int fd, char *desc);

#endif
