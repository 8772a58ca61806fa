/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error, cleanup, allocation and logging conventions shared by sfagent and
 * sfhook.
 *
 * Errors: a function that can fail returns a negative int (or NULL) and fills
 * a `struct sf_error **err`.  Each layer may add context on the way up with
 * sf_error_wrap() ("register `%s`: <inner>").  Only the top level prints, once,
 * and picks the exit status from err->status (SF_EXIT_USAGE or SF_EXIT_ENV).
 *
 * Allocation failure aborts (xmalloc & co.): no untested NULL paths.
 */
#ifndef SF_UTIL_H
#define SF_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define SF_EXIT_ENV   1
#define SF_EXIT_USAGE 2

struct sf_error {
	int status; /* exit status to use: SF_EXIT_ENV or SF_EXIT_USAGE */
	int errno_; /* errno at the failure, or 0 */
	char *msg;
};

__attribute__((format(printf, 4, 5))) int sf_error_set(struct sf_error **err,
						       int status, int errno_,
						       const char *fmt, ...);
__attribute__((format(printf, 2, 3))) int sf_error_wrap(struct sf_error **err,
							const char *fmt, ...);
void sf_error_free(struct sf_error *err);

/* Shorthands: an environment problem (exit 1) or a usage problem (exit 2). */
#define sf_fail(err, errno_, ...) \
	sf_error_set(err, SF_EXIT_ENV, errno_, __VA_ARGS__)
#define sf_usage(err, ...) sf_error_set(err, SF_EXIT_USAGE, 0, __VA_ARGS__)

void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

/* cleanup helpers */
static inline void freep(void *p)
{
	free(*(void **)p);
}
static inline void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
	*f = NULL;
}
static inline void sf_error_freep(struct sf_error **e)
{
	sf_error_free(*e);
	*e = NULL;
}
#define cleanup_free   __attribute__((cleanup(freep)))
#define cleanup_close  __attribute__((cleanup(closep)))
#define cleanup_fclose __attribute__((cleanup(fclosep)))
#define cleanup_error  __attribute__((cleanup(sf_error_freep)))

static inline void *steal_ptr(void *pp)
{
	void **p = pp, *r = *p;

	*p = NULL;
	return r;
}
#define steal_pointer(pp) steal_ptr(pp)
static inline int get_and_reset(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

/* logging: levels, stderr or a debug file */
enum sf_log_level { SF_LOG_ERROR, SF_LOG_WARN, SF_LOG_INFO, SF_LOG_DEBUG };
void sf_log_init(const char *prog, int level, FILE *debug_file);
int sf_log_level(void);
__attribute__((format(printf, 2, 3))) void sf_log(int level, const char *fmt,
						  ...);
void sf_vlog(int level, const char *fmt, va_list ap);
#define log_error(...) sf_log(SF_LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  sf_log(SF_LOG_WARN, __VA_ARGS__)
#define log_info(...)  sf_log(SF_LOG_INFO, __VA_ARGS__)
#define log_debug(...) sf_log(SF_LOG_DEBUG, __VA_ARGS__)

/* Prints "prog: <msg>" once and returns the exit status to use. */
int sf_error_report(const char *prog, struct sf_error *err);

/* A wait status as a shell reports it: the code, or 128 + the signal. */
int sf_exit_status(int wait_status);

/* small file helpers */
int write_all(int fd, const void *buf, size_t len);
int read_file(const char *path, char **out, size_t *len, size_t max,
	      struct sf_error **err);

#endif
