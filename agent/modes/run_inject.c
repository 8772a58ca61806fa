// SPDX-License-Identifier: GPL-2.0
/*
 * --inject-hook BUNDLE_DIR: add sfhook as a prestart and a poststop hook to
 * the bundle's config.json.  Idempotent; everything else is written back as
 * the same JSON (same keys in the same order, numbers as they were written).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "oci.h"
#include "proto.h"
#include "run.h"
#include "run_inject.h"

#ifndef SF_LIBEXECDIR
#define SF_LIBEXECDIR "/usr/local/libexec/sfagent"
#endif
/* Whole seconds the runtime gives the hook; sfhook's own timeout is 2 s. */
#define HOOK_RUNTIME_TIMEOUT 10

static bool has_hook(yajl_val stage, const char *hook)
{
	if (!YAJL_IS_ARRAY(stage))
		return false;
	for (size_t i = 0; i < stage->u.array.len; i++) {
		const char *p = json_get_str(stage->u.array.values[i], "path");

		if (p && !strcmp(p, hook))
			return true;
	}
	return false;
}

static yajl_gen_status gen_entry(yajl_gen g, const struct run_inject *in,
				 const char *stage)
{
	yajl_gen_status st;

	st = yajl_gen_map_open(g);
	st |= json_gen_str(g, "path");
	st |= json_gen_str(g, in->hook);
	st |= json_gen_str(g, "args");
	st |= yajl_gen_array_open(g);
	st |= json_gen_str(g, "sfhook");
	if (in->socket) {
		st |= json_gen_str(g, "--socket");
		st |= json_gen_str(g, in->socket);
	}
	st |= json_gen_str(g, stage);
	st |= yajl_gen_array_close(g);
	st |= json_gen_str(g, "timeout");
	st |= yajl_gen_integer(g, HOOK_RUNTIME_TIMEOUT);
	return st | yajl_gen_map_close(g);
}

/* hooks.<stage>: what was there, plus our entry unless it is there */
static yajl_gen_status gen_stage(yajl_gen g, const struct run_inject *in,
				 const char *stage, yajl_val old)
{
	yajl_gen_status st;

	st = json_gen_str(g, stage);
	st |= yajl_gen_array_open(g);
	for (size_t i = 0; YAJL_IS_ARRAY(old) && i < old->u.array.len; i++)
		st |= json_gen_tree(g, old->u.array.values[i]);
	if (!has_hook(old, in->hook))
		st |= gen_entry(g, in, stage);
	return st | yajl_gen_array_close(g);
}

static yajl_gen_status gen_hooks(yajl_gen g, const struct run_inject *in,
				 yajl_val hooks)
{
	yajl_gen_status st;

	st = yajl_gen_map_open(g);
	for (size_t i = 0; YAJL_IS_OBJECT(hooks) && i < hooks->u.object.len;
	     i++) {
		const char *k = hooks->u.object.keys[i];

		if (!strcmp(k, "prestart") || !strcmp(k, "poststop")) {
			st |= gen_stage(g, in, k, hooks->u.object.values[i]);
		} else {
			st |= json_gen_str(g, k);
			st |= json_gen_tree(g, hooks->u.object.values[i]);
		}
	}
	if (!json_get(hooks, "prestart"))
		st |= gen_stage(g, in, "prestart", NULL);
	if (!json_get(hooks, "poststop"))
		st |= gen_stage(g, in, "poststop", NULL);
	return st | yajl_gen_map_close(g);
}

/* What was written must read back as JSON with both hooks: checked on the
 * temporary file, before it replaces config.json. */
static int check_written(const char *tmp, const struct run_inject *in,
			 struct sf_error **err)
{
	cleanup_free char *buf = NULL;
	cleanup_yajl_val yajl_val root = NULL;
	yajl_val hooks;

	if (read_file(tmp, &buf, NULL, OCI_CONFIG_MAX, err) < 0)
		return -1;
	root = json_parse(buf, "the rewritten config.json", err);
	if (!root)
		return -1;
	hooks = json_get(root, "hooks");
	if (!has_hook(json_get(hooks, "prestart"), in->hook) ||
	    !has_hook(json_get(hooks, "poststop"), in->hook))
		return sf_fail(err, 0,
			       "the rewritten config.json lacks the hooks");
	return 0;
}

static int write_atomic(const char *path, const char *buf, size_t len,
			mode_t mode, const struct run_inject *in,
			struct sf_error **err)
{
	cleanup_free char *tmp = xasprintf("%s.sfagent-XXXXXX", path);
	cleanup_close int fd = mkostemp(tmp, O_CLOEXEC);

	if (fd < 0)
		return sf_fail(err, errno,
			       "create a temporary file next to `%s`", path);
	if (fchmod(fd, mode & 07777) < 0 || write_all(fd, buf, len) < 0 ||
	    fsync(fd) < 0) {
		int e = errno;

		unlink(tmp);
		return sf_fail(err, e, "write `%s`", path);
	}
	if (check_written(tmp, in, err) < 0) {
		unlink(tmp);
		return sf_error_wrap(err, "`%s` left unchanged", path);
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		return sf_fail(err, e, "write `%s`", path);
	}
	return 0;
}

/*
 * The file's own layout, so a diff shows the hooks and nothing else: the
 * indent of its first indented line (two spaces, a tab ...), or none at all
 * for a file on one line.
 */
static bool layout_of(const char *buf, char indent[static 17])
{
	size_t n;

	memcpy(indent, "\t", 2);
	for (const char *l = strchr(buf, '\n'); l; l = strchr(l, '\n')) {
		l++;
		n = strspn(l, " \t");
		if (n && n <= 16 && l[n] && l[n] != '\n') {
			memcpy(indent, l, n);
			indent[n] = '\0';
			return true;
		}
		if (!*l)
			break;
	}
	/* no indented line: one line (compact), or unindented lines */
	n = strlen(buf);
	while (n && strchr("\r\n", buf[n - 1]))
		n--;
	return memchr(buf, '\n', n) != NULL;
}

/* yajl writes an empty [] or {} over lines; config.json files have them
 * on one: "[\n\t\t]" becomes "[]" (outside strings). */
static void collapse_empty(char *s)
{
	char *w = s;
	bool in_str = false;

	for (char *r = s; *r; r++) {
		*w++ = *r;
		if (in_str) {
			if (*r == '\\' && r[1])
				*w++ = *++r;
			else if (*r == '"')
				in_str = false;
			continue;
		}
		if (*r == '"') {
			in_str = true;
		} else if (*r == '[' || *r == '{') {
			char close = *r == '[' ? ']' : '}';
			size_t n = strspn(r + 1, " \t\r\n");

			if (r[1 + n] == close) {
				*w++ = close;
				r += n + 1;
			}
		}
	}
	*w = '\0';
}

char *run_inject_text(const char *buf, const char *path,
		      const struct run_inject *in, bool *present,
		      struct sf_error **err)
{
	cleanup_yajl_val yajl_val root = NULL;
	cleanup_yajl_gen yajl_gen g = NULL;
	const unsigned char *out;
	yajl_gen_status gst;
	yajl_val hooks;
	size_t outlen;
	char indent[17], *text;

	*present = false;
	root = json_parse(buf, path, err);
	if (!root)
		return NULL;
	if (!YAJL_IS_OBJECT(root)) {
		sf_usage(err, "`%s` is not a JSON object", path);
		return NULL;
	}
	hooks = json_get(root, "hooks");
	if (hooks && !YAJL_IS_OBJECT(hooks)) {
		sf_usage(err, "`%s`: \"hooks\" is not an object", path);
		return NULL;
	}
	if (has_hook(json_get(hooks, "prestart"), in->hook) &&
	    has_hook(json_get(hooks, "poststop"), in->hook)) {
		*present = true;
		return NULL;
	}
	g = json_gen_new();
	if (layout_of(buf, indent)) {
		yajl_gen_config(g, yajl_gen_beautify, 1);
		yajl_gen_config(g, yajl_gen_indent_string, indent);
	}
	gst = yajl_gen_map_open(g);
	for (size_t i = 0; i < root->u.object.len; i++) {
		const char *k = root->u.object.keys[i];

		gst |= json_gen_str(g, k);
		if (!strcmp(k, "hooks"))
			gst |= gen_hooks(g, in, hooks);
		else
			gst |= json_gen_tree(g, root->u.object.values[i]);
	}
	if (!hooks) {
		gst |= json_gen_str(g, "hooks");
		gst |= gen_hooks(g, in, NULL);
	}
	gst |= yajl_gen_map_close(g);
	if (gst != yajl_gen_status_ok) {
		sf_usage(err,
			 "`%s` cannot be written back (%s): left unchanged",
			 path, json_gen_status_str(gst));
		return NULL;
	}
	yajl_gen_get_buf(g, &out, &outlen);
	/* room for the final newline put back below */
	text = xasprintf("%.*s\n", (int)outlen, (const char *)out);
	collapse_empty(text);
	/* a final newline as the file had it (yajl's beautify adds one) */
	outlen = strlen(text);
	while (outlen && text[outlen - 1] == '\n')
		text[--outlen] = '\0';
	if (*buf && buf[strlen(buf) - 1] == '\n') {
		text[outlen++] = '\n';
		text[outlen] = '\0';
	}
	return text;
}

int run_inject_hook(const struct sf_options *o, struct sf_error **err)
{
	cleanup_free char *path = xasprintf("%s/config.json", o->inject_bundle);
	cleanup_free char *buf = NULL, *def_hook = NULL, *text = NULL;
	struct run_inject in = {0};
	struct stat st;
	bool present;

	def_hook = xasprintf("%s/sfhook", SF_LIBEXECDIR);
	in.hook = o->hook_path ? o->hook_path : def_hook;
	in.socket = strcmp(o->socket_path, SF_SOCKET_DEFAULT) ? o->socket_path
							      : NULL;
	if (stat(path, &st) < 0)
		return sf_usage(
			err,
			"`%s` is not a bundle: %s has no config.json (%s): give a bundle directory (`runc spec` writes a config.json)",
			o->inject_bundle, o->inject_bundle, strerror(errno));
	if (read_file(path, &buf, NULL, OCI_CONFIG_MAX, err) < 0)
		return -1;
	text = run_inject_text(buf, path, &in, &present, err);
	if (present) {
		printf("%s: sfhook hooks already present\n", path);
		return 0;
	}
	if (!text)
		return -1;
	if (access(in.hook, X_OK) < 0)
		log_warn(
			"hook `%s` is not an executable file (yet): install it (make install) or pass --hook-path",
			in.hook);
	if (write_atomic(path, text, strlen(text), st.st_mode, &in, err) < 0)
		return -1;
	printf("%s: added sfhook (%s) as prestart and poststop hook\n", path,
	       in.hook);
	return 0;
}
