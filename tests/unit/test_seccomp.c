// SPDX-License-Identifier: GPL-2.0
/* agent/seccomp/seccomp_profile.c under ASan+UBSan: profiles from recorded
 * syscall bits, base-profile merging, modes, safe writing. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "json.h"
#include "seccomp_profile.h"
#include "tap.h"

static void set(__u64 *bits, unsigned nr)
{
	bits[nr / 64] |= 1ull << (nr % 64);
}

/* The profile's "names" of rule i joined by ',' */
static char *rule_names(yajl_val p, size_t i, const char **action)
{
	yajl_val rules = json_get(p, "syscalls"), names;
	static char buf[4096];
	size_t o = 0;

	buf[0] = 0;
	*action = NULL;
	if (!YAJL_IS_ARRAY(rules) || i >= rules->u.array.len)
		return NULL;
	*action = json_get_str(rules->u.array.values[i], "action");
	names = json_get(rules->u.array.values[i], "names");
	for (size_t k = 0; YAJL_IS_ARRAY(names) && k < names->u.array.len; k++)
		o += (size_t)snprintf(
			buf + o, sizeof(buf) - o, "%s%s", k ? "," : "",
			YAJL_GET_STRING(names->u.array.values[k]));
	return buf;
}

static yajl_val build(const struct sf_seccomp_bits *r, const char *base,
		      struct seccomp_profile_result *res, char **text)
{
	struct sf_error *err = NULL;
	size_t len;
	yajl_val v;

	*text = NULL;
	if (seccomp_profile_build(r, base, text, &len, res, &err) < 0) {
		printf("# %s\n", err->msg);
		sf_error_free(err);
		return NULL;
	}
	v = json_parse(*text, "profile", &err);
	sf_error_free(err);
	return v;
}

static void test_plain(void)
{
	struct sf_seccomp_bits r = {};
	struct seccomp_profile_result res;
	const char *action;
	char *text;
	yajl_val p, arches;

	set(r.native, SYS_write);
	set(r.native, SYS_read);
	set(r.native, SYS_openat);
	set(r.native, SYS_exit_group);
	p = build(&r, NULL, &res, &text);
	ok(p != NULL, "a profile is built and is JSON");
	is_str(json_get_str(p, "defaultAction"), "SCMP_ACT_ERRNO",
	       "default action: errno");
	ok(YAJL_IS_INTEGER(json_get(p, "defaultErrnoRet")) &&
		   YAJL_GET_INTEGER(json_get(p, "defaultErrnoRet")) == EPERM,
	   "default errno EPERM");
	arches = json_get(p, "architectures");
	ok(YAJL_IS_ARRAY(arches) && arches->u.array.len == 1,
	   "only the native architecture without 32-bit calls");
	is_str(rule_names(p, 0, &action), "exit_group,openat,read,write",
	       "the names sorted");
	is_str(action, "SCMP_ACT_ALLOW", "allowed");
	ok(res.allowed == 4 && !res.compat && !res.io_uring && !res.blocked,
	   "result counts");
	ok(text[strlen(text) - 1] == '\n', "ends with a newline");
	yajl_tree_free(p);
	free(text);
}

static void test_compat(void)
{
	struct sf_seccomp_bits r = {};
	struct seccomp_profile_result res;
	const char *action;
	char *text;
	yajl_val p, arches;

	set(r.native, SYS_read);
	set(r.compat, 3); /* ia32 read */
	set(r.compat, 102); /* ia32 socketcall: no native name */
	set(r.native, 511); /* no syscall has this number */
	p = build(&r, NULL, &res, &text);
	ok(p != NULL, "compat record builds");
	arches = json_get(p, "architectures");
	ok(YAJL_IS_ARRAY(arches) && arches->u.array.len == 2,
	   "the compat architecture is listed");
	is_str(rule_names(p, 0, &action), "read,socketcall",
	       "names from both numberings, once each");
	ok(res.compat && res.unnamed == 1, "compat seen, one unnamed number");
	yajl_tree_free(p);
	free(text);
}

static void test_base(void)
{
	const char *base =
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[{\"names\":[\"read\"],\"action\":\"SCMP_ACT_ALLOW\"},{\"names\":[\"openat\",\"ptrace\"],\"action\":\"SCMP_ACT_ERRNO\"},{\"names\":[\"socket\"],\"action\":\"SCMP_ACT_ALLOW\",\"args\":[{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"}]}]}";
	struct sf_seccomp_bits r = {};
	struct seccomp_profile_result res;
	const char *action;
	char *text;
	yajl_val p;

	set(r.native, SYS_read);
	set(r.native, SYS_write);
	set(r.native, SYS_openat);
	set(r.native, SYS_socket);
	set(r.native, SYS_io_uring_setup);
	set(r.uring, 18);
	p = build(&r, base, &res, &text);
	ok(p != NULL, "merged with a base profile");
	ok(YAJL_GET_INTEGER(json_get(p, "defaultErrnoRet")) == 38,
	   "the base's keys are kept");
	is_str(rule_names(p, 0, &action), "read", "base rule 1 first");
	is_str(rule_names(p, 1, &action), "openat,ptrace", "base rule 2 kept");
	is_str(action, "SCMP_ACT_ERRNO", "still denied");
	is_str(rule_names(p, 3, &action), "io_uring_setup,write",
	       "observed and undecided by the base: added");
	is_str(action, "SCMP_ACT_ALLOW", "added as allowed");
	is_str(rule_names(p, 4, &action), "openat",
	       "observed but denied: said, and stays denied");
	is_str(action, "SCMP_ACT_ERRNO", "the note rule denies");
	ok(res.allowed == 2 && res.blocked == 1 && res.io_uring,
	   "result counts with a base");
	ok(strstr(text, "bypass seccomp") && strstr(text, " 18"),
	   "io_uring allowed: the comment says so, with the opcodes");
	yajl_tree_free(p);
	free(text);

	p = build(&r, "{\"defaultAction\":\"SCMP_ACT_ALLOW\"}", &res, &text);
	ok(p && res.allowed == 0,
	   "a base that allows by default needs no rule");
	yajl_tree_free(p);
	free(text);
}

static void expect_error(const char *base, const char *want, const char *what)
{
	struct sf_seccomp_bits r = {};
	struct seccomp_profile_result res;
	struct sf_error *err = NULL;
	char *out = NULL;
	size_t len;
	int rc;

	set(r.native, SYS_read);
	rc = seccomp_profile_build(&r, base, &out, &len, &res, &err);
	ok(rc < 0 && err && strstr(err->msg, want), "%s", what);
	if (err)
		printf("#   %s\n", err->msg);
	sf_error_free(err);
	free(out);
}

static void test_bad_base(void)
{
	expect_error("{", "is not valid JSON", "a base that is not JSON");
	expect_error("[]", "no \"defaultAction\"", "a base that is no profile");
	expect_error("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":{}}",
		     "not an array", "rules not an array");
	expect_error(
		"{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[{\"names\":[\"read\"]}]}",
		"rule 1 has no \"action\"", "a rule without action");
}

static void test_modes(void)
{
	struct sf_error *err = NULL;
	char *base = NULL;

	ok(seccomp_profile_parse_mode("record", &base, &err) == 0 && !base,
	   "record");
	ok(seccomp_profile_parse_mode("record:web.json", &base, &err) == 0 &&
		   base && !strcmp(base, "web.json"),
	   "record:BASE");
	free(base);
	ok(seccomp_profile_parse_mode("record:../etc/x", &base, &err) < 0 &&
		   strstr(err->msg, "no '/'"),
	   "a base outside the profile directory is refused");
	sf_error_free(err);
	err = NULL;
	ok(seccomp_profile_parse_mode("enforce", &base, &err) < 0 &&
		   strstr(err->msg, "unknown mode `enforce`"),
	   "an unknown mode is refused, named");
	sf_error_free(err);
}

static void test_write(void)
{
	char dir[] = "/tmp/sfseccomp.XXXXXX", path[256], victim[256], buf[64];
	struct sf_error *err = NULL;
	char *got = NULL;
	int dfd, fd;
	ssize_t n;

	ok(mkdtemp(dir) != NULL, "temp dir");
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	fd = open(victim, O_WRONLY | O_CREAT, 0644);
	ok(write(fd, "keep", 4) == 4, "victim written");
	close(fd);
	snprintf(path, sizeof(path), "%s/w.seccomp.json", dir);
	ok(symlink(victim, path) == 0, "a planted symlink at the name");
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ok(seccomp_profile_write_at(dfd, "w.seccomp.json", "{}\n", 3, &err) ==
		   0,
	   "written over the planted name");
	fd = open(victim, O_RDONLY);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ok(n == 4 && !memcmp(buf, "keep", 4), "the symlink's target untouched");
	fd = open(path, O_RDONLY | O_NOFOLLOW);
	ok(fd >= 0, "the profile is a regular file now");
	close(fd);
	ok(seccomp_profile_write_at(dfd, "../x", "{}\n", 3, &err) < 0,
	   "a name with '/' is refused");
	sf_error_free(err);
	err = NULL;
	ok(seccomp_profile_read_base(dir, "w.seccomp.json", &got, &err) == 0 &&
		   !strcmp(got, "{}\n"),
	   "reads a base from the directory");
	free(got);
	got = NULL;
	unlink(path);
	symlink(victim, path);
	ok(seccomp_profile_read_base(dir, "w.seccomp.json", &got, &err) < 0,
	   "a base that is a symlink is refused");
	sf_error_free(err);
	unlink(path);
	unlink(victim);
	close(dfd);
	rmdir(dir);
}

int main(void)
{
	test_plain();
	test_compat();
	test_base();
	test_bad_base();
	test_modes();
	test_write();
	return tap_done();
}
