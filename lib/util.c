// SPDX-License-Identifier: GPL-2.0
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

static void oom(void)
{
	fputs("out of memory\n", stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xzalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		oom();
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		oom();
	return p;
}

char *xstrdup(const char *s)
{
	char *r = strdup(s);

	if (!r)
		oom();
	return r;
}

char *xstrndup(const char *s, size_t n)
{
	char *r = strndup(s, n);

	if (!r)
		oom();
	return r;
}

static char *xvasprintf(const char *fmt, va_list ap)
{
	char *r;

	if (vasprintf(&r, fmt, ap) < 0)
		oom();
	return r;
}

/* Control characters as \n, \t, \xNN: a message a container's strings end
 * up in stays one line (a value with a newline cannot forge a second). */
static char *escape_ctl(char *m)
{
	size_t n = 0;
	char *out, *p;

	for (const char *c = m; *c; c++)
		n += ((unsigned char)*c < 0x20 || *c == 0x7f) ? 4 : 1;
	if (n == strlen(m))
		return m;
	out = p = xmalloc(n + 1);
	for (const char *c = m; *c; c++) {
		unsigned char u = *c;

		if (u == '\n' || u == '\t' || u == '\r')
			p += sprintf(p, "\\%c",
				     u == '\n'	 ? 'n'
				     : u == '\t' ? 't'
						 : 'r');
		else if (u < 0x20 || u == 0x7f)
			p += sprintf(p, "\\x%02x", u);
		else
			*p++ = u;
	}
	*p = 0;
	free(m);
	return out;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *r;

	va_start(ap, fmt);
	r = xvasprintf(fmt, ap);
	va_end(ap);
	return r;
}

int sf_error_set(struct sf_error **err, int status, int errno_, const char *fmt,
		 ...)
{
	va_list ap;
	char *m;

	va_start(ap, fmt);
	m = escape_ctl(xvasprintf(fmt, ap));
	va_end(ap);
	if (!err) {
		free(m);
		return -1;
	}
	sf_error_free(*err);
	*err = xzalloc(sizeof(**err));
	(*err)->status = status;
	(*err)->errno_ = errno_;
	if (errno_)
		(*err)->msg = xasprintf("%s: %s", m, strerror(errno_));
	else
		(*err)->msg = steal_pointer(&m);
	free(m);
	return -1;
}

int sf_error_wrap(struct sf_error **err, const char *fmt, ...)
{
	cleanup_free char *ctx = NULL;
	va_list ap;
	char *m;

	if (!err || !*err)
		return -1;
	va_start(ap, fmt);
	ctx = escape_ctl(xvasprintf(fmt, ap));
	va_end(ap);
	m = xasprintf("%s: %s", ctx, (*err)->msg);
	free((*err)->msg);
	(*err)->msg = m;
	return -1;
}

void sf_error_free(struct sf_error *err)
{
	if (!err)
		return;
	free(err->msg);
	free(err);
}

int sf_error_report(const char *prog, struct sf_error *err)
{
	if (!err)
		return SF_EXIT_ENV;
	fprintf(stderr, "%s: %s\n", prog, err->msg);
	log_debug("exit %d: %s", err->status, err->msg);
	return err->status ? err->status : SF_EXIT_ENV;
}

static const char *log_prog = "sfagent";
static int log_lvl = SF_LOG_WARN;
static FILE *log_debug_file;

void sf_log_init(const char *prog, int level, FILE *debug_file)
{
	log_prog = prog;
	log_lvl = level;
	log_debug_file = debug_file;
}

int sf_log_level(void)
{
	return log_debug_file ? SF_LOG_DEBUG : log_lvl;
}

void sf_vlog(int level, const char *fmt, va_list ap)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	cleanup_free char *m = NULL;

	if (!log_debug_file && level > log_lvl)
		return;
	m = escape_ctl(xvasprintf(fmt, ap));
	if (log_debug_file) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(log_debug_file, "%lld.%06ld %s: %s: %s\n",
			(long long)ts.tv_sec, ts.tv_nsec / 1000, log_prog,
			names[level], m);
		fflush(log_debug_file);
	}
	if (level > log_lvl)
		return;
	fprintf(stderr, "%s: %s%s%s\n", log_prog,
		level == SF_LOG_ERROR ? "" : names[level],
		level == SF_LOG_ERROR ? "" : ": ", m);
}

void sf_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sf_vlog(level, fmt, ap);
	va_end(ap);
}

int sf_exit_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 1;
}

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

int read_file(const char *path, char **out, size_t *len, size_t max,
	      struct sf_error **err)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	size_t used = 0, cap = 4096;

	if (fd < 0)
		return sf_fail(err, errno, "open `%s`", path);
	buf = xmalloc(cap);
	for (;;) {
		ssize_t n;

		if (used + 1 >= cap) {
			if (cap > max)
				return sf_fail(err, 0,
					       "`%s` is larger than %zu bytes",
					       path, max);
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		n = read(fd, buf + used, cap - used - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sf_fail(err, errno, "read `%s`", path);
		}
		if (n == 0)
			break;
		used += n;
	}
	if (used > max)
		return sf_fail(err, 0, "`%s` is larger than %zu bytes", path,
			       max);
	buf[used] = 0;
	*out = steal_pointer(&buf);
	if (len)
		*len = used;
	return 0;
}
