// SPDX-License-Identifier: GPL-2.0
/*
 * Filter expressions: parser, type/priority tables, binding to a stream and
 * the per-event evaluator.  The grammar (docs/filters.md):
 *
 *   expr    := and ('|' and)*
 *   and     := unary ('&' unary)*
 *   unary   := '!' unary | primary
 *   primary := '(' expr ')' | '[' KEY [OP] VALUE ']' | all | none
 */
#include "filter.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "sfagent.h"

_Static_assert(SF_EV_MAX <= FILTER_MAX_TYPES,
	       "raise FILTER_MAX_TYPES (and the kernel's type mask)");

enum key_class {
	KC_TYPE, /* decided by the event type: type, priority */
	KC_EVENT,
	KC_STREAM,
};

static const struct key_info {
	const char *name;
	enum filter_key key;
	enum key_class cls;
	enum filter_kind kind;
} keys[] = {
	{"type", FILTER_KEY_TYPE, KC_TYPE, FILTER_STR},
	{"name", FILTER_KEY_TYPE, KC_TYPE, FILTER_STR},
	{"priority", FILTER_KEY_PRIORITY, KC_TYPE, FILTER_NUM},
	{"pid", FILTER_KEY_PID, KC_EVENT, FILTER_NUM},
	{"tid", FILTER_KEY_TID, KC_EVENT, FILTER_NUM},
	{"ppid", FILTER_KEY_PPID, KC_EVENT, FILTER_NUM},
	{"uid", FILTER_KEY_UID, KC_EVENT, FILTER_NUM},
	{"gid", FILTER_KEY_GID, KC_EVENT, FILTER_NUM},
	{"euid", FILTER_KEY_EUID, KC_EVENT, FILTER_NUM},
	{"comm", FILTER_KEY_COMM, KC_EVENT, FILTER_STR},
	{"cgroup", FILTER_KEY_CGROUP, KC_EVENT, FILTER_NUM},
	{"syscall", FILTER_KEY_SYSCALL, KC_EVENT, FILTER_STR},
	{"ret", FILTER_KEY_RET, KC_EVENT, FILTER_NUM},
	{"path", FILTER_KEY_PATH, KC_EVENT, FILTER_STR},
	{"newpath", FILTER_KEY_NEWPATH, KC_EVENT, FILTER_STR},
	{"filename", FILTER_KEY_FILENAME, KC_EVENT, FILTER_STR},
	{"argv", FILTER_KEY_ARGV, KC_EVENT, FILTER_STR},
	{"fd", FILTER_KEY_FD, KC_EVENT, FILTER_NUM},
	{"flags", FILTER_KEY_FLAGS, KC_EVENT, FILTER_STR},
	{"exit_code", FILTER_KEY_EXIT_CODE, KC_EVENT, FILTER_NUM},
	{"sig", FILTER_KEY_SIG, KC_EVENT, FILTER_STR},
	{"child_pid", FILTER_KEY_CHILD_PID, KC_EVENT, FILTER_NUM},
	{"target_pid", FILTER_KEY_TARGET_PID, KC_EVENT, FILTER_NUM},
	{"cap", FILTER_KEY_CAP, KC_EVENT, FILTER_NUM},
	{"cap_name", FILTER_KEY_CAP_NAME, KC_EVENT, FILTER_STR},
	{"granted", FILTER_KEY_GRANTED, KC_EVENT, FILTER_STR},
	{"family", FILTER_KEY_FAMILY, KC_EVENT, FILTER_STR},
	{"addr", FILTER_KEY_ADDR, KC_EVENT, FILTER_STR},
	{"port", FILTER_KEY_PORT, KC_EVENT, FILTER_NUM},
	{"new_uid", FILTER_KEY_NEW_UID, KC_EVENT, FILTER_NUM},
	{"new_euid", FILTER_KEY_NEW_EUID, KC_EVENT, FILTER_NUM},
	{"FIELD", FILTER_KEY_FIELD, KC_EVENT, FILTER_ABSENT},
	{"workload", FILTER_KEY_WORKLOAD, KC_STREAM, FILTER_STR},
	{"container", FILTER_KEY_CONTAINER, KC_STREAM, FILTER_STR},
	{"image", FILTER_KEY_IMAGE, KC_STREAM, FILTER_STR},
	{"k8s.namespace", FILTER_KEY_K8S_NAMESPACE, KC_STREAM, FILTER_STR},
	{"k8s.pod", FILTER_KEY_K8S_POD, KC_STREAM, FILTER_STR},
	{"k8s.container", FILTER_KEY_K8S_CONTAINER, KC_STREAM, FILTER_STR},
	{"annotation.NAME", FILTER_KEY_ANNOTATION, KC_STREAM, FILTER_STR},
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* EVM's scale: 0-700, higher matters more.  Types not listed take their
 * class's priority, then DEFAULT_PRIORITY.  Documented in docs/events.md. */
static const struct {
	const char *name;
	unsigned prio;
} priorities[] = {
	{"process.exec", 300},
	{"process.fork", 100},
	{"process.exit", 100},
	{"process.setuid", 400},
	{"process.ptrace", 500},
	{"process.vm_write", 500},
	{"process.vm_read", 400},
	{"process.userfaultfd", 200},
	{"file.open", 100},
	{"file.mkdir", 100},
	{"file.unlink", 200},
	{"file.rmdir", 200},
	{"file.rename", 200},
	{"file.link", 200},
	{"file.symlink", 200},
	{"file.truncate", 200},
	{"file.chmod", 300},
	{"file.chown", 300},
	{"file.setxattr", 300},
	{"file.removexattr", 300},
	{"file.memfd_create", 300},
	{"file.open_by_handle", 500},
	{"net.socket", 100},
	{"net.connect", 200},
	{"net.accept", 200},
	{"net.bind", 200},
	{"net.listen", 200},
	{"net.sendto", 200},
	{"signal.kill", 200},
	{"cap.capable", 200},
	{"fd.dup", 400},
	{"mem.exec", 400},
	{"ns.unshare", 400},
	{"ns.setns", 400},
	{"fs.umount", 400},
	{"fs.mount", 500},
	{"fs.pivot_root", 500},
	{"fs.chroot", 500},
	{"perf.open", 400},
	{"bpf.call", 500},
	{"io_uring.op", 100},
	{"io_uring.setup", 300},
	{"io_uring.register", 300},
	{"key", 200},
	{"kernel.module_load", 600},
	{"kernel.module_delete", 600},
	/* classes */
	{"process", 200},
	{"file", 100},
	{"net", 200},
	{"fs", 500},
	{"kernel", 600},
};
#define DEFAULT_PRIORITY 300

enum node_op { N_ALL, N_NONE, N_TERM, N_NOT, N_AND, N_OR };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum match_kind { M_EXACT, M_PREFIX, M_GLOB };

struct fterm {
	enum filter_key key;
	enum key_class cls;
	enum filter_kind kind;
	enum cmp_op op;
	enum match_kind match;
	char *arg; /* annotation NAME */
	char *pat; /* string value, NUL-terminated */
	size_t patlen;
	int64_t num;
	bool by_type[FILTER_MAX_TYPES]; /* KC_TYPE: the term's value per type */
};

struct fnode {
	enum node_op op;
	int a, b; /* children (N_NOT: a), or the term (N_TERM: a) */
};

struct filter {
	char *text;
	struct fnode *nodes;
	int nnodes, cap_nodes;
	struct fterm *terms;
	int nterms;
	int root;
	bool has_event_keys;
};

/*
 * A plan's program for one event type: the event-key terms only (type,
 * priority and stream terms are known and folded away), each with where
 * to go next when it holds and when it does not.  A tree walk with a
 * switch per node cost ~140 ns for five terms (an indirect jump and a
 * call per node); this is a loop over the terms that are asked.
 */
#define GO_ACCEPT (-1)
#define GO_REJECT (-2)

struct insn {
	int term;
	int on_true, on_false; /* next insn, or GO_ACCEPT / GO_REJECT */
};

struct filter_plan {
	const struct filter *f;
	int8_t *stream_val; /* per term: the stream key's result */
	uint8_t verdict[FILTER_MAX_TYPES];
	int entry[FILTER_MAX_TYPES]; /* MAYBE types: the program's start */
	struct insn *prog;
	int nprog, cap_prog;
};

/* ---- event types --------------------------------------------------------- */

static const char *type_name(unsigned t)
{
	const char *n = t && t < SF_EV_MAX ? sf_event_type_name(t) : NULL;

	return n && strcmp(n, "unknown") ? n : NULL;
}

unsigned filter_type_priority(unsigned type)
{
	const char *n = type_name(type);
	size_t cls;

	if (!n)
		return DEFAULT_PRIORITY;
	cls = strcspn(n, ".");
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++)
		if (!strcmp(priorities[i].name, n))
			return priorities[i].prio;
	for (size_t i = 0; i < sizeof(priorities) / sizeof(priorities[0]); i++)
		if (strlen(priorities[i].name) == cls &&
		    !strncmp(priorities[i].name, n, cls))
			return priorities[i].prio;
	return DEFAULT_PRIORITY;
}

/* EVM name matching on dotted components: "*" is any number of components,
 * "?" exactly one, and a pattern that matches a name's first components
 * matches the name (its descendants).  Case-insensitive. */
static bool comp_eq(const char *a, size_t al, const char *b, size_t bl)
{
	return al == bl && !strncasecmp(a, b, al);
}

static bool evm_match(const char *p, const char *n)
{
	size_t pl, nl;

	if (!*p)
		return true; /* pattern done: n is the name or a descendant */
	pl = strcspn(p, ".");
	if (pl == 1 && *p == '*') {
		const char *rest = p[1] ? p + 2 : p + 1;

		for (;;) {
			if (evm_match(rest, n))
				return true;
			if (!*n)
				return false;
			n += strcspn(n, ".");
			if (*n)
				n++;
		}
	}
	if (!*n)
		return false;
	nl = strcspn(n, ".");
	if (!(pl == 1 && *p == '?') && !comp_eq(p, pl, n, nl))
		return false;
	p += pl + (p[pl] == '.');
	n += nl + (n[nl] == '.');
	return evm_match(p, n);
}

/* ---- string globs ------------------------------------------------------ */

/* One character against a [...] class at p; returns the class's end (past
 * ']'), or NULL when the class is not closed (then '[' is literal). */
static const char *class_match(const char *p, char c, bool *hit)
{
	bool neg = false, found = false;
	const char *q = p + 1;

	if (*q == '!' || *q == '^')
		neg = true, q++;
	if (*q == ']')
		found |= c == ']', q++;
	while (*q && *q != ']') {
		char lo = *q, hi = *q;

		if (lo == '\\' && q[1])
			lo = hi = *++q;
		if (q[1] == '-' && q[2] && q[2] != ']') {
			hi = q[2];
			q += 2;
		}
		if ((unsigned char)c >= (unsigned char)lo &&
		    (unsigned char)c <= (unsigned char)hi)
			found = true;
		q++;
	}
	if (*q != ']')
		return NULL;
	*hit = found != neg;
	return q + 1;
}

/* Shell glob where '*' also spans '/'; s is len bytes, not NUL-terminated.
 * One backtrack point suffices: every other token takes one character. */
static bool glob_match(const char *p, const char *s, size_t len)
{
	const char *star_p = NULL;
	size_t i = 0, star_i = 0;

	while (i < len) {
		const char *next = NULL;
		bool hit = false;

		if (*p == '*') {
			star_p = ++p;
			star_i = i;
			continue;
		}
		if (*p == '?') {
			hit = true, next = p + 1;
		} else if (*p == '[' && (next = class_match(p, s[i], &hit))) {
			/* hit set */
		} else if (*p == '\\' && p[1]) {
			hit = p[1] == s[i], next = p + 2;
		} else if (*p) {
			hit = *p == s[i], next = p + 1;
		}
		if (hit) {
			p = next;
			i++;
			continue;
		}
		if (!star_p)
			return false;
		p = star_p;
		i = ++star_i;
	}
	while (*p == '*')
		p++;
	return !*p;
}

static bool term_str_match(const struct fterm *t, const char *s, size_t len)
{
	switch (t->match) {
	case M_EXACT:
		return len == t->patlen && !memcmp(s, t->pat, len);
	case M_PREFIX:
		return len >= t->patlen && !memcmp(s, t->pat, t->patlen);
	default:
		return glob_match(t->pat, s, len);
	}
}

static bool cmp_num(enum cmp_op op, int64_t a, int64_t b)
{
	switch (op) {
	case OP_EQ:
		return a == b;
	case OP_NE:
		return a != b;
	case OP_LT:
		return a < b;
	case OP_LE:
		return a <= b;
	case OP_GT:
		return a > b;
	default:
		return a >= b;
	}
}

/* A term on a value an accessor gave; an absent key fails every operator. */
static bool term_value(const struct fterm *t, const struct filter_value *v)
{
	if (v->kind == FILTER_NUM && t->kind == FILTER_NUM)
		return cmp_num(t->op, v->num, t->num);
	/* a field: `= 5` on a string field compares the text */
	if (v->kind == FILTER_STR && t->key == FILTER_KEY_FIELD &&
	    (t->op == OP_EQ || t->op == OP_NE)) {
		bool m = term_str_match(t, v->str, v->len);

		return t->op == OP_NE ? !m : m;
	}
	if (v->kind == FILTER_STR && t->kind == FILTER_STR) {
		bool m = term_str_match(t, v->str, v->len);

		return t->op == OP_NE ? !m : m;
	}
	return false;
}

static bool term_get(const struct fterm *t, filter_get_fn get, const void *ctx)
{
	char buf[SF_ARGV_MAX];
	struct filter_value v = {
		.kind = FILTER_ABSENT, .buf = buf, .bufsz = sizeof(buf)};

	if (!get)
		return false;
	get(ctx, t->key, t->arg, &v);
	return term_value(t, &v);
}

/* ---- parser -------------------------------------------------------------- */

struct parser {
	const char *s;
	size_t pos;
	const char *label;
	struct sf_error **err;
	struct filter *f;
	int depth;
	bool failed;
};

__attribute__((format(printf, 3, 4))) static int
perr(struct parser *p, size_t at, const char *fmt, ...)
{
	cleanup_free char *msg = NULL;
	unsigned line = 1, col = 1;
	bool lines = strchr(p->s, '\n') != NULL;
	va_list ap;

	if (p->failed)
		return -1;
	p->failed = true;
	for (size_t i = 0; i < at && p->s[i]; i++) {
		if (p->s[i] == '\n')
			line++, col = 1;
		else
			col++;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	if (lines)
		return sf_usage(p->err, "%s: line %u, column %u: %s", p->label,
				line, col, msg);
	return sf_usage(p->err, "%s: column %u: %s", p->label, col, msg);
}

static void skip_ws(struct parser *p)
{
	while (p->s[p->pos] && isspace((unsigned char)p->s[p->pos]))
		p->pos++;
}

static int new_node(struct parser *p, enum node_op op, int a, int b)
{
	struct filter *f = p->f;

	if (f->nnodes == f->cap_nodes) {
		f->cap_nodes = f->cap_nodes ? f->cap_nodes * 2 : 16;
		f->nodes = xrealloc(f->nodes, f->cap_nodes * sizeof(*f->nodes));
	}
	f->nodes[f->nnodes] = (struct fnode){.op = op, .a = a, .b = b};
	return f->nnodes++;
}

/* A word: letters, digits and _ . - (keywords, keys, operator words). */
static size_t word_len(const char *s)
{
	size_t n = 0;

	while (isalnum((unsigned char)s[n]) || s[n] == '_' || s[n] == '.' ||
	       s[n] == '-' || s[n] == '/')
		n++;
	return n;
}

static bool word_is(const char *s, size_t n, const char *kw)
{
	return strlen(kw) == n && !strncasecmp(s, kw, n);
}

/*
 * The named fields the decoder gives the newer event types (decode_sec.c;
 * docs/events.md), filtered by name.  A name here that no event carries
 * would be a filter that silently matches nothing: keep it in step with
 * decode_sec.c (tests/46-filter.bats checks that every name decode_sec.c
 * gives is a key here).
 */
static const char *const field_names[] = {
	"via",
	"opcode",
	"unresolved",
	"suppressed",
	"request",
	"target",
	"data",
	"bytes",
	"local_iovcnt",
	"remote_iovcnt",
	"ns_flags",
	"nstype",
	"fd_nstype",
	"source",
	"fstype",
	"mount_path",
	"new_root",
	"put_old",
	"from_path",
	"to_path",
	"fs_fd",
	"attr_flags",
	"mount_fd",
	"handle_type",
	"name",
	"params",
	"kernel_fd",
	"initrd_fd",
	"cmdline",
	"nr_segments",
	"entry",
	"cmd",
	"prog_type",
	"prog_name",
	"map_type",
	"map_name",
	"perf_type",
	"cpu",
	"group_fd",
	"config",
	"len",
	"prot",
	"value_len",
	"caps_effective",
	"oldfd",
	"newfd",
	"entries",
	"sq_thread_cpu",
	"nr_args",
	"operation",
	"key_type",
	"description",
	"payload_len",
	"keyring",
	"callout",
	"key",
	"exe",
	"exe_memfd",
	"exe_deleted",
	"exe_upper_layer",
	"exe_dev",
	"exe_ino",
	"exe_mtime",
	"exe_ctime",
	"cwd",
	/* file identity (bpf/ident.bpf.h) */
	"file_dev",
	"file_ino",
	"file_mode",
	"file_uid",
	"file_gid",
	"file_ctime",
	"file_generation",
	"file_fs",
	"file_mtime",
	"file_size",
	"file_f_flags",
	"file_fs_id",
	"file_fs_magic",
	"file_fs_uuid",
	"file_path_type",
	/* file.mmap_exec (bpf/mmap.bpf.h) */
	"file",
	"offset",
	"vm_start",
	"vm_end",
	/* an io_uring request without its result (bpf/uring.bpf.h) */
	"no_result",
	/* resolved paths (agent/encoders/decode_path.c) */
	"resolved",
	"resolved2",
	"host_path",
	"host_path2",
	"resolved_partial",
	"resolved_lexical",
	"deleted",
	/* also keys of the view (field.path: the type's own) */
	"addr",
	"family",
	"fd",
	"flags",
	"path",
	"port",
	"target_pid",
};

static const struct key_info *key_lookup(const char *s, size_t n,
					 const char **arg)
{
	*arg = NULL;
	if (n > 11 && !strncasecmp(s, "annotation.", 11)) {
		*arg = s + 11;
		return &keys[NKEYS - 1];
	}
	for (size_t i = 0; i < NKEYS - 1; i++)
		if (keys[i].key != FILTER_KEY_FIELD &&
		    word_is(s, n, keys[i].name))
			return &keys[i];
	/* field.NAME: any field, also one a key shadows (name: EVM's type) */
	if (n > 6 && !strncasecmp(s, "field.", 6))
		s += 6, n -= 6;
	for (size_t i = 0; i < sizeof(field_names) / sizeof(field_names[0]);
	     i++)
		if (word_is(s, n, field_names[i])) {
			*arg = field_names[i];
			for (size_t k = 0; k < NKEYS; k++)
				if (keys[k].key == FILTER_KEY_FIELD)
					return &keys[k];
		}
	return NULL;
}

const char *filter_key_name(enum filter_key key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].key == key)
			return keys[i].name;
	return "?";
}

const char *filter_key_names(void)
{
	static char names[1024];

	if (!names[0]) {
		size_t o = 0;

		for (size_t i = 0; i < NKEYS; i++) {
			const char *sep = i ? ", " : "";

			if (keys[i].key == FILTER_KEY_TYPE && i)
				continue; /* name: said with type */
			if (keys[i].key == FILTER_KEY_FIELD) {
				o += snprintf(
					names + o, sizeof(names) - o,
					"%sthe fields of the newer types (via, request, fstype, ..., or field.NAME: docs/filters.md)",
					sep);
				continue;
			}
			o += snprintf(names + o, sizeof(names) - o, "%s%s%s",
				      sep, keys[i].name,
				      keys[i].key == FILTER_KEY_TYPE ? " (name)"
								     : "");
		}
	}
	return names;
}

/* The operator after a key, if one is there; *len is its length. */
static int parse_op(const char *s, size_t *len)
{
	static const struct {
		const char *sym, *word;
		enum cmp_op op;
	} ops[] = {
		{"!=", "ne", OP_NE}, {"<=", "le", OP_LE}, {">=", "ge", OP_GE},
		{"==", "eq", OP_EQ}, {"=", NULL, OP_EQ},  {"<", "lt", OP_LT},
		{">", "gt", OP_GT},
	};
	size_t wl = word_len(s);

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].sym);

		if (!strncmp(s, ops[i].sym, n)) {
			*len = n;
			return ops[i].op;
		}
		/* a word operator only when a value follows it */
		if (ops[i].word && word_is(s, wl, ops[i].word) &&
		    isspace((unsigned char)s[wl])) {
			const char *v = s + wl;

			while (isspace((unsigned char)*v))
				v++;
			if (*v && *v != ']') {
				*len = wl;
				return ops[i].op;
			}
		}
	}
	return -1;
}

/* A value: "quoted" (\" and \\ escapes), 'quoted' (no escapes), or the
 * characters up to a blank or ']'.  Returns a new string, NULL on error. */
static char *parse_value(struct parser *p, const char *keyname)
{
	const char *s = p->s;
	size_t start = p->pos;
	char q = s[p->pos];

	if (q == '"' || q == '\'') {
		size_t o = 0, i = p->pos + 1;
		char *v = xmalloc(strlen(s + i) + 1);

		for (; s[i] && s[i] != q; i++) {
			if (q == '"' && s[i] == '\\' &&
			    (s[i + 1] == '"' || s[i + 1] == '\\'))
				i++;
			v[o++] = s[i];
		}
		if (!s[i]) {
			free(v);
			perr(p, start, "unterminated quote (%c) in the value",
			     q);
			return NULL;
		}
		v[o] = 0;
		p->pos = i + 1;
		return v;
	}
	while (s[p->pos] && !isspace((unsigned char)s[p->pos]) &&
	       s[p->pos] != ']')
		p->pos++;
	if (p->pos == start) {
		perr(p, start, "expected a value for `%s`", keyname);
		return NULL;
	}
	return xstrndup(s + start, p->pos - start);
}

static int parse_number(const char *v, int64_t *out)
{
	char *end;
	long long n;

	errno = 0;
	if (!strncasecmp(v, "0x", 2) || !strncasecmp(v, "-0x", 3))
		n = strtoll(v, &end, 16);
	else
		n = strtoll(v, &end, 10);
	if (errno || end == v || *end)
		return -1;
	*out = n;
	return 0;
}

static bool any_type(const bool *by_type)
{
	for (unsigned t = 0; t < FILTER_MAX_TYPES; t++)
		if (by_type[t])
			return true;
	return false;
}

/* "process, file, net, ..." */
static void type_classes(char *buf, size_t sz)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned t = 1; t < SF_EV_MAX; t++) {
		const char *n = type_name(t);
		size_t cl;
		bool seen = false;

		if (!n)
			continue;
		cl = strcspn(n, ".");
		for (unsigned u = 1; u < t && !seen; u++) {
			const char *m = type_name(u);

			seen = m && strcspn(m, ".") == cl && !strncmp(m, n, cl);
		}
		if (!seen && o < sz)
			o += snprintf(buf + o, sz - o, "%s%.*s", o ? ", " : "",
				      (int)cl, n);
	}
}

/* type and priority: decided by the event type, so evaluated once per type */
static int compile_type_term(struct parser *p, struct fterm *t, size_t at)
{
	if (t->key == FILTER_KEY_TYPE) {
		char classes[512];

		for (unsigned ty = 1; ty < SF_EV_MAX; ty++) {
			const char *n = type_name(ty);

			t->by_type[ty] = n && evm_match(t->pat, n);
		}
		if (!any_type(t->by_type)) {
			type_classes(classes, sizeof(classes));
			return perr(
				p, at,
				"type `%s` matches no event type (classes: %s; see docs/events.md)",
				t->pat, classes);
		}
		if (t->op == OP_NE)
			for (unsigned ty = 1; ty < SF_EV_MAX; ty++)
				t->by_type[ty] = !t->by_type[ty];
		return 0;
	}
	for (unsigned ty = 1; ty < SF_EV_MAX; ty++)
		t->by_type[ty] =
			type_name(ty) &&
			cmp_num(t->op, filter_type_priority(ty), t->num);
	return 0;
}

static int compile_value(struct parser *p, struct fterm *t,
			 const struct key_info *ki, char *v, size_t at)
{
	t->pat = v;
	t->patlen = strlen(v);
	if (ki->key == FILTER_KEY_TYPE && t->op != OP_EQ && t->op != OP_NE)
		return perr(
			p, at,
			"`type` compares with = or != only (names are not ordered)");
	if (ki->key == FILTER_KEY_FIELD) {
		/* a number when it reads as one, else only = and != */
		t->kind = parse_number(v, &t->num) == 0 ? FILTER_NUM
							: FILTER_STR;
		if (t->kind == FILTER_STR && t->op != OP_EQ && t->op != OP_NE)
			return perr(
				p, at,
				"`%s` is not a number: `%s` compares with it by = or != only",
				v, t->arg);
	} else if (ki->kind == FILTER_NUM) {
		if (parse_number(v, &t->num) < 0)
			return perr(p, at,
				    "`%s` is not a number (`%s` is numeric)", v,
				    ki->name);
	} else if (t->op != OP_EQ && t->op != OP_NE) {
		return perr(
			p, at,
			"`%s` is a string: it compares with = or != (shell globs), not with an order",
			ki->name);
	}
	if (strpbrk(v, "?[\\"))
		t->match = M_GLOB;
	else if (strchr(v, '*'))
		t->match = strchr(v, '*') == v + t->patlen - 1 ? M_PREFIX
							       : M_GLOB;
	else
		t->match = M_EXACT;
	if (t->match == M_PREFIX)
		t->patlen--;
	if (ki->cls == KC_TYPE)
		return compile_type_term(p, t, at);
	return 0;
}

/* '[' already consumed */
static int parse_term(struct parser *p)
{
	const char *s = p->s, *arg;
	const struct key_info *ki;
	struct fterm *t;
	size_t kstart, klen, oplen = 0, vat;
	int op;
	char *v;

	skip_ws(p);
	kstart = p->pos;
	klen = word_len(s + kstart);
	if (!klen)
		return perr(p, kstart, "expected a key after '[' (%s)",
			    filter_key_names());
	ki = key_lookup(s + kstart, klen, &arg);
	if (!ki)
		return perr(p, kstart, "unknown key `%.*s`: valid keys are %s",
			    (int)klen, s + kstart, filter_key_names());
	if (p->f->nterms >= FILTER_MAX_TERMS)
		return perr(p, kstart, "more than %d terms", FILTER_MAX_TERMS);
	p->pos += klen;
	skip_ws(p);
	op = parse_op(s + p->pos, &oplen);
	if (op < 0)
		op = OP_EQ;
	p->pos += oplen;
	skip_ws(p);
	vat = p->pos;
	if (s[vat] == ']' || !s[vat])
		return perr(p, vat, "expected a value for `%.*s`", (int)klen,
			    s + kstart);
	v = parse_value(p, ki->name);
	if (!v)
		return -1;
	t = &p->f->terms[p->f->nterms++];
	memset(t, 0, sizeof(*t));
	t->key = ki->key;
	t->cls = ki->cls;
	t->kind = ki->kind;
	t->op = op;
	if (arg)
		t->arg = ki->key == FILTER_KEY_ANNOTATION
				 ? xstrndup(arg, klen - 11)
				 : xstrdup(arg);
	if (compile_value(p, t, ki, v, vat) < 0)
		return -1;
	if (ki->cls == KC_EVENT)
		p->f->has_event_keys = true;
	skip_ws(p);
	if (s[p->pos] != ']')
		return perr(p, p->pos, "expected ']' after value");
	p->pos++;
	return new_node(p, N_TERM, p->f->nterms - 1, 0);
}

static int parse_or(struct parser *p);

static int parse_unary(struct parser *p)
{
	const char *s = p->s;
	size_t at, wl;
	int n;

	skip_ws(p);
	at = p->pos;
	if (++p->depth > FILTER_MAX_DEPTH)
		return perr(p, at, "nested deeper than %d", FILTER_MAX_DEPTH);
	switch (s[at]) {
	case '!':
		p->pos++;
		n = parse_unary(p);
		n = n < 0 ? n : new_node(p, N_NOT, n, 0);
		break;
	case '(':
		p->pos++;
		n = parse_or(p);
		if (n < 0)
			break;
		skip_ws(p);
		if (s[p->pos] != ')') {
			n = perr(p, p->pos,
				 "expected ')' to close the '(' at column %zu",
				 at + 1);
			break;
		}
		p->pos++;
		break;
	case '[':
		p->pos++;
		n = parse_term(p);
		break;
	default:
		wl = word_len(s + at);
		if (word_is(s + at, wl, "all") || word_is(s + at, wl, "none")) {
			p->pos += wl;
			n = new_node(
				p, word_is(s + at, wl, "all") ? N_ALL : N_NONE,
				0, 0);
			break;
		}
		if (!s[at])
			n = perr(
				p, at,
				"expected a term: '[KEY OP VALUE]', '(', '!', all or none");
		else
			n = perr(
				p, at,
				"expected '[KEY OP VALUE]', '(', '!', all or none, not `%.*s`",
				wl ? (int)wl : 1, s + at);
		break;
	}
	p->depth--;
	return n;
}

static int parse_and(struct parser *p)
{
	int l = parse_unary(p);

	while (l >= 0) {
		skip_ws(p);
		if (p->s[p->pos] != '&')
			break;
		p->pos++;
		int r = parse_unary(p);

		l = r < 0 ? r : new_node(p, N_AND, l, r);
	}
	return l;
}

static int parse_or(struct parser *p)
{
	int l = parse_and(p);

	while (l >= 0) {
		skip_ws(p);
		if (p->s[p->pos] != '|')
			break;
		p->pos++;
		int r = parse_and(p);

		l = r < 0 ? r : new_node(p, N_OR, l, r);
	}
	return l;
}

/* Blanks squeezed: what stream.start records. */
static char *squeeze(const char *s)
{
	char *o = xmalloc(strlen(s) + 1), *w = o;
	char q = 0;

	while (isspace((unsigned char)*s))
		s++;
	for (; *s; s++) {
		if (q) {
			if (*s == q)
				q = 0;
			else if (q == '"' && *s == '\\' && s[1])
				*w++ = *s++;
			*w++ = *s;
			continue;
		}
		if (*s == '"' || *s == '\'')
			q = *s;
		if (isspace((unsigned char)*s)) {
			while (isspace((unsigned char)s[1]))
				s++;
			if (!s[1])
				break;
			*w++ = ' ';
			continue;
		}
		*w++ = *s;
	}
	*w = 0;
	return o;
}

static struct filter *parse(const char *text, const char *label, size_t max_len,
			    struct sf_error **err)
{
	struct parser p = {.s = text, .label = label, .err = err};
	struct filter *f;
	size_t n = strlen(text);
	int root;

	if (n > max_len) {
		sf_usage(err,
			 "%s: %zu bytes, longer than the %d a filter may have",
			 label, n, FILTER_MAX_LEN);
		return NULL;
	}
	f = xzalloc(sizeof(*f));
	f->terms = xzalloc(FILTER_MAX_TERMS * sizeof(*f->terms));
	p.f = f;
	skip_ws(&p);
	if (!text[p.pos]) {
		perr(&p, p.pos,
		     "empty filter: write all, none or terms like [type file]");
		filter_free(f);
		return NULL;
	}
	root = parse_or(&p);
	skip_ws(&p);
	if (root >= 0 && text[p.pos]) {
		if (text[p.pos] == ')')
			perr(&p, p.pos, "`)` without a '(' before it");
		else
			perr(&p, p.pos,
			     "expected '&', '|' or the end after a term, not `%c`",
			     text[p.pos]);
		root = -1;
	}
	if (root < 0) {
		filter_free(f);
		return NULL;
	}
	f->root = root;
	f->text = squeeze(text);
	return f;
}

struct filter *filter_parse(const char *text, const char *label,
			    struct sf_error **err)
{
	return parse(text, label, FILTER_MAX_LEN, err);
}

struct filter *filter_and(const struct filter *a, const struct filter *b,
			  struct sf_error **err)
{
	cleanup_free char *text = xasprintf("(%s) & (%s)", a->text, b->text);

	/* both were within the bounds alone; only the term count can fail */
	return parse(text, "filter", SIZE_MAX, err);
}

/* Comments ('#' at a line's start or after a blank, outside quotes, to the
 * end of the line) become blanks, so columns stay where the file has them. */
static void strip_comments(char *s)
{
	char q = 0;

	for (char *c = s; *c; c++) {
		if (q) {
			if (*c == q)
				q = 0;
			else if (q == '"' && *c == '\\' && c[1])
				c++;
			continue;
		}
		if (*c == '"' || *c == '\'') {
			q = *c;
		} else if (*c == '#' &&
			   (c == s || isspace((unsigned char)c[-1]))) {
			while (*c && *c != '\n')
				*c++ = ' ';
			if (!*c)
				break;
		}
	}
}

struct filter *filter_parse_arg(const char *arg, const char *label,
				struct sf_error **err)
{
	cleanup_free char *buf = NULL;
	cleanup_free char *lab = NULL;
	size_t len;

	if (arg[0] != '@')
		return filter_parse(arg, label, err);
	if (read_file(arg + 1, &buf, &len, FILTER_FILE_MAX, err) < 0) {
		(*err)->status = SF_EXIT_USAGE;
		sf_error_wrap(err, "%s: %s", label, arg);
		return NULL;
	}
	if (memchr(buf, 0, len)) {
		sf_usage(err, "%s: `%s` holds a NUL byte: not a filter file",
			 label, arg + 1);
		return NULL;
	}
	strip_comments(buf);
	lab = xasprintf("%s: %s", label, arg + 1);
	return filter_parse(buf, lab, err);
}

void filter_free(struct filter *f)
{
	if (!f)
		return;
	for (int i = 0; i < f->nterms; i++) {
		free(f->terms[i].pat);
		free(f->terms[i].arg);
	}
	free(f->terms);
	free(f->nodes);
	free(f->text);
	free(f);
}

const char *filter_text(const struct filter *f)
{
	return f->text;
}

bool filter_is_static(const struct filter *f)
{
	return !f->has_event_keys;
}

const char *filter_event_key(const struct filter *f)
{
	for (int i = 0; i < f->nterms; i++)
		if (f->terms[i].cls == KC_EVENT)
			return f->terms[i].arg
				       ? f->terms[i].arg
				       : filter_key_name(f->terms[i].key);
	return NULL;
}

bool filter_uses_key(const struct filter *f, enum filter_key key)
{
	for (int i = 0; i < f->nterms; i++)
		if (f->terms[i].key == key)
			return true;
	return false;
}

/* ---- evaluation ---------------------------------------------------------- */

/* Both `[KEY = V]` with the same key and value (the one forced false). */
static bool same_eq(const struct fterm *a, const struct fterm *b)
{
	return a == b || (a->key == b->key && a->op == OP_EQ &&
			  b->op == OP_EQ && a->match == M_EXACT &&
			  b->match == M_EXACT && !strcmp(a->pat, b->pat) &&
			  (a->kind != FILTER_NUM || a->num == b->num));
}

/* Three-valued (Kleene) evaluation with the type and the stream known and
 * the event's own keys unknown (2).  "False" here is what the kernel may
 * drop: no value of the event's keys could make the filter pass. */
static int eval3(const struct filter_plan *p, int n, unsigned type, int force)
{
	const struct fnode *nd = &p->f->nodes[n];
	const struct fterm *t;
	int l, r;

	switch (nd->op) {
	case N_ALL:
		return 1;
	case N_NONE:
		return 0;
	case N_NOT:
		l = eval3(p, nd->a, type, force);
		return l == 2 ? 2 : !l;
	case N_AND:
		l = eval3(p, nd->a, type, force);
		if (l == 0)
			return 0;
		r = eval3(p, nd->b, type, force);
		return r == 0 ? 0 : (l == 2 || r == 2) ? 2 : 1;
	case N_OR:
		l = eval3(p, nd->a, type, force);
		if (l == 1)
			return 1;
		r = eval3(p, nd->b, type, force);
		return r == 1 ? 1 : (l == 2 || r == 2) ? 2 : 0;
	default:
		t = &p->f->terms[nd->a];
		if (force >= 0 && same_eq(t, &p->f->terms[force]))
			return 0;
		if (t->cls == KC_TYPE)
			return t->by_type[type];
		if (t->cls == KC_STREAM)
			return p->stream_val[nd->a];
		return 2;
	}
}

/* Emits node n for type with its continuations; returns its entry. */
static int compile(struct filter_plan *p, int n, unsigned type, int on_true,
		   int on_false)
{
	const struct fnode *nd = &p->f->nodes[n];
	const struct fterm *t;
	int b;

	switch (nd->op) {
	case N_ALL:
		return on_true;
	case N_NONE:
		return on_false;
	case N_NOT:
		return compile(p, nd->a, type, on_false, on_true);
	case N_AND:
		b = compile(p, nd->b, type, on_true, on_false);
		return compile(p, nd->a, type, b, on_false);
	case N_OR:
		b = compile(p, nd->b, type, on_true, on_false);
		return compile(p, nd->a, type, on_true, b);
	default:
		t = &p->f->terms[nd->a];
		if (t->cls == KC_TYPE)
			return t->by_type[type] ? on_true : on_false;
		if (t->cls == KC_STREAM)
			return p->stream_val[nd->a] ? on_true : on_false;
		if (p->nprog == p->cap_prog) {
			p->cap_prog = p->cap_prog ? 2 * p->cap_prog : 16;
			p->prog = xrealloc(p->prog,
					   p->cap_prog * sizeof(*p->prog));
		}
		p->prog[p->nprog] = (struct insn){nd->a, on_true, on_false};
		return p->nprog++;
	}
}

struct filter_plan *filter_bind(const struct filter *f, filter_get_fn get,
				const void *ctx)
{
	struct filter_plan *p = xzalloc(sizeof(*p));

	p->f = f;
	p->stream_val = xzalloc(f->nterms ? f->nterms : 1);
	for (int i = 0; i < f->nterms; i++)
		if (f->terms[i].cls == KC_STREAM)
			p->stream_val[i] = term_get(&f->terms[i], get, ctx);
	for (unsigned t = 0; t < FILTER_MAX_TYPES; t++) {
		int v = t && type_name(t) ? eval3(p, f->root, t, -1) : 0;

		p->verdict[t] = v == 0	 ? FILTER_NEVER
				: v == 1 ? FILTER_ALWAYS
					 : FILTER_MAYBE;
		if (p->verdict[t] == FILTER_MAYBE)
			p->entry[t] =
				compile(p, f->root, t, GO_ACCEPT, GO_REJECT);
	}
	return p;
}

/* Term i as the kernel can test it: `=` on uid, pid or comm, exactly. */
static bool pushable(const struct fterm *t)
{
	if (t->op != OP_EQ)
		return false;
	switch (t->key) {
	case FILTER_KEY_UID:
	case FILTER_KEY_PID:
		return t->num >= 0 && t->num <= UINT32_MAX;
	case FILTER_KEY_COMM:
		return t->match == M_EXACT && t->patlen < 16;
	default:
		return false;
	}
}

bool filter_plan_implied(const struct filter_plan *p, enum filter_key key,
			 int64_t *num, const char **str)
{
	const struct filter *f = p->f;

	for (int i = 0; i < f->nterms; i++) {
		bool never = true;

		if (f->terms[i].key != key || !pushable(&f->terms[i]))
			continue;
		/* implied: with the term false, no type can pass */
		for (unsigned t = 1; t < FILTER_MAX_TYPES && never; t++)
			never = !type_name(t) || !eval3(p, f->root, t, i);
		if (!never)
			continue;
		*num = f->terms[i].num;
		*str = f->terms[i].pat;
		return true;
	}
	return false;
}

const struct filter *filter_plan_filter(const struct filter_plan *p)
{
	return p->f;
}

void filter_plan_free(struct filter_plan *p)
{
	if (!p)
		return;
	free(p->stream_val);
	free(p->prog);
	free(p);
}

enum filter_verdict filter_plan_verdict(const struct filter_plan *p,
					unsigned type)
{
	if (!p)
		return FILTER_ALWAYS;
	return type < FILTER_MAX_TYPES ? p->verdict[type] : FILTER_NEVER;
}

bool filter_plan_eval(const struct filter_plan *p, unsigned type,
		      filter_get_fn get, const void *ctx)
{
	int i;

	if (!p)
		return true;
	if (type >= FILTER_MAX_TYPES)
		return false;
	switch (p->verdict[type]) {
	case FILTER_NEVER:
		return false;
	case FILTER_ALWAYS:
		return true;
	default:
		break;
	}
	i = p->entry[type];
	while (i >= 0) {
		const struct insn *in = &p->prog[i];

		i = term_get(&p->f->terms[in->term], get, ctx) ? in->on_true
							       : in->on_false;
	}
	return i == GO_ACCEPT;
}

bool filter_eval_stream(const struct filter *f, filter_get_fn get,
			const void *ctx)
{
	struct filter_plan *p = filter_bind(f, get, ctx);
	bool pass = false;

	/* no event: pass when some type could pass on the stream's keys */
	for (unsigned t = 1; t < FILTER_MAX_TYPES && !pass; t++)
		pass = p->verdict[t] != FILTER_NEVER;
	filter_plan_free(p);
	return pass;
}
