// SPDX-License-Identifier: GPL-2.0
/*
 * Resolved paths in the decoder (agent/encoders/decode_path.c): the
 * lexical join of a kernel base and a typed path, records crafted as the
 * kernel side fills struct sf_fpath, and the host view from a mountinfo
 * fixture (agent/encoders/hostpath.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "decode.h"
#include "decode_path.h"
#include "hostpath.h"
#include "tap.h"

static const char *join(const char *base, const char *typed, bool *above)
{
	static char out[1024];

	if (decode_path_join(base, typed, strlen(typed), out, sizeof(out),
			     above) < 0)
		return NULL;
	return out;
}

static void test_join(void)
{
	bool above;

	is_str(join("/a/b", "c", &above), "/a/b/c", "relative");
	is_str(join("/a/b", "../c/./d//e/", &above), "/a/c/d/e", "dots");
	is_str(join("/a/b", "/x/../y", &above), "/y", "absolute: the root");
	is_str(join("/", "../../etc", &above), "/etc", ".. at the root");
	ok(above, "above the root is said");
	is_str(join("/a", "", &above), "/a", "empty: the base (AT_EMPTY_PATH)");
	is_str(join("/a", "..", &above), "/", "back to the root");
	ok(!above, "not above");
	is_str(join("/", "x", &above), "/x", "under the root");
}

/* kp components leaf first, then the fs part */
static void fpath_set(struct sf_fpath *fp, uint16_t base, const char **c, int n,
		      int n_mnt, const char **fs, int n_fs)
{
	size_t off = 0;

	memset(fp, 0, sizeof(*fp));
	fp->base = base;
	fp->kp.flags = SF_KP_ROOT;
	fp->kp.n = n;
	fp->n_mnt = n_mnt;
	fp->n_fs = n_fs;
	for (int i = 0; i < n; i++) {
		strcpy(fp->kp.buf + off, c[i]);
		off += strlen(c[i]) + 1;
	}
	for (int i = 0; i < n_fs; i++) {
		strcpy(fp->kp.buf + off, fs[i]);
		off += strlen(fs[i]) + 1;
	}
}

static const char *key(const struct decode_event *v, const char *k)
{
	const struct decode_kv *kv = decode_sec_find(v, k);
	static char buf[4][1024];
	static int i;

	if (!kv || kv->kind != DECODE_KV_STR || !kv->s)
		return kv ? "(not a string)" : "(absent)";
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%.*s", (int)kv->len, kv->s);
	return buf[i];
}

static void test_records(const char *fixture, uint32_t host_ns)
{
	static struct sf_file_event e;
	struct decode_event v;
	const char *leaf[] = {"passwd", "etc"};
	const char *cwd[] = {"b", "a"};
	const char *ovl_fs[] = {0};
	const char *bind_fs[] = {"rootfs", "bundle", "srv"};

	/* an open in a container on overlay (dev 0:50): container-relative,
	 * host_path through the host's mount of the overlay */
	memset(&e, 0, sizeof(e));
	e.hdr.type = SF_EV_OPEN;
	e.hdr.flags = SF_F_HAS_RET;
	e.hdr.ret = 3;
	strcpy(e.path, "../etc/passwd");
	fpath_set(&e.res, SF_FP_BASE_FILE, leaf, 2, 2, ovl_fs, 0);
	e.res.dev = 50;
	e.res.mnt_ns = 4026531999u;
	e.res.flags = SF_FP_NSROOT;
	e.res2.kp.flags = SF_KP_NONE;
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "resolved"), "/etc/passwd", "open: the file");
	is_str(key(&v, "host_path"), "(absent)", "no host table yet");
	ok(hostpath_enable(fixture) == 0, "host table from the fixture");
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "host_path"), "/var/lib/c/merged/etc/passwd",
	       "overlay: the host's mount point");
	ok(!decode_sec_find(&v, "resolved_lexical"), "exact: not lexical");

	/* the same from a host task: no host_path */
	e.res.mnt_ns = host_ns;
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "host_path"), "(absent)", "a host task: none");

	/* a path call in a runc container whose root is a bind of
	 * /srv/bundle/rootfs (8:1): base cwd /a/b, typed ../c */
	memset(&e, 0, sizeof(e));
	e.hdr.type = SF_EV_UNLINK;
	e.hdr.flags = SF_F_HAS_RET;
	e.arg0 = -100;
	strcpy(e.path, "../c");
	fpath_set(&e.res, SF_FP_BASE_CWD, cwd, 2, 2, bind_fs, 3);
	e.res.dev = (8 << 20) | 1;
	e.res.mnt_ns = 7;
	e.res.flags = SF_FP_NSROOT;
	e.res2.kp.flags = SF_KP_NONE;
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "resolved"), "/a/c", "lexical join");
	is_str(key(&v, "host_path"), "/srv/bundle/rootfs/a/c",
	       "bind root: the host's / mount of 8:1");
	ok(decode_sec_find(&v, "resolved_lexical") != NULL, "lexical said");

	/* ".." out of the object's mount (cwd /vol is a mount of its own):
	 * no host_path rather than a wrong one */
	fpath_set(&e.res, SF_FP_BASE_CWD, (const char *[]){"vol"}, 1, 0,
		  bind_fs, 0);
	e.res.dev = (8 << 20) | 1;
	e.res.mnt_ns = 7;
	strcpy(e.path, "../etc/x");
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "resolved"), "/etc/x", "lexical");
	is_str(key(&v, "host_path"), "(absent)",
	       "left the mount: no host_path");

	/* a cut walk: partial, no host_path; a failed call: nothing */
	fpath_set(&e.res, SF_FP_BASE_CWD, cwd, 2, 2, bind_fs, 0);
	e.res.kp.flags = 0;
	strcpy(e.path, "x");
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	ok(decode_sec_find(&v, "resolved_partial") != NULL, "cut: partial");
	is_str(key(&v, "host_path"), "(absent)", "cut: no host_path");
	e.hdr.ret = -2;
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "decodes");
	is_str(key(&v, "resolved"), "(absent)", "failed: none");

	/* garbage counts: never read past the buffer */
	memset(&e.res, 0x41, sizeof(e.res));
	e.hdr.ret = 0;
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "garbage decodes");
	hostpath_disable();
}

int main(void)
{
	char dir[] = "/tmp/sf-test-path-XXXXXX", p[256];
	struct stat st;
	FILE *f;

	test_join();
	if (!mkdtemp(dir))
		return 2;
	snprintf(p, sizeof(p), "%s/mountinfo", dir);
	f = fopen(p, "w");
	if (!f)
		return 2;
	fputs("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
	      "30 22 0:50 / /var/lib/c/merged rw - overlay overlay rw\n"
	      "31 22 8:1 /srv/other /mnt/o rw - ext4 /dev/sda1 rw\n"
	      "bad line\n",
	      f);
	fclose(f);
	/* the host's mount namespace: the inode of the fixture's ns/mnt */
	snprintf(p, sizeof(p), "%s/ns", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/ns/mnt", dir);
	f = fopen(p, "w");
	if (!f || stat(p, &st) < 0)
		return 2;
	fclose(f);
	test_records(dir, (uint32_t)st.st_ino);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ns", dir);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/mountinfo", dir);
	unlink(p);
	rmdir(dir);
	return tap_done();
}
