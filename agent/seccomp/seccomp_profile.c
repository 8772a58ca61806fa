// SPDX-License-Identifier: GPL-2.0
#include "seccomp_profile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"

/* The native architecture's compat (32-bit) architecture, if it has one. */
#if defined(__x86_64__)
#define NATIVE_ARCH_NAME "SCMP_ARCH_X86_64"
#define COMPAT_ARCH	 SCMP_ARCH_X86
#define COMPAT_ARCH_NAME "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define NATIVE_ARCH_NAME "SCMP_ARCH_AARCH64"
#define COMPAT_ARCH	 SCMP_ARCH_ARM
#define COMPAT_ARCH_NAME "SCMP_ARCH_ARM"
#else
#error "seccomp profiles: add this architecture's libseccomp names"
#endif

/* A profile is written only this big at most: far more than any real one. */
#define PROFILE_MAX	 (4u << 20)
#define BASE_PROFILE_MAX (1u << 20)

struct name_set {
	char **v;
	size_t n, cap;
};

static void name_set_add(struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	s->v[s->n++] = xstrdup(name);
}

static bool name_set_has(const struct name_set *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], name))
			return true;
	return false;
}

static void name_set_free(struct name_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}
#define cleanup_name_set __attribute__((cleanup(name_set_free)))

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool bit_set(const __u64 *bits, unsigned nr)
{
	return bits[nr / 64] >> (nr % 64) & 1;
}

/* The names of the syscalls the record has, both numberings. */
static void observed_names(const struct sf_seccomp_bits *r,
			   struct name_set *out,
			   struct seccomp_profile_result *res)
{
	for (unsigned nr = 0; nr < SF_SECCOMP_NR_MAX; nr++) {
		char *name;

		if (bit_set(r->native, nr)) {
			name = seccomp_syscall_resolve_num_arch(
				SCMP_ARCH_NATIVE, (int)nr);
			if (name)
				name_set_add(out, name);
			else
				res->unnamed++;
			free(name);
		}
		if (bit_set(r->compat, nr)) {
			res->compat = true;
			name = seccomp_syscall_resolve_num_arch(COMPAT_ARCH,
								(int)nr);
			if (name)
				name_set_add(out, name);
			else
				res->unnamed++;
			free(name);
		}
	}
}

/* What a base profile decides: the names its rules allow unconditionally,
 * allow with conditions, or deny.  A name it has any rule for is its
 * decision, never widened here. */
struct base_rules {
	struct name_set allowed, denied, conditional;
	bool default_allows;
};

static void base_rules_free(struct base_rules *b)
{
	name_set_free(&b->allowed);
	name_set_free(&b->denied);
	name_set_free(&b->conditional);
}
#define cleanup_base_rules __attribute__((cleanup(base_rules_free)))

static void base_rule_names(yajl_val rule, struct name_set *into)
{
	yajl_val names = json_get(rule, "names");
	const char *one = json_get_str(rule, "name");

	if (one)
		name_set_add(into, one);
	if (!YAJL_IS_ARRAY(names))
		return;
	for (size_t i = 0; i < names->u.array.len; i++)
		if (YAJL_IS_STRING(names->u.array.values[i]))
			name_set_add(into,
				     YAJL_GET_STRING(names->u.array.values[i]));
}

static int base_rules_read(yajl_val base, struct base_rules *b,
			   struct sf_error **err)
{
	const char *def = json_get_str(base, "defaultAction");
	yajl_val rules = json_get(base, "syscalls");

	if (!YAJL_IS_OBJECT(base) || !def)
		return sf_usage(
			err,
			"base seccomp profile: no \"defaultAction\" (write an OCI seccomp profile: {\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[...]})");
	if (rules && !YAJL_IS_ARRAY(rules))
		return sf_usage(
			err,
			"base seccomp profile: \"syscalls\" is not an array of rules");
	b->default_allows = !strcmp(def, "SCMP_ACT_ALLOW") ||
			    !strcmp(def, "SCMP_ACT_LOG");
	for (size_t i = 0; rules && i < rules->u.array.len; i++) {
		yajl_val rule = rules->u.array.values[i];
		const char *action = json_get_str(rule, "action");
		yajl_val args = json_get(rule, "args");
		bool allow = action && (!strcmp(action, "SCMP_ACT_ALLOW") ||
					!strcmp(action, "SCMP_ACT_LOG"));
		bool cond = (YAJL_IS_ARRAY(args) && args->u.array.len) ||
			    json_get(rule, "includes") ||
			    json_get(rule, "excludes");

		if (!YAJL_IS_OBJECT(rule) || !action)
			return sf_usage(
				err,
				"base seccomp profile: rule %zu has no \"action\"",
				i + 1);
		base_rule_names(rule, !allow ? &b->denied
				      : cond ? &b->conditional
					     : &b->allowed);
	}
	return 0;
}

/* Compiles the rule set with libseccomp: every name must resolve for the
 * listed architectures and the filter must build. */
static int validate(const struct name_set *allow, bool compat,
		    struct sf_error **err)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc = 0, fd = -1;

	if (!ctx)
		return sf_fail(
			err, ENOMEM,
			"seccomp profile: libseccomp could not start a filter");
	if (compat && seccomp_arch_add(ctx, COMPAT_ARCH) < 0) {
		rc = sf_fail(
			err, 0,
			"seccomp profile: libseccomp cannot add the compat architecture %s",
			COMPAT_ARCH_NAME);
		goto out;
	}
	for (size_t i = 0; i < allow->n; i++) {
		int nr = seccomp_syscall_resolve_name(allow->v[i]);

		if (nr == __NR_SCMP_ERROR && compat)
			nr = seccomp_syscall_resolve_name_arch(COMPAT_ARCH,
							       allow->v[i]);
		if (nr == __NR_SCMP_ERROR) {
			rc = sf_usage(
				err,
				"seccomp profile: syscall `%s` is unknown to libseccomp for the listed architectures",
				allow->v[i]);
			goto out;
		}
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			rc = sf_fail(
				err, 0,
				"seccomp profile: libseccomp refuses a rule for `%s`",
				allow->v[i]);
			goto out;
		}
	}
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0)
		rc = sf_fail(err, errno,
			     "seccomp profile: the filter does not compile");
out:
	if (fd >= 0)
		close(fd);
	seccomp_release(ctx);
	return rc;
}

static void gen_names(yajl_gen g, struct name_set *s)
{
	qsort(s->v, s->n, sizeof(*s->v), cmp_str);
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s->n; i++)
		json_gen_str(g, s->v[i]);
	yajl_gen_array_close(g);
}

static void gen_uring_note(yajl_gen g, const struct sf_seccomp_bits *r)
{
	char buf[1024];
	size_t o;

	o = (size_t)snprintf(
		buf, sizeof(buf),
		"io_uring_setup is allowed: io_uring requests bypass seccomp; opcodes the workload submitted:");
	for (unsigned op = 0; op < SF_SECCOMP_URING_MAX && o < sizeof(buf) - 8;
	     op++)
		if (bit_set(r->uring, op))
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, " %u",
					      op);
	json_gen_str(g, "comment");
	json_gen_str(g, buf);
}

/* The allow rule sfagent adds, and the note on what the base blocks. */
static void gen_rules(yajl_gen g, const struct sf_seccomp_bits *r,
		      struct name_set *allow, struct name_set *blocked,
		      const struct seccomp_profile_result *res)
{
	char note[128];

	if (allow->n) {
		yajl_gen_map_open(g);
		json_gen_str(g, "names");
		gen_names(g, allow);
		json_gen_str(g, "action");
		json_gen_str(g, "SCMP_ACT_ALLOW");
		if (res->io_uring) {
			gen_uring_note(g, r);
		} else {
			snprintf(
				note, sizeof(note),
				"recorded by sfagent: %zu syscalls the workload made",
				allow->n);
			json_gen_str(g, "comment");
			json_gen_str(g, note);
		}
		yajl_gen_map_close(g);
	}
	if (blocked->n) {
		/* A rule that changes nothing (the base denies these anyway)
		 * and says which observed syscalls stay denied. */
		yajl_gen_map_open(g);
		json_gen_str(g, "names");
		gen_names(g, blocked);
		json_gen_str(g, "action");
		json_gen_str(g, "SCMP_ACT_ERRNO");
		json_gen_str(g, "errnoRet");
		yajl_gen_integer(g, EPERM);
		json_gen_str(g, "comment");
		json_gen_str(
			g,
			"observed by sfagent, denied by the base profile: they stay denied");
		yajl_gen_map_close(g);
	}
}

static void gen_arches(yajl_gen g, yajl_val base, bool compat)
{
	yajl_val arches = json_get(base, "architectures");
	cleanup_name_set struct name_set s = {};

	name_set_add(&s, NATIVE_ARCH_NAME);
	if (compat)
		name_set_add(&s, COMPAT_ARCH_NAME);
	for (size_t i = 0; YAJL_IS_ARRAY(arches) && i < arches->u.array.len;
	     i++)
		if (YAJL_IS_STRING(arches->u.array.values[i]))
			name_set_add(
				&s, YAJL_GET_STRING(arches->u.array.values[i]));
	yajl_gen_array_open(g);
	for (size_t i = 0; i < s.n; i++)
		json_gen_str(g, s.v[i]);
	yajl_gen_array_close(g);
}

/* Writes the profile: the base's keys as they are (its rules first), our
 * architectures and rules added. */
static void gen_profile(yajl_gen g, yajl_val base,
			const struct sf_seccomp_bits *r, struct name_set *allow,
			struct name_set *blocked,
			const struct seccomp_profile_result *res)
{
	yajl_val rules = json_get(base, "syscalls");

	yajl_gen_map_open(g);
	json_gen_str(g, "defaultAction");
	if (base) {
		json_gen_str(g, json_get_str(base, "defaultAction"));
	} else {
		json_gen_str(g, "SCMP_ACT_ERRNO");
		json_gen_str(g, "defaultErrnoRet");
		yajl_gen_integer(g, EPERM);
	}
	for (size_t i = 0; base && i < base->u.object.len; i++) {
		const char *k = base->u.object.keys[i];

		if (!strcmp(k, "defaultAction") ||
		    !strcmp(k, "architectures") || !strcmp(k, "syscalls"))
			continue;
		json_gen_str(g, k);
		json_gen_tree(g, base->u.object.values[i]);
	}
	json_gen_str(g, "architectures");
	gen_arches(g, base, res->compat);
	json_gen_str(g, "syscalls");
	yajl_gen_array_open(g);
	for (size_t i = 0; YAJL_IS_ARRAY(rules) && i < rules->u.array.len; i++)
		json_gen_tree(g, rules->u.array.values[i]);
	gen_rules(g, r, allow, blocked, res);
	yajl_gen_array_close(g);
	yajl_gen_map_close(g);
}

int seccomp_profile_build(const struct sf_seccomp_bits *r,
			  const char *base_json, char **out, size_t *len,
			  struct seccomp_profile_result *res,
			  struct sf_error **err)
{
	cleanup_yajl_val yajl_val base = NULL;
	cleanup_yajl_gen yajl_gen g = NULL;
	cleanup_name_set struct name_set seen = {}, allow = {}, blocked = {},
					 check = {};
	cleanup_base_rules struct base_rules b = {};

	memset(res, 0, sizeof(*res));
	if (base_json) {
		base = json_parse(base_json, "base seccomp profile", err);
		if (!base || base_rules_read(base, &b, err) < 0)
			return -1;
	}
	observed_names(r, &seen, res);
	for (size_t i = 0; i < seen.n; i++) {
		const char *n = seen.v[i];

		if (name_set_has(&b.denied, n))
			name_set_add(&blocked, n);
		else if (!base ||
			 (!b.default_allows && !name_set_has(&b.allowed, n) &&
			  !name_set_has(&b.conditional, n)))
			name_set_add(&allow, n);
	}
	res->allowed = (unsigned)allow.n;
	res->blocked = (unsigned)blocked.n;
	res->io_uring =
		name_set_has(&allow, "io_uring_setup") ||
		name_set_has(&b.allowed, "io_uring_setup") ||
		(b.default_allows && name_set_has(&seen, "io_uring_setup"));
	/* What the profile allows unconditionally must compile. */
	for (size_t i = 0; i < allow.n; i++)
		name_set_add(&check, allow.v[i]);
	for (size_t i = 0; i < b.allowed.n; i++)
		name_set_add(&check, b.allowed.v[i]);
	if (validate(&check, res->compat, err) < 0)
		return -1;

	g = json_gen_new();
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_config(g, yajl_gen_indent_string, "  ");
	gen_profile(g, base, r, &allow, &blocked, res);
	*out = json_gen_take(g, len);
	/* yajl_gen's statuses in one check: what was written must read back
	 * as JSON, or nothing is written */
	{
		cleanup_yajl_val yajl_val back =
			json_parse(*out, "generated seccomp profile", err);

		if (!back) {
			free(steal_pointer(out));
			return sf_error_wrap(err, "seccomp profile");
		}
	}
	if (*len + 1 > PROFILE_MAX) {
		free(steal_pointer(out));
		return sf_fail(err, 0, "seccomp profile: over %u bytes",
			       PROFILE_MAX);
	}
	*out = xrealloc(*out, *len + 2);
	(*out)[(*len)++] = '\n';
	(*out)[*len] = 0;
	return 0;
}

static bool plain_name(const char *name)
{
	return name[0] && !strchr(name, '/') && strcmp(name, ".") &&
	       strcmp(name, "..") && strlen(name) < NAME_MAX;
}

int seccomp_profile_parse_mode(const char *value, char **base,
			       struct sf_error **err)
{
	*base = NULL;
	if (!strcmp(value, "record"))
		return 0;
	if (!strncmp(value, "record:", 7)) {
		if (!plain_name(value + 7))
			return sf_usage(
				err,
				"io.sfagent.seccomp: base profile `%s` must be a file name in the agent's --seccomp-dir (no '/')",
				value + 7);
		*base = xstrdup(value + 7);
		return 0;
	}
	return sf_usage(
		err,
		"io.sfagent.seccomp: unknown mode `%s` (use record or record:BASE)",
		value);
}

int seccomp_profile_read_base(const char *dir, const char *name, char **out,
			      struct sf_error **err)
{
	cleanup_close int dfd = -1, fd = -1;
	struct stat st;
	size_t n = 0;
	char *buf;

	if (!plain_name(name))
		return sf_usage(
			err,
			"base seccomp profile `%s`: must be a file name in %s",
			name, dir);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sf_fail(
			err, errno,
			"seccomp profile directory %s: %s (create it or set --seccomp-dir)",
			dir, strerror(errno));
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return sf_fail(err, errno, "base seccomp profile %s/%s: %s",
			       dir, name, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sf_fail(err, 0,
			       "base seccomp profile %s/%s: not a regular file",
			       dir, name);
	if ((size_t)st.st_size > BASE_PROFILE_MAX)
		return sf_fail(err, 0,
			       "base seccomp profile %s/%s: over %u bytes", dir,
			       name, BASE_PROFILE_MAX);
	buf = xmalloc((size_t)st.st_size + 1);
	while (n < (size_t)st.st_size) {
		ssize_t k = read(fd, buf + n, (size_t)st.st_size - n);

		if (k <= 0) {
			free(buf);
			return sf_fail(
				err, errno,
				"base seccomp profile %s/%s: read failed", dir,
				name);
		}
		n += (size_t)k;
	}
	buf[n] = 0;
	if (memchr(buf, 0, n)) {
		free(buf);
		return sf_usage(
			err,
			"base seccomp profile %s/%s: is not valid JSON (a NUL byte)",
			dir, name);
	}
	*out = buf;
	return 0;
}

int seccomp_profile_write_at(int dirfd, const char *name, const char *buf,
			     size_t len, struct sf_error **err)
{
	cleanup_free char *tmp = NULL;
	cleanup_close int fd = -1;

	if (!plain_name(name) || strlen(name) + 16 >= NAME_MAX)
		return sf_fail(
			err, 0,
			"seccomp profile name `%s` is not a usable file name",
			name);
	tmp = xasprintf(".%s.%d.tmp", name, (int)getpid());
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return sf_fail(err, errno, "seccomp profile %s: %s", name,
			       strerror(errno));
	if (write_all(fd, buf, len) < 0 || fsync(fd) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return sf_fail(err, e, "seccomp profile %s: %s", name,
			       strerror(e));
	}
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;

		unlinkat(dirfd, tmp, 0);
		return sf_fail(err, e, "seccomp profile %s: %s", name,
			       strerror(e));
	}
	return 0;
}

int seccomp_profile_write_path(const char *path, const char *buf, size_t len,
			       struct sf_error **err)
{
	cleanup_free char *dir = xstrdup(path);
	cleanup_close int dfd = -1;
	char *slash = strrchr(dir, '/');
	const char *name = path;

	if (slash) {
		name = path + (slash - dir) + 1;
		*slash = 0;
	}
	dfd = open(slash ? (dir[0] ? dir : "/") : ".",
		   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return sf_fail(
			err, errno,
			"--seccomp-profile %s: directory: %s (create the directory first)",
			path, strerror(errno));
	if (seccomp_profile_write_at(dfd, name, buf, len, err) < 0)
		return sf_error_wrap(err, "--seccomp-profile");
	return 0;
}
