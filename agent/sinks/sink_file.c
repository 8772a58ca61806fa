// SPDX-License-Identifier: GPL-2.0
/*
 * File sink: whole batches of records with one write(2) each.
 *
 * Rotation (-G, --max-size) happens between batches, so a rotated file holds
 * complete records only; the rotated file is renamed FILE.EPOCH (the second
 * the file was started, .N added if taken) and --max-files prunes the oldest.
 * A write that fails (disk full) is cut back to the last record boundary,
 * its records are counted as dropped, and the next batch tries again.
 *
 * A file is a name relative to a directory fd: AT_FDCWD and the path for -o,
 * the daemon's output directory and a plain name for its streams.  Those are
 * opened, rotated, pruned and reopened inside that directory only, without
 * following symlinks, regular files only (the directory is shared with
 * whoever can plant names in it).
 *
 * EPIPE on stdout is the reader going away: SIGTERM to ourselves.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "sink.h"
#include "sbuf.h"

struct sink_file {
	struct sink base;
	char *path; /* relative to dirfd */
	int dirfd; /* AT_FDCWD, or owned (sink_file_openat) */
	bool in_dir; /* opened by sink_file_openat: no symlinks, no FIFOs */
	int fd;
	bool own_fd;
	uint64_t rotated_bytes; /* in the rotated files kept, when rotating */
	struct sink_file_conf c;
	char *owner; /* c.owner's copy */
	uint64_t size; /* bytes in the current file */
	uint64_t opened_mono; /* for -G */
	time_t opened_wall; /* the rotated file's suffix */
	bool need_sep; /* a record is in the file: separator before the next */
	bool failing; /* the last write failed */
	bool reader_gone; /* stdout: EPIPE, SIGTERM sent */
	time_t last_epoch; /* the last rotated name: FILE.EPOCH[.N] */
	unsigned last_n;
	struct sbuf tmp;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t count_records(const char *buf, size_t len)
{
	uint64_t n = 0;

	for (const char *p = buf; (p = memchr(p, '\n', buf + len - p)); p++)
		n++;
	return n;
}

static size_t slen(const char *s)
{
	return s ? strlen(s) : 0;
}

/* The owner mark (sink.h).  A file system without user xattrs keeps no
 * mark: the daemon then treats the file as nobody's (docs/hook.md). */
static void mark_owner(struct sink_file *f, int fd)
{
	if (f->owner &&
	    fsetxattr(fd, SINK_FILE_OWNER, f->owner, strlen(f->owner), 0) < 0)
		log_debug("%s: no owner mark: %s", f->base.desc,
			  strerror(errno));
}

/* Opens f->path inside f->dirfd: a regular file with one link, never
 * through a symlink, never blocking on a FIFO. */
static int open_in_dir(struct sink_file *f, bool append, struct sf_error **err)
{
	int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK |
		    (append ? O_APPEND : O_TRUNC);
	struct stat st;
	int fd = openat(f->dirfd, f->path, flags, 0640);

	if (fd < 0)
		return sf_fail(err, errno, "cannot open output %s",
			       f->base.desc);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1) {
		close(fd);
		return sf_fail(
			err, 0,
			"output %s is not a regular file with one link: not writing to it (remove what was put there)",
			f->base.desc);
	}
	fcntl(fd, F_SETFL, O_WRONLY | (append ? O_APPEND : 0));
	mark_owner(f, fd);
	return fd;
}

/* The error for an output file that does not open, with the fix. */
static int open_error(const char *path, struct sf_error **err)
{
	int e = errno;
	cleanup_free char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	const char *fix = NULL;

	if (slash)
		*slash = '\0';
	if (e == EISDIR)
		return sf_fail(
			err, 0,
			"cannot open output file `%s`: %s: give a file name in it (-o %s/stream.jsonl)",
			path, strerror(e), path);
	if (e == ENOENT && slash)
		return sf_fail(
			err, 0,
			"cannot open output file `%s`: %s: create its directory first (mkdir -p %s) or give another -o FILE",
			path, strerror(e), *dir ? dir : "/");
	if (e == EACCES || e == EROFS || e == EPERM)
		fix = "give a file this user can write";
	return sf_fail(err, 0, "cannot open output file `%s`: %s%s%s", path,
		       strerror(e), fix ? ": " : "", fix ? fix : "");
}

/* Opens f->path; a new or emptied file gets the prefix. */
static int file_open_fd(struct sink_file *f, bool append, struct sf_error **err)
{
	struct stat st;
	int fd;

	if (f->in_dir) {
		fd = open_in_dir(f, append, err);
		if (fd < 0)
			return -1;
	} else {
		/* a new file after a rotation is never a link someone
		 * planted in the rotated one's place */
		fd = open(f->path,
			  O_WRONLY | O_CREAT | O_CLOEXEC |
				  (append ? O_APPEND : O_TRUNC | O_NOFOLLOW),
			  0640);
		if (fd < 0)
			return open_error(f->path, err);
	}
	f->fd = fd;
	f->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	f->opened_mono = mono_ns();
	f->opened_wall = time(NULL);
	f->need_sep = f->size > slen(f->c.prefix);
	if (f->size == 0 && f->c.prefix) {
		if (write_all(fd, f->c.prefix, strlen(f->c.prefix)) < 0) {
			int e = errno;

			close(fd);
			f->fd = -1;
			return sf_fail(err, e, "write to %s", f->base.desc);
		}
		f->size = strlen(f->c.prefix);
	}
	if (f->size == 0 && f->c.new_file)
		f->c.new_file(f->c.new_file_ctx);
	return 0;
}

static void file_close_fd(struct sink_file *f)
{
	if (f->fd < 0)
		return;
	if (f->c.suffix &&
	    write_all(f->fd, f->c.suffix, strlen(f->c.suffix)) < 0)
		log_warn("%s: cannot end the file: %s", f->base.desc,
			 strerror(errno));
	if (f->own_fd)
		close(f->fd);
	f->fd = -1;
}

/* FILE.EPOCH[.N]: epoch and N, or -1 when name is not a rotated FILE. */
static int rotated_key(const char *name, const char *base, size_t blen,
		       unsigned long long *epoch, unsigned long *n)
{
	char *end;

	if (strncmp(name, base, blen) != 0 || name[blen] != '.' ||
	    !(name[blen + 1] >= '0' && name[blen + 1] <= '9'))
		return -1;
	*epoch = strtoull(name + blen + 1, &end, 10);
	*n = 0;
	if (*end == '.' && end[1] >= '0' && end[1] <= '9')
		*n = strtoul(end + 1, &end, 10);
	return *end ? -1 : 0;
}

struct rotated {
	unsigned long long epoch;
	unsigned long n;
	char *name;
	uint64_t size;
};

static int rotated_cmp(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	if (x->epoch != y->epoch)
		return x->epoch < y->epoch ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

/* A new fd on the directory f->path is in, and the name inside it. */
static int open_dir_of(struct sink_file *f, const char **base)
{
	cleanup_free char *dir = NULL;
	char *slash;

	if (f->in_dir) {
		*base = f->path;
		return openat(f->dirfd, ".",
			      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	dir = xstrdup(f->path);
	slash = strrchr(dir, '/');
	*base = slash ? f->path + (slash - dir) + 1 : f->path;
	if (slash)
		*slash = 0;
	return open(slash ? (*dir ? dir : "/") : ".",
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/*
 * The rotated files of f: --max-files keeps the newest N (prune), and
 * rotated_bytes becomes what those kept hold (for the daemon's budgets).
 */
static void scan_rotated(struct sink_file *f, bool prune)
{
	const char *base;
	int dfd = open_dir_of(f, &base);
	size_t blen = strlen(base), n = 0, cap = 0;
	struct rotated *r = NULL;
	struct dirent *de;
	DIR *d;

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		struct rotated x;
		struct stat st;

		/* only what this agent could have rotated: a name planted
		 * with a future epoch (or by another user) would sort newest
		 * and get the real rotated files pruned */
		if (rotated_key(de->d_name, base, blen, &x.epoch, &x.n) < 0 ||
		    x.epoch > (unsigned long long)time(NULL) + 60 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if (n == cap)
			r = xrealloc(r,
				     (cap = cap ? cap * 2 : 16) * sizeof(*r));
		x.name = xstrdup(de->d_name);
		x.size = st.st_size;
		r[n++] = x;
	}
	qsort(r, n, sizeof(*r), rotated_cmp);
	f->rotated_bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (prune && f->c.max_files && n - i > f->c.max_files) {
			if (unlinkat(dirfd(d), r[i].name, 0) < 0 &&
			    errno != ENOENT)
				log_warn("%s: cannot remove old file `%s`: %s",
					 f->base.desc, r[i].name,
					 strerror(errno));
		} else {
			f->rotated_bytes += r[i].size;
		}
		free(r[i].name);
	}
	free(r);
	closedir(d);
}

static int rotate(struct sink_file *f, struct sf_error **err)
{
	cleanup_free char *name = NULL;
	uint64_t size;
	int r;

	/* FILE.EPOCH, then FILE.EPOCH.1, .2 within one second: names keep
	 * sorting in the order the files were written, even once pruned */
	if (f->opened_wall == f->last_epoch)
		f->last_n++;
	else
		f->last_n = 0;
	f->last_epoch = f->opened_wall;
	file_close_fd(f);
	size = f->size + slen(f->c.suffix);
	for (;; f->last_n++) {
		free(name);
		name = f->last_n
			       ? xasprintf("%s.%lld.%u", f->path,
					   (long long)f->opened_wall, f->last_n)
			       : xasprintf("%s.%lld", f->path,
					   (long long)f->opened_wall);
		/* never over a file that is there, planted or ours */
		r = renameat2(f->dirfd, f->path, f->dirfd, name,
			      RENAME_NOREPLACE);
		if (r < 0 && errno == EINVAL) {
			/* a file system without RENAME_NOREPLACE */
			if (faccessat(f->dirfd, name, F_OK,
				      AT_SYMLINK_NOFOLLOW) == 0)
				continue;
			r = renameat(f->dirfd, f->path, f->dirfd, name);
		}
		if (r == 0 || errno != EEXIST)
			break;
	}
	if (r < 0)
		log_warn("%s: cannot rotate to `%s`: %s; starting over",
			 f->base.desc, name, strerror(errno));
	else
		f->rotated_bytes += size;
	if (file_open_fd(f, false, err) < 0)
		return -1;
	if (f->c.max_files)
		scan_rotated(f, true);
	return 0;
}

static bool want_rotate(struct sink_file *f, size_t len)
{
	if (!f->own_fd || f->size <= slen(f->c.prefix))
		return false; /* never an empty rotated file */
	if (f->c.rotate_secs &&
	    mono_ns() - f->opened_mono >= f->c.rotate_secs * 1000000000ull)
		return true;
	return f->c.max_size &&
	       f->size + len + slen(f->c.suffix) > f->c.max_size;
}

static int do_write(struct sink *s, const char *buf, size_t len, bool control,
		    struct sf_error **err)
{
	struct sink_file *f = (struct sink_file *)s;
	/* the batch as given: counted only when it is lost (a scan of every
	 * batch for its lines was 2-3% of the agent's samples) */
	const char *batch = buf;
	size_t batch_len = len;
	bool had_sep = f->need_sep;

	if (f->fd < 0 && file_open_fd(f, true, err) < 0)
		goto lost;
	if (!f->c.new_file && want_rotate(f, len)) {
		cleanup_error struct sf_error *e = NULL;

		if (rotate(f, &e) < 0) {
			log_warn("%s: %s", s->desc, e->msg);
			if (f->fd < 0 && file_open_fd(f, true, err) < 0)
				goto lost;
		}
		had_sep = f->need_sep;
	}
	if (f->c.separator) {
		const char *p = buf, *end = buf + len, *nl;

		f->tmp.len = 0;
		for (; p < end; p = nl) {
			nl = memchr(p, '\n', end - p);
			nl = nl ? nl + 1 : end;
			if (f->need_sep)
				sbuf_puts(&f->tmp, f->c.separator);
			sbuf_put(&f->tmp, p, nl - p);
			f->need_sep = true;
		}
		buf = f->tmp.data;
		len = f->tmp.len;
	}
	if (write_all(f->fd, buf, len) < 0) {
		int e = errno;

		/* stdout's reader went away (sfagent -o - | head): the same as
		 * being asked to stop, so the mode ends the stream and exits
		 * (docs/outputs.md) instead of counting every record after */
		if (e == EPIPE && !f->own_fd && f->fd == STDOUT_FILENO &&
		    !f->reader_gone) {
			f->reader_gone = true;
			f->failing = true; /* said here, not as a disk error */
			log_warn(
				"stdout was closed by its reader: ending the stream");
			kill(getpid(), SIGTERM);
		}

		/* no torn record: cut back to where this batch began */
		if (f->own_fd && (ftruncate(f->fd, f->size) < 0 ||
				  lseek(f->fd, f->size, SEEK_SET) < 0))
			log_debug("%s: cut back: %s", s->desc, strerror(errno));
		f->need_sep = had_sep;
		errno = e;
		sf_fail(err, e, "write to %s", s->desc);
		goto lost;
	}
	f->size += len;
	if (f->failing)
		log_warn("%s: writing again", s->desc);
	f->failing = false;
	/* a file with its own header rotates after the batch that crossed
	 * the limit: the next batch is encoded for the new file (not after
	 * a stream record: the stream's end would leave an empty file) */
	if (f->c.new_file && !control && want_rotate(f, 0)) {
		cleanup_error struct sf_error *e = NULL;

		if (rotate(f, &e) < 0)
			log_warn("%s: %s", s->desc, e->msg);
	}
	return 0;
lost:
	if (!control)
		sink_count_dropped(
			s, f->c.count_records
				   ? f->c.count_records(batch, batch_len)
				   : count_records(batch, batch_len));
	if (!f->failing)
		log_warn(
			"%s; records are counted as missed until writing works again",
			err && *err ? (*err)->msg : s->desc);
	f->failing = true;
	return -1;
}

static int file_write(struct sink *s, const char *buf, size_t len,
		      struct sf_error **err)
{
	return do_write(s, buf, len, false, err);
}

static int file_write_control(struct sink *s, const char *buf, size_t len,
			      struct sf_error **err)
{
	return do_write(s, buf, len, true, err);
}

/* SIGHUP: the file may have been moved away (logrotate): start it again. */
static int file_reopen(struct sink *s, struct sf_error **err)
{
	struct sink_file *f = (struct sink_file *)s;

	/* stdout, or a file the daemon opened by fd: nothing to reopen by name */
	if (!f->own_fd || !f->path)
		return 0;
	file_close_fd(f);
	return file_open_fd(f, true, err);
}

static void file_close(struct sink *s)
{
	struct sink_file *f = (struct sink_file *)s;

	file_close_fd(f);
	if (f->dirfd >= 0)
		close(f->dirfd);
	sbuf_free(&f->tmp);
	free(f->path);
	free(f->owner);
	free(s->desc);
	free(f);
}

static const struct sink_ops file_ops = {
	.name = "file",
	.write = file_write,
	.write_control = file_write_control,
	.reopen = file_reopen,
	.close = file_close,
};

struct sink *sink_file_open_conf(const char *path,
				 const struct sink_file_conf *c,
				 struct sf_error **err)
{
	struct sink_file *f = xzalloc(sizeof(*f));

	f->base.ops = &file_ops;
	f->base.desc = xasprintf("file `%s`", path);
	f->path = xstrdup(path);
	f->dirfd = AT_FDCWD;
	f->c = *c;
	f->fd = -1;
	if (strcmp(path, "-") == 0) {
		f->fd = STDOUT_FILENO;
		f->opened_mono = mono_ns();
		if (c->prefix &&
		    write_all(f->fd, c->prefix, strlen(c->prefix)) < 0) {
			sf_fail(err, errno, "write to stdout");
			file_close(&f->base);
			return NULL;
		}
		return &f->base;
	}
	f->own_fd = true;
	if (file_open_fd(f, c->append, err) < 0) {
		file_close(&f->base);
		return NULL;
	}
	return &f->base;
}

struct sink *sink_file_open(const char *path, bool append,
			    struct sf_error **err)
{
	struct sink_file_conf c = {.append = append};

	return sink_file_open_conf(path, &c, err);
}

/* A file the caller opened (the daemon: openat inside its output directory,
 * O_NOFOLLOW); no name, so no rotation and no reopen.  Framing from c (an
 * empty file gets the prefix); rotation settings are ignored. */
struct sink *sink_file_fdopen_conf(int fd, char *desc,
				   const struct sink_file_conf *c)
{
	struct sink_file *f = xzalloc(sizeof(*f));
	struct stat st;

	f->base.ops = &file_ops;
	f->base.desc = desc;
	f->dirfd = AT_FDCWD;
	f->fd = fd;
	f->own_fd = true;
	f->c.prefix = c->prefix;
	f->c.separator = c->separator;
	f->c.suffix = c->suffix;
	f->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	f->opened_mono = mono_ns();
	f->opened_wall = time(NULL);
	f->need_sep = f->size > slen(f->c.prefix);
	if (f->size == 0 && f->c.prefix) {
		if (write_all(fd, f->c.prefix, strlen(f->c.prefix)) < 0)
			log_warn("%s: cannot start the file: %s", desc,
				 strerror(errno));
		else
			f->size = strlen(f->c.prefix);
	}
	return &f->base;
}

struct sink *sink_file_fdopen(int fd, char *desc)
{
	struct sink_file_conf c = {0};

	return sink_file_fdopen_conf(fd, desc, &c);
}

struct sink *sink_file_openat(int dirfd, const char *name, int fd, char *desc,
			      const struct sink_file_conf *c,
			      struct sf_error **err)
{
	struct sink_file *f = xzalloc(sizeof(*f));
	struct stat st;

	f->base.ops = &file_ops;
	f->base.desc = desc;
	f->path = xstrdup(name);
	f->in_dir = true;
	f->own_fd = true;
	f->c = *c;
	f->owner = c->owner ? xstrdup(c->owner) : NULL;
	f->c.owner = f->owner;
	f->fd = -1;
	f->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
	if (f->dirfd < 0) {
		sf_fail(err, errno, "output directory of %s", desc);
		if (fd >= 0)
			close(fd);
		file_close(&f->base);
		return NULL;
	}
	if (fd < 0) {
		if (file_open_fd(f, true, err) < 0) {
			file_close(&f->base);
			return NULL;
		}
	} else {
		/* the caller's fd, opened as open_in_dir() would */
		f->fd = fd;
		mark_owner(f, fd);
		f->size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
		f->opened_mono = mono_ns();
		f->opened_wall = time(NULL);
		f->need_sep = f->size > slen(f->c.prefix);
		if (f->size == 0 && f->c.prefix &&
		    write_all(fd, f->c.prefix, strlen(f->c.prefix)) < 0) {
			sf_fail(err, errno, "write to %s", desc);
			file_close(&f->base);
			return NULL;
		}
		if (f->size == 0 && f->c.prefix)
			f->size = strlen(f->c.prefix);
	}
	if (f->c.rotate_secs || f->c.max_size)
		scan_rotated(f, f->c.max_files != 0);
	return &f->base;
}

bool sink_file_is(const struct sink *s)
{
	return s->ops == &file_ops;
}

uint64_t sink_file_bytes(const struct sink *s)
{
	const struct sink_file *f = (const struct sink_file *)s;

	return f->size + f->rotated_bytes;
}
