// SPDX-License-Identifier: GPL-2.0
/*
 * OCI bundles: config.json (yajl tree) and rootfs checks, stream.start
 * metadata.  A bundle's config.json is untrusted input: every value is
 * type-checked, every string written out is JSON-escaped or made safe for a
 * terminal, and the environment (secrets) is never copied anywhere.
 */
#include "bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <yajl/yajl_parse.h>
#include <yajl/yajl_tree.h>

#include "json.h"

#define CONFIG_MAX (4u << 20)
#define DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * yajl_tree_parse() says what is wrong but not where; a second pass with the
 * event parser finds the offset, turned into line and column.
 */
static char *json_error(const char *text, size_t len)
{
	yajl_handle h = yajl_alloc(NULL, NULL, NULL);
	size_t off, line = 1, col = 1;
	unsigned char *msg;
	yajl_status st;
	char *r, *nl;

	yajl_config(h, yajl_allow_comments, 1); /* as yajl_tree_parse does */
	st = yajl_parse(h, (const unsigned char *)text, len);
	/* consumed includes the offending byte: point at it */
	off = yajl_get_bytes_consumed(h);
	if (off)
		off--;
	if (st == yajl_status_ok) {
		st = yajl_complete_parse(h);
		off = len;
	}
	if (st == yajl_status_ok) {
		yajl_free(h);
		return xstrdup("parse error");
	}
	for (size_t i = 0; i < off && i < len; i++) {
		if (text[i] == '\n')
			line++, col = 1;
		else
			col++;
	}
	msg = yajl_get_error(h, 0, NULL, 0);
	nl = strchr((char *)msg, '\n');
	if (nl)
		*nl = 0;
	/* "parse error: invalid object key ..." -> "parse error at line 3, ..." */
	if (strncmp((char *)msg, "parse error: ", 13) == 0)
		r = xasprintf("parse error at line %zu, column %zu: %s", line,
			      col, (char *)msg + 13);
	else
		r = xasprintf("%s at line %zu, column %zu", (char *)msg, line,
			      col);
	yajl_free_error(h, msg);
	yajl_free(h);
	return r;
}

static yajl_val get(yajl_val v, const char *a, const char *b)
{
	const char *path[] = {a, b, NULL};

	return yajl_tree_get(v, path, yajl_t_any);
}

static int bad_config(struct bundle *b, struct sf_error **err, const char *what,
		      const char *fix)
{
	b->config = BUNDLE_INVALID;
	return sf_fail(err, 0, "config.json: %s%s%s", what, fix ? ": " : "",
		       fix ? fix : "");
}

/* process.env's PATH, only to look up a relative args[0] as runc will. */
static const char *env_path(yajl_val env)
{
	if (!YAJL_IS_ARRAY(env))
		return DEFAULT_PATH;
	for (size_t i = 0; i < env->u.array.len; i++) {
		const char *e = YAJL_GET_STRING(env->u.array.values[i]);

		if (e && strncmp(e, "PATH=", 5) == 0)
			return e + 5;
	}
	return DEFAULT_PATH;
}

/* path inside the rootfs, symlinks resolved as if the rootfs were "/" */
static int rootfs_stat(int rootfd, const char *path, struct stat *st)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	int r;

	if (fd < 0 && errno == ENOSYS) {
		/* no openat2 (old kernel, valgrind): the check is only a
		 * convenience, runc will say if the program is missing */
		st->st_mode = S_IFREG | 0755;
		return 0;
	}
	if (fd < 0)
		return -1;
	r = fstat(fd, st);
	close(fd);
	return r;
}

static bool rootfs_has_program(int rootfd, const char *prog, const char *path)
{
	cleanup_free char *dirs = NULL;
	char *save = NULL, *dir;
	struct stat st;

	if (strchr(prog, '/'))
		return rootfs_stat(rootfd, prog, &st) == 0 &&
		       S_ISREG(st.st_mode) && (st.st_mode & 0111);
	dirs = xstrdup(path);
	for (dir = strtok_r(dirs, ":", &save); dir;
	     dir = strtok_r(NULL, ":", &save)) {
		cleanup_free char *cand = xasprintf("%s/%s", dir, prog);

		if (rootfs_stat(rootfd, cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return true;
	}
	return false;
}

static int check_rootfs(struct bundle *b, yajl_val root, yajl_val env,
			struct sf_error **err)
{
	const char *path = YAJL_GET_STRING(get(root, "path", NULL));
	cleanup_close int fd = -1;
	struct stat st;

	if (!path || !*path)
		return bad_config(
			b, err, "root.path is missing or not a string",
			"set it to the rootfs directory, e.g. \"rootfs\"");
	b->rootfs = path[0] == '/' ? xstrdup(path)
				   : xasprintf("%s/%s", b->dir, path);
	fd = open(b->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		b->root = e == ENOENT ? BUNDLE_MISSING : BUNDLE_INVALID;
		if (e == ENOENT)
			return sf_fail(
				err, 0,
				"rootfs `%s` does not exist: build it (for the sample bundles: make bundles)",
				b->rootfs);
		return sf_fail(err, e, "rootfs `%s`", b->rootfs);
	}
	if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)) {
		b->root = BUNDLE_INVALID;
		return sf_fail(err, 0, "rootfs `%s` is not a directory",
			       b->rootfs);
	}
	if (!rootfs_has_program(fd, b->args[0], env_path(env))) {
		b->root = BUNDLE_INVALID;
		return sf_fail(
			err, 0,
			"rootfs `%s` has no executable `%s` (process.args[0])",
			b->rootfs, b->args[0]);
	}
	b->root = BUNDLE_OK;
	return 0;
}

static void meta_str_array(struct sbuf *o, char **v, size_t n)
{
	sbuf_putc(o, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			sbuf_putc(o, ',');
		sbuf_json_str(o, v[i], SIZE_MAX);
	}
	sbuf_putc(o, ']');
}

static void build_meta(struct bundle *b, yajl_val ann)
{
	struct sbuf o = {0};

	sbuf_lit(&o, "{\"bundle\":");
	sbuf_json_str(&o, b->dir, SIZE_MAX);
	if (b->hostname) {
		sbuf_key(&o, "hostname");
		sbuf_json_str(&o, b->hostname, SIZE_MAX);
	}
	sbuf_key(&o, "args");
	meta_str_array(&o, b->args, b->nargs);
	sbuf_key(&o, "cwd");
	sbuf_json_str(&o, b->cwd, SIZE_MAX);
	sbuf_key(&o, "root");
	sbuf_json_str(&o, b->rootfs, SIZE_MAX);
	sbuf_key(&o, "annotations");
	sbuf_putc(&o, '{');
	for (size_t i = 0; ann && i < ann->u.object.len; i++) {
		if (i)
			sbuf_putc(&o, ',');
		sbuf_json_str(&o, ann->u.object.keys[i], SIZE_MAX);
		sbuf_putc(&o, ':');
		sbuf_json_str(&o, YAJL_GET_STRING(ann->u.object.values[i]),
			      SIZE_MAX);
	}
	sbuf_lit(&o, "}}");
	sbuf_putc(&o, 0);
	b->meta_json = o.data;
}

static int parse_config(struct bundle *b, yajl_val cfg, yajl_val *ann_out,
			yajl_val *env_out, struct sf_error **err)
{
	yajl_val proc = get(cfg, "process", NULL), args, ann, v;

	if (!YAJL_IS_OBJECT(cfg))
		return bad_config(b, err, "not a JSON object", NULL);
	if (!YAJL_IS_OBJECT(proc))
		return bad_config(b, err, "no process object",
				  "container mode runs the bundle's process");
	args = get(proc, "args", NULL);
	if (!YAJL_IS_ARRAY(args) || args->u.array.len == 0)
		return bad_config(b, err, "process.args is missing or empty",
				  NULL);
	b->args = xzalloc((args->u.array.len + 1) * sizeof(char *));
	for (size_t i = 0; i < args->u.array.len; i++) {
		const char *a = YAJL_GET_STRING(args->u.array.values[i]);

		if (!a)
			return bad_config(b, err,
					  "process.args holds a non-string",
					  NULL);
		b->args[b->nargs++] = xstrdup(a);
	}
	if (!*b->args[0])
		return bad_config(b, err, "process.args[0] is empty", NULL);
	v = get(proc, "cwd", NULL);
	if (!YAJL_IS_STRING(v) || YAJL_GET_STRING(v)[0] != '/')
		return bad_config(
			b, err,
			"process.cwd is missing or not an absolute path", NULL);
	b->cwd = xstrdup(YAJL_GET_STRING(v));
	if (YAJL_IS_TRUE(get(proc, "terminal", NULL)))
		return bad_config(
			b, err, "process.terminal is true",
			"sfagent passes its own stdio to the container; set it to false");
	v = get(cfg, "hostname", NULL);
	if (v && !YAJL_IS_STRING(v))
		return bad_config(b, err, "hostname is not a string", NULL);
	if (v)
		b->hostname = xstrdup(YAJL_GET_STRING(v));
	ann = get(cfg, "annotations", NULL);
	if (ann && !YAJL_IS_OBJECT(ann))
		return bad_config(b, err, "annotations is not an object", NULL);
	for (size_t i = 0; ann && i < ann->u.object.len; i++)
		if (!YAJL_IS_STRING(ann->u.object.values[i]))
			return bad_config(b, err,
					  "annotations hold a non-string value",
					  NULL);
	*ann_out = ann;
	*env_out = get(proc, "env", NULL);
	b->config = BUNDLE_OK;
	return 0;
}

int bundle_load(struct bundle *b, const char *dir, const char *name,
		struct sf_error **err)
{
	cleanup_free char *path = NULL, *text = NULL, *perr = NULL;
	cleanup_yajl_val yajl_val cfg = NULL;
	yajl_val ann = NULL, env = NULL;
	const char *why;
	char ebuf[256];
	size_t len;
	struct stat st;

	memset(b, 0, sizeof(*b));
	b->name = xstrdup(name);
	b->dir = realpath(dir, NULL);
	if (!b->dir) {
		sf_fail(err, errno, "bundle `%s`", dir);
		b->dir = xstrdup(dir);
		return -1;
	}
	if (stat(b->dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return sf_fail(err, 0, "`%s` is not a directory", b->dir);
	path = xasprintf("%s/config.json", b->dir);
	if (access(path, F_OK) < 0) {
		b->config = BUNDLE_MISSING;
		return sf_fail(
			err, 0,
			"config.json is missing: a bundle needs one (`runc spec` writes a template)");
	}
	if (read_file(path, &text, &len, CONFIG_MAX, err) < 0) {
		b->config = BUNDLE_INVALID;
		return sf_error_wrap(err, "config.json");
	}
	/* the limits every JSON read has (lib/json.h), before yajl's tree */
	why = json_check_text(text, len);
	if (why)
		return bad_config(b, err, why, NULL);
	cfg = yajl_tree_parse(text, ebuf, sizeof(ebuf));
	if (!cfg) {
		perr = json_error(text, len);
		return bad_config(b, err, perr, NULL);
	}
	if (parse_config(b, cfg, &ann, &env, err) < 0 ||
	    check_rootfs(b, get(cfg, "root", NULL), env, err) < 0)
		return -1;
	build_meta(b, ann);
	return 0;
}

void bundle_free(struct bundle *b)
{
	for (size_t i = 0; i < b->nargs; i++)
		free(b->args[i]);
	free(b->args);
	free(b->name);
	free(b->dir);
	free(b->cwd);
	free(b->hostname);
	free(b->rootfs);
	free(b->meta_json);
	memset(b, 0, sizeof(*b));
}

int bundle_resolve(const char *bundle_dir, const char *arg, char **dir,
		   char **name, struct sf_error **err)
{
	cleanup_free char *d = NULL;
	struct stat st;
	const char *base;

	if (strchr(arg, '/')) {
		d = realpath(arg, NULL);
		if (!d)
			return sf_usage(
				err,
				"bundle `%s`: %s: give the path of a bundle directory (one with a config.json), or a name `sfagent -S` lists",
				arg, strerror(errno));
		if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
			return sf_usage(
				err,
				"bundle `%s` is not a directory: give the bundle's directory (the one with config.json)",
				arg);
		base = strrchr(d, '/') + 1;
		*name = xstrdup(*base ? base : "root");
		*dir = steal_pointer(&d);
		return 0;
	}
	if (strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
		return sf_usage(
			err,
			"`%s` is not a bundle name; give a path such as ./%s",
			arg, arg);
	if (stat(bundle_dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return sf_usage(
			err,
			"bundle `%s`: bundle directory `%s` does not exist (set it with -B DIR or SFAGENT_BUNDLES, or give the bundle's path)",
			arg, bundle_dir);
	d = xasprintf("%s/%s", bundle_dir, arg);
	if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode))
		return sf_usage(
			err,
			"no bundle `%s` in `%s` (list them with `sfagent -S`, or give a path containing '/')",
			arg, bundle_dir);
	*name = xstrdup(arg);
	*dir = steal_pointer(&d);
	return 0;
}

void bundle_display_str(struct sbuf *o, const char *s, bool quote)
{
	quote = quote &&
		(!*s || strpbrk(s, " \t'\"\\$`;&|<>()*?[]{}~#!") != NULL);

	if (quote)
		sbuf_putc(o, '\'');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p >= 0x7f || (quote && *p == '\''))
			sbuf_printf(o, "\\x%02x", *p);
		else
			sbuf_putc(o, *p);
	}
	if (quote)
		sbuf_putc(o, '\'');
}

char *bundle_display_args(const struct bundle *b)
{
	struct sbuf o = {0};

	for (size_t i = 0; i < b->nargs; i++) {
		if (i)
			sbuf_putc(&o, ' ');
		bundle_display_str(&o, b->args[i], true);
	}
	sbuf_putc(&o, 0);
	return o.data;
}
