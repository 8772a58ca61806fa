// SPDX-License-Identifier: GPL-2.0
/*
 * Workload of tests/53-resolved.bats: file operations whose `resolved`
 * path the agent must get right.  For each one it prints what the kernel
 * or the C library says the answer is, as one JSON line per operation
 * (to the file OUT, so the checker need not parse the stream's order):
 *   {"type": "file.open", "path": "b/../b/f", "resolved": "...", ...}
 * fd results come from readlink(/proc/self/fd/N) right after the call
 * (" (deleted)" cut, then "deleted": true); path calls from realpath() of
 * the parent directory plus the last component.  The checker
 * (53-resolved.bats) finds each expected record in the stream by type,
 * syscall and path.
 *
 *   resolved basic DIR OUT       dirfd, cwd, "..", symlink, path calls,
 *                                fd calls, deleted, memfd, dup, xattrs,
 *                                open_by_handle_at, a too-long path
 *   resolved open FILE OUT       one open (bind mount, container)
 *   resolved chroot ROOT OUT     chroot(ROOT), then open /etc/sf-file
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

static FILE *out;
static int procfd = -1; /* /proc/self/fd, opened before any chroot */

static void die(const char *what)
{
	fprintf(stderr, "resolved: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void json_str(const char *k, const char *v)
{
	fprintf(out, ", \"%s\": \"", k);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		fputc(*v, out);
	}
	fputc('"', out);
}

/* readlink of fd: the kernel's own name of the file */
static void fd_name(int fd, char *buf, size_t cap, bool *deleted)
{
	char n[32];
	ssize_t l;
	size_t dl = strlen(" (deleted)");

	snprintf(n, sizeof(n), "%d", fd);
	l = readlinkat(procfd, n, buf, cap - 1);
	if (l < 0)
		die("readlink");
	buf[l] = 0;
	*deleted = (size_t)l > dl && !strcmp(buf + l - dl, " (deleted)");
	if (*deleted)
		buf[l - dl] = 0;
}

/* expect: an fd event; the file is fd's */
static void expect_fd(const char *type, const char *syscall, const char *path,
		      int fd, const char *extra)
{
	char name[PATH_MAX];
	struct stat st;
	bool deleted;

	fd_name(fd, name, sizeof(name), &deleted);
	if (fstat(fd, &st) < 0)
		die("fstat");
	fprintf(out, "{\"type\": \"%s\", \"syscall\": \"%s\"", type, syscall);
	if (path)
		json_str("path", path);
	json_str("resolved", name);
	fprintf(out, ", \"deleted\": %s, \"st_dev\": %llu, \"st_ino\": %llu%s}\n",
		deleted ? "true" : "false", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino, extra ? extra : "");
	fflush(out);
}

/* realpath of the parent + the last component (the object may be gone) */
static void parent_plus(const char *p, char *buf, size_t cap)
{
	char dir[2 * PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(p, '/'), *base = slash ? slash + 1 : p;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - p) : 1,
		 slash ? (slash == p ? "/" : p) : ".");
	if (!realpath(dir, real))
		die("realpath");
	snprintf(buf, cap, "%s%s%s", real, strcmp(real, "/") ? "/" : "", base);
}

/* expect: a path call; want is where the object is (or was) */
static void expect_path(const char *type, const char *syscall, const char *path,
			const char *want, const char *want2)
{
	fprintf(out, "{\"type\": \"%s\", \"syscall\": \"%s\"", type, syscall);
	json_str("path", path);
	json_str("resolved", want);
	if (want2)
		json_str("resolved2", want2);
	fprintf(out, ", \"resolved_lexical\": true}\n");
	fflush(out);
}

static void xmkdir(const char *p)
{
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die(p);
}

static void basic_fd(const char *dir)
{
	char p[2 * PATH_MAX], want[2 * PATH_MAX], *got;
	int a, fd, m;
	struct {
		struct file_handle fh;
		unsigned char h[MAX_HANDLE_SZ];
	} fh;
	int mnt_id;

	snprintf(p, sizeof(p), "%s/a/b", dir);
	if ((a = open(dir, O_RDONLY | O_DIRECTORY)) < 0)
		die("open dir");
	if (mkdirat(a, "a", 0755) < 0 || mkdirat(a, "a/b", 0755) < 0)
		die("mkdir a/b");
	/* mkdirat(dirfd, "a/b"): the base is dir, then lexical */
	snprintf(want, sizeof(want), "%s/a/b", dir);
	if (!(got = realpath(want, NULL)))
		die("realpath");
	expect_path("file.mkdir", "mkdirat", "a/b", got, NULL);
	free(got);
	close(a);
	snprintf(p, sizeof(p), "%s/a", dir);
	if ((a = open(p, O_RDONLY | O_DIRECTORY)) < 0)
		die("open a");
	/* relative to a dirfd, through ".." */
	if ((fd = openat(a, "b/../b/f", O_CREAT | O_RDWR, 0644)) < 0)
		die("openat dirfd");
	expect_fd("file.open", "openat", "b/../b/f", fd, NULL);
	/* fd calls: the fd's file */
	if (fchmod(fd, 0600) < 0 || ftruncate(fd, 3) < 0 ||
	    fchown(fd, getuid(), -1) < 0)
		die("fchmod/ftruncate/fchown");
	expect_fd("file.chmod", "fchmod", NULL, fd, NULL);
	expect_fd("file.truncate", "ftruncate", NULL, fd, NULL);
	expect_fd("file.chown", "fchown", NULL, fd, NULL);
	if (fsetxattr(fd, "user.sf", "1", 1, 0) == 0)
		expect_fd("file.setxattr", "fsetxattr", NULL, fd, NULL);
	/* dup onto 0 (an event): the source's file */
	if (dup2(fd, 0) < 0)
		die("dup2");
	expect_fd("fd.dup", "dup2", NULL, fd, NULL);
	close(fd);
	/* relative to the cwd after chdir, "." and ".." */
	snprintf(p, sizeof(p), "%s/a/b", dir);
	if (chdir(p) < 0)
		die("chdir");
	if ((fd = open("../b/./g", O_CREAT | O_WRONLY, 0644)) < 0)
		die("open cwd");
	expect_fd("file.open", "openat", "../b/./g", fd, NULL);
	close(fd);
	/* a symlink: open follows it, resolved is the target */
	if (symlink("f", "ln") < 0)
		die("symlink");
	parent_plus("ln", want, sizeof(want));
	expect_path("file.symlink", "symlink", "f", want, NULL);
	if ((fd = open("ln", O_RDONLY)) < 0)
		die("open ln");
	expect_fd("file.open", "openat", "ln", fd, NULL);
	close(fd);
	/* a memfd, as the kernel names it */
	if ((m = memfd_create("sf-rz", 0)) < 0)
		die("memfd_create");
	expect_fd("file.memfd_create", "memfd_create", NULL, m, NULL);
	close(m);
	/* open_by_handle_at: the new fd's file */
	fh.fh.handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, "f", &fh.fh, &mnt_id, 0) == 0) {
		fd = open_by_handle_at(a, &fh.fh, O_RDONLY);
		if (fd >= 0) {
			expect_fd("file.open_by_handle", "open_by_handle_at",
				  NULL, fd, NULL);
			close(fd);
		}
	}
	close(a);
}

static void basic_paths(const char *dir)
{
	char p[2 * PATH_MAX], want[2 * PATH_MAX], want2[2 * PATH_MAX],
		real[PATH_MAX];
	int a;

	snprintf(p, sizeof(p), "%s/a", dir);
	if ((a = open(p, O_RDONLY | O_DIRECTORY)) < 0)
		die("open a");
	if (!realpath(p, real))
		die("realpath a");
	/* cwd is a/b: mkdir via the dirfd (a), rename from a to the cwd */
	if (mkdirat(a, "m", 0755) < 0)
		die("mkdirat");
	snprintf(want, sizeof(want), "%s/m", real);
	expect_path("file.mkdir", "mkdirat", "m", want, NULL);
	if (renameat(a, "m", AT_FDCWD, "m2") < 0)
		die("renameat");
	parent_plus("m2", want2, sizeof(want2));
	expect_path("file.rename", "renameat", "m", want, want2);
	/* rmdir through "..", via the cwd */
	if (rmdir("../b/m2") < 0)
		die("rmdir");
	expect_path("file.rmdir", "rmdir", "../b/m2", want2, NULL);
	/* link and unlink via the dirfd and the cwd */
	if (linkat(AT_FDCWD, "f", a, "hl", 0) < 0)
		die("linkat");
	parent_plus("f", want, sizeof(want));
	snprintf(want2, sizeof(want2), "%s/hl", real);
	expect_path("file.link", "linkat", "f", want, want2);
	if (unlinkat(a, "hl", 0) < 0)
		die("unlinkat");
	expect_path("file.unlink", "unlinkat", "hl", want2, NULL);
	if (chmod("./f", 0640) < 0)
		die("chmod");
	parent_plus("./f", want, sizeof(want));
	expect_path("file.chmod", "chmod", "./f", want, NULL);
	parent_plus("g", want, sizeof(want));
	if (setxattr("g", "user.sf", "1", 1, 0) == 0)
		expect_path("file.setxattr", "setxattr", "g", want, NULL);
	if (unlink("g") < 0)
		die("unlink");
	expect_path("file.unlink", "unlink", "g", want, NULL);
	/* an absolute path: the task's root is the base */
	snprintf(p, sizeof(p), "%s/b/abs", real);
	if (mkdir(p, 0755) < 0)
		die("mkdir abs");
	expect_path("file.mkdir", "mkdir", p, p, NULL);
	close(a);
}

/* open, unlink, then fchmod the open file: deleted */
static void basic_deleted(const char *dir)
{
	char p[2 * PATH_MAX], name[PATH_MAX];
	bool deleted;
	int fd;

	snprintf(p, sizeof(p), "%s/del", dir);
	if ((fd = open(p, O_CREAT | O_RDWR, 0644)) < 0)
		die("open del");
	fd_name(fd, name, sizeof(name), &deleted);
	if (unlink(p) < 0 || fchmod(fd, 0600) < 0)
		die("unlink/fchmod");
	expect_fd("file.chmod", "fchmod", NULL, fd, NULL);
	close(fd);
}

/* a path longer than the kernel walk takes: resolved_partial */
static void basic_long(const char *dir)
{
	char p[PATH_MAX];
	size_t l;
	int fd;

	l = (size_t)snprintf(p, sizeof(p), "%s", dir);
	for (int i = 0; i < 8; i++) {
		l += snprintf(p + l, sizeof(p) - l, "/%s%d",
			      "long-component-name-to-outgrow-the-walk", i);
		xmkdir(p);
	}
	snprintf(p + l, sizeof(p) - l, "/leaf");
	if ((fd = open(p, O_CREAT | O_RDWR, 0644)) < 0)
		die("open long");
	expect_fd("file.open", "openat", p, fd, ", \"resolved_partial\": true");
	close(fd);
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: resolved basic|open|chroot PATH OUT\n");
		return 2;
	}
	if (!(out = fopen(argv[3], "w")))
		die(argv[3]);
	if ((procfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY)) < 0)
		die("/proc/self/fd");
	if (!strcmp(argv[1], "basic")) {
		basic_fd(argv[2]);
		basic_paths(argv[2]);
		basic_deleted(argv[2]);
		basic_long(argv[2]);
	} else if (!strcmp(argv[1], "open")) {
		int fd = open(argv[2], O_RDONLY);

		if (fd < 0)
			die(argv[2]);
		expect_fd("file.open", "openat", argv[2], fd, NULL);
	} else if (!strcmp(argv[1], "chroot")) {
		char real[PATH_MAX], host[PATH_MAX + 32];
		int fd;

		if (!realpath(argv[2], real))
			die("realpath");
		/* the new root, a path in the mount namespace */
		fprintf(out, "{\"type\": \"fs.chroot\", \"syscall\": \"chroot\"");
		json_str("path", argv[2]);
		json_str("resolved", real);
		fprintf(out, "}\n");
		if (chroot(argv[2]) < 0 || chdir("/") < 0)
			die("chroot");
		if ((fd = open("/etc/sf-file", O_RDONLY)) < 0)
			die("open in chroot");
		/* readlink from inside: relative to the new root; the host
		 * sees it under the root's real path */
		snprintf(host, sizeof(host), ", \"host_path\": \"%s/etc/sf-file\"",
			 real);
		expect_fd("file.open", "openat", "/etc/sf-file", fd, host);
	} else {
		fprintf(stderr, "resolved: unknown mode `%s`\n", argv[1]);
		return 2;
	}
	fclose(out);
	return 0;
}
