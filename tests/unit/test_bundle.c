// SPDX-License-Identifier: GPL-2.0
/* agent/bundle.c under ASan+UBSan: config.json checks, rootfs lookups
 * confined to the rootfs, metadata escaping, terminal-safe display. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "bundle.h"
#include "tap.h"

static char *top; /* mkdtemp in $TMPDIR */

static void put(const char *rel, const char *text)
{
	cleanup_free char *p = xasprintf("%s/%s", top, rel);
	FILE *f = fopen(p, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(p);
		exit(2);
	}
}

static void mk(const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", top, rel);

	if (mkdir(p, 0755) < 0 && errno != EEXIST) {
		perror(p);
		exit(2);
	}
}

static void exe(const char *rel)
{
	cleanup_free char *p = xasprintf("%s/%s", top, rel);

	put(rel, "#!/bin/sh\n");
	chmod(p, 0755);
}

/* loads bundle rel; returns the error message or "" */
static char *load(const char *rel, struct bundle *b)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *dir = xasprintf("%s/%s", top, rel);

	if (bundle_load(b, dir, rel, &err) < 0)
		return xstrdup(err->msg);
	return xstrdup("");
}

static void test_config_errors(void)
{
	struct bundle b;
	char *m;

	mk("none");
	m = load("none", &b);
	ok(strstr(m, "config.json is missing") && b.config == BUNDLE_MISSING,
	   "missing config.json: %s", m);
	free(m);
	bundle_free(&b);

	mk("bad");
	put("bad/config.json",
	    "{\n  \"process\": {\"args\": [\"/bin/sh\"],,\n}\n");
	m = load("bad", &b);
	ok(strcmp(m,
		  "config.json: parse error at line 2, column 35: invalid object key (must be a string)") ==
			   0 &&
		   b.config == BUNDLE_INVALID,
	   "malformed config.json says where: %s", m);
	free(m);
	bundle_free(&b);

	put("bad/config.json", "");
	m = load("bad", &b);
	ok(strstr(m, "config.json: ") && b.config == BUNDLE_INVALID,
	   "empty config.json: %s", m);
	free(m);
	bundle_free(&b);

	put("bad/config.json", "[1, 2]");
	m = load("bad", &b);
	is_str(m, "config.json: not a JSON object", "wrong shape");
	free(m);
	bundle_free(&b);

	put("bad/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\", 3], \"cwd\": \"/\"}}");
	m = load("bad", &b);
	is_str(m, "config.json: process.args holds a non-string",
	       "non-string arg");
	free(m);
	bundle_free(&b);

	put("bad/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"tmp\"}}");
	m = load("bad", &b);
	is_str(m, "config.json: process.cwd is missing or not an absolute path",
	       "relative cwd");
	free(m);
	bundle_free(&b);

	put("bad/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"/\"}, \"annotations\": {\"a\": 1}}");
	m = load("bad", &b);
	is_str(m, "config.json: annotations hold a non-string value",
	       "non-string annotation");
	free(m);
	bundle_free(&b);

	put("bad/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"/\"}}");
	m = load("bad", &b);
	ok(strstr(m, "root.path is missing") && b.root == BUNDLE_UNCHECKED,
	   "no root.path: %s", m);
	free(m);
	bundle_free(&b);
}

static void test_rootfs(void)
{
	struct bundle b;
	char *m;

	mk("rfs");
	put("rfs/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\"], \"cwd\": \"/\"}, \"root\": {\"path\": \"rootfs\"}}");
	m = load("rfs", &b);
	ok(strstr(m, "/rfs/rootfs` does not exist") && b.config == BUNDLE_OK &&
		   b.root == BUNDLE_MISSING,
	   "missing rootfs: %s", m);
	free(m);
	bundle_free(&b);

	mk("rfs/rootfs");
	mk("rfs/rootfs/bin");
	/* an absolute symlink that, followed on the host, would find /bin/sh */
	{
		cleanup_free char *l = xasprintf("%s/rfs/rootfs/bin/sh", top);

		int r = symlink("/bin/sh", l);

		ok(r == 0, "symlink made");
	}
	m = load("rfs", &b);
	ok(strstr(m, "has no executable `/bin/sh`") && b.root == BUNDLE_INVALID,
	   "a symlink is resolved inside the rootfs, not on the host: %s", m);
	free(m);
	bundle_free(&b);

	mk("rfs/rootfs/usr");
	mk("rfs/rootfs/usr/bin");
	exe("rfs/rootfs/usr/bin/busybox");
	{
		cleanup_free char *l = xasprintf("%s/rfs/rootfs/bin/sh", top);

		int r;

		unlink(l);
		r = symlink("/usr/bin/busybox", l);
		ok(r == 0, "symlink made");
	}
	m = load("rfs", &b);
	is_str(m, "", "absolute symlink inside the rootfs resolves there");
	ok(b.root == BUNDLE_OK && b.config == BUNDLE_OK, "states ok");
	free(m);
	bundle_free(&b);

	/* relative args[0]: the PATH of process.env, as runc looks it up */
	put("rfs/config.json",
	    "{\"process\": {\"args\": [\"busybox\"], \"cwd\": \"/\", \"env\": [\"PATH=/nope:/usr/bin\"]}, \"root\": {\"path\": \"rootfs\"}}");
	m = load("rfs", &b);
	is_str(m, "", "relative program found through process.env PATH");
	free(m);
	bundle_free(&b);
	put("rfs/config.json",
	    "{\"process\": {\"args\": [\"busybox\"], \"cwd\": \"/\", \"env\": [\"PATH=/bin\"]}, \"root\": {\"path\": \"rootfs\"}}");
	m = load("rfs", &b);
	ok(strstr(m, "has no executable `busybox`") != NULL,
	   "relative program not on that PATH: %s", m);
	free(m);
	bundle_free(&b);
}

static void test_meta(void)
{
	struct bundle b;
	cleanup_free char *want = NULL, *shown = NULL;
	char *m;

	put("rfs/config.json",
	    "{\"process\": {\"args\": [\"/bin/sh\", \"-c\", \"echo \\\"hi\\\"\\n\"], \"cwd\": \"/srv\", \"env\": [\"SECRET=hunter2\"]}, \"hostname\": \"h\\u00e9\", \"root\": {\"path\": \"rootfs\"}, \"annotations\": {\"k\\\"ey\": \"v\\nal\\u0001\", \"io.kubernetes.pod.name\": \"p\"}}");
	m = load("rfs", &b);
	is_str(m, "", "bundle loads");
	want = xasprintf(
		"{\"bundle\":\"%s/rfs\",\"hostname\":\"h\xc3\xa9\",\"args\":[\"/bin/sh\",\"-c\",\"echo \\\"hi\\\"\\n\"],\"cwd\":\"/srv\",\"root\":\"%s/rfs/rootfs\",\"annotations\":{\"k\\\"ey\":\"v\\nal\\u0001\",\"io.kubernetes.pod.name\":\"p\"}}",
		top, top);
	is_str(b.meta_json, want, "meta: escaped, annotations kept, no env");
	ok(!strstr(b.meta_json, "hunter2"), "the environment stays out");
	shown = bundle_display_args(&b);
	is_str(shown, "/bin/sh -c 'echo \"hi\"\\x0a'", "args shown safely");
	free(m);
	bundle_free(&b);
}

static void test_display_resolve(void)
{
	cleanup_error struct sf_error *err = NULL;
	struct sbuf o = {0};
	char *dir = NULL, *name = NULL;
	int r;

	bundle_display_str(&o, "a\x1b[31m'b", true);
	sbuf_putc(&o, 0);
	is_str(o.data, "'a\\x1b[31m\\x27b'",
	       "escape sequence and quote escaped");
	o.len = 0;
	bundle_display_str(&o, "caf\xc3\xa9 x", false);
	sbuf_putc(&o, 0);
	is_str(o.data, "caf\\xc3\\xa9 x",
	       "messages are not quoted, bytes escaped");
	sbuf_free(&o);

	/* ok() evaluates its condition twice: no calls inside it */
	r = bundle_resolve(top, "rfs", &dir, &name, &err);
	ok(r == 0 && dir && strstr(dir, "/rfs") && strcmp(name, "rfs") == 0,
	   "a name resolves in the bundle directory");
	free(dir);
	free(name);
	dir = name = NULL;
	{
		cleanup_free char *p = xasprintf("%s/rfs/", top);

		r = bundle_resolve("/nonexistent", p, &dir, &name, &err);
		ok(r == 0 && strcmp(name, "rfs") == 0,
		   "a path names the bundle after its directory");
		free(dir);
		free(name);
		dir = name = NULL;
	}
	r = bundle_resolve(top, "..", &dir, &name, &err);
	ok(r < 0 && err->status == SF_EXIT_USAGE, "`..` is refused: %s",
	   err ? err->msg : "");
	r = bundle_resolve(top, "nope", &dir, &name, &err);
	ok(r < 0 && err->status == SF_EXIT_USAGE &&
		   strstr(err->msg, "no bundle `nope`"),
	   "unknown name: %s", err ? err->msg : "");
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	top = xasprintf("%s/sf-test-bundle-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 2;
	}
	test_config_errors();
	test_rootfs();
	test_meta();
	test_display_resolve();
	{
		cleanup_free char *cmd = xasprintf("rm -rf '%s'", top);

		if (system(cmd) != 0)
			printf("# could not remove %s\n", top);
	}
	free(top);
	return tap_done();
}
