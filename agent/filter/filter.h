/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Filter expressions (EVM's language, extended to event keys; docs/filters.md).
 *
 *   all | none | [KEY OP VALUE] combined with & | ! and parentheses
 *
 * filter_parse() compiles an expression once.  filter_bind() ties it to one
 * stream: the stream's keys (workload, container, image, k8s.*, annotation.*)
 * are evaluated there, and with the event type, which alone decides the type
 * and priority terms, each type gets a verdict: never, always, or "look at
 * the event".  The never types are what the kernel drops before its ring
 * buffer (filter_plan_may_pass); filter_plan_eval() decides the rest from
 * the event's keys through an accessor, without allocating.
 */
#ifndef SF_FILTER_H
#define SF_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define FILTER_MAX_LEN	    4096 /* bytes of an expression */
#define FILTER_FILE_MAX	    16384 /* bytes of an @FILE, comments included */
#define FILTER_MAX_TERMS    256
#define FILTER_MAX_DEPTH    64 /* parentheses and ! nested */
#define FILTER_MAX_TYPES    128 /* event type numbers below this */
#define FILTER_MAX_PRIORITY 700

/* The keys a filter can name.  Event keys come from each event, stream keys
 * from the stream (once, at filter_bind), type and priority from the type. */
enum filter_key {
	FILTER_KEY_TYPE,
	FILTER_KEY_PRIORITY,
	/* event keys */
	FILTER_KEY_PID,
	FILTER_KEY_TID,
	FILTER_KEY_PPID,
	FILTER_KEY_UID,
	FILTER_KEY_GID,
	FILTER_KEY_EUID,
	FILTER_KEY_COMM,
	FILTER_KEY_CGROUP,
	FILTER_KEY_SYSCALL,
	FILTER_KEY_RET,
	FILTER_KEY_PATH,
	FILTER_KEY_NEWPATH,
	FILTER_KEY_FILENAME,
	FILTER_KEY_ARGV,
	FILTER_KEY_FD,
	FILTER_KEY_FLAGS,
	FILTER_KEY_EXIT_CODE,
	FILTER_KEY_SIG,
	FILTER_KEY_CHILD_PID,
	FILTER_KEY_TARGET_PID,
	FILTER_KEY_CAP,
	FILTER_KEY_CAP_NAME,
	FILTER_KEY_GRANTED,
	FILTER_KEY_FAMILY,
	FILTER_KEY_ADDR,
	FILTER_KEY_PORT,
	FILTER_KEY_NEW_UID,
	FILTER_KEY_NEW_EUID,
	/* the named fields of the newer event types (decode_sec.c: via,
	 * request, fstype, ...): arg is the name; number or string as the
	 * event has it */
	FILTER_KEY_FIELD,
	/* stream keys */
	FILTER_KEY_WORKLOAD,
	FILTER_KEY_CONTAINER,
	FILTER_KEY_IMAGE,
	FILTER_KEY_K8S_NAMESPACE,
	FILTER_KEY_K8S_POD,
	FILTER_KEY_K8S_CONTAINER,
	FILTER_KEY_ANNOTATION, /* annotation.NAME: arg is NAME */
	FILTER_NKEYS,
};

enum filter_kind {
	FILTER_ABSENT, /* the event or stream has no such key */
	FILTER_NUM,
	FILTER_STR,
};

/* What an accessor returns for a key.  str is len bytes (no NUL among
 * them; it need not be NUL-terminated after them); an
 * accessor that has to format a string writes it into buf (bufsz bytes,
 * owned by the evaluator) and points str there. */
struct filter_value {
	enum filter_kind kind;
	int64_t num;
	const char *str;
	size_t len;
	char *buf;
	size_t bufsz;
};

/* Fills v for key (arg: the NAME of annotation.NAME, else NULL); leaves
 * v->kind FILTER_ABSENT when there is no such key. */
typedef void (*filter_get_fn)(const void *ctx, enum filter_key key,
			      const char *arg, struct filter_value *v);

struct filter;
struct filter_plan;

/*
 * Compiles text.  label starts every error message ("filter",
 * "mqtt-filter", "io.sfagent.filter"): "filter: column 14: expected ']'
 * after value".  Errors are usage errors (exit 2).
 */
struct filter *filter_parse(const char *text, const char *label,
			    struct sf_error **err);
/* text, or "@FILE": the expression is read from FILE ('#' starts a comment
 * that runs to the end of the line, newlines are spaces). */
struct filter *filter_parse_arg(const char *arg, const char *label,
				struct sf_error **err);
/* a & b, as one new filter (the daemon's --filter and a container's
 * io.sfagent.filter: the container can only narrow). */
struct filter *filter_and(const struct filter *a, const struct filter *b,
			  struct sf_error **err);
void filter_free(struct filter *f);
/* The expression, comments dropped and blanks squeezed, for stream.start. */
const char *filter_text(const struct filter *f);
/* True when the filter names no event key (type, priority and stream keys
 * only): its plan decides every event from the type. */
bool filter_is_static(const struct filter *f);
/* The first event key the filter names, NULL when it names none. */
const char *filter_event_key(const struct filter *f);
/* True when the filter has a term on key. */
bool filter_uses_key(const struct filter *f, enum filter_key key);

/* Binds f to a stream whose keys get() answers (ctx passed back).  f must
 * outlive the plan. */
struct filter_plan *filter_bind(const struct filter *f, filter_get_fn get,
				const void *ctx);
void filter_plan_free(struct filter_plan *p);
const struct filter *filter_plan_filter(const struct filter_plan *p);

enum filter_verdict { FILTER_NEVER, FILTER_ALWAYS, FILTER_MAYBE };
enum filter_verdict filter_plan_verdict(const struct filter_plan *p,
					unsigned type);
static inline bool filter_plan_may_pass(const struct filter_plan *p,
					unsigned type)
{
	return filter_plan_verdict(p, type) != FILTER_NEVER;
}
/* When every event that passes has key = value (key uid, pid or comm, from
 * a term `[KEY = VALUE]` the filter cannot pass without): the value, in
 * *num (uid, pid) or *str (comm), for the kernel to test. */
bool filter_plan_implied(const struct filter_plan *p, enum filter_key key,
			 int64_t *num, const char **str);
/* Does the event of this type, whose keys get() answers, pass?  No
 * allocation; a NULL plan passes everything. */
bool filter_plan_eval(const struct filter_plan *p, unsigned type,
		      filter_get_fn get, const void *ctx);

/* Evaluates a filter of stream keys only (--select); event keys are absent. */
bool filter_eval_stream(const struct filter *f, filter_get_fn get,
			const void *ctx);

/* EVM priority (0-700) of an event type; the table is in docs/events.md. */
unsigned filter_type_priority(unsigned type);
/* "type (name), priority, pid, ..." for messages and docs. */
const char *filter_key_names(void);
const char *filter_key_name(enum filter_key key);

#endif
