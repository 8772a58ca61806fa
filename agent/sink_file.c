// SPDX-License-Identifier: GPL-2.0
/* File sink: whole batches of records with one write(2) each. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "sink.h"

struct sink_file {
	struct sink base;
	int fd;
	bool own_fd;
};

static uint64_t count_records(const char *buf, size_t len)
{
	uint64_t n = 0;

	for (const char *p = buf; (p = memchr(p, '\n', buf + len - p)); p++)
		n++;
	return n;
}

static int file_write(struct sink *s, const char *buf, size_t len,
		      struct sf_error **err)
{
	struct sink_file *f = (struct sink_file *)s;

	if (write_all(f->fd, buf, len) < 0) {
		/* A partial write may have torn the last record; what did not
		 * reach the file is counted as missed. */
		s->dropped += count_records(buf, len);
		return sf_fail(err, errno, "write to %s", s->desc);
	}
	return 0;
}

static void file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	if (f->own_fd)
		close(f->fd);
	free(s->desc);
	free(f);
}

static const struct sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.close = file_close,
};

struct sink *sink_file_open(const char *path, bool append,
			    struct sf_error **err)
{
	struct sink_file *f;
	int fd;

	if (strcmp(path, "-") == 0) {
		fd = STDOUT_FILENO;
	} else {
		fd = open(path,
			  O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
			  0640);
		if (fd < 0) {
			sf_fail(err, errno, "cannot open output file `%s`", path);
			return NULL;
		}
	}
	f = xzalloc(sizeof(*f));
	f->base.ops = &file_ops;
	f->base.desc = xasprintf("file `%s`", path);
	f->fd = fd;
	f->own_fd = fd != STDOUT_FILENO;
	return &f->base;
}

struct sink *sink_file_fdopen(int fd, char *desc)
{
	struct sink_file *f = xzalloc(sizeof(*f));

	f->base.ops = &file_ops;
	f->base.desc = desc;
	f->fd = fd;
	f->own_fd = true;
	return &f->base;
}
