// SPDX-License-Identifier: GPL-2.0
/* The JSON encoder: every event type gives one valid JSON line with its fields. */
#include <yajl/yajl_tree.h>

#include "encode.h"
#include "tap.h"
#include "workload.h"

static struct workload wl = {.name = "wl\"1", .slot = 1};

static yajl_val encode(const void *ev, size_t size)
{
	struct sbuf b = {0};
	char err[256];
	yajl_val v;

	struct decode_event d;

	if (decode_event(&d, ev, size) < 0)
		return NULL;
	encode_json_ops.event(&b, &wl, 7, 1700000000000000000ull, &d);
	if (!b.len || b.data[b.len - 1] != '\n' ||
	    memchr(b.data, '\n', b.len - 1)) {
		sbuf_free(&b);
		return NULL; /* not exactly one line */
	}
	b.data[b.len - 1] = 0;
	v = yajl_tree_parse(b.data, err, sizeof(err));
	if (!v)
		printf("# %s\n# %s\n", err, b.data);
	sbuf_free(&b);
	return v;
}

static const char *s(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val x = yajl_tree_get(v, path, yajl_t_string);

	return x ? YAJL_GET_STRING(x) : NULL;
}

static long long n(yajl_val v, const char *key)
{
	const char *path[] = {key, NULL};
	yajl_val x = yajl_tree_get(v, path, yajl_t_number);

	return x ? YAJL_GET_INTEGER(x) : -999999;
}

static void hdr(struct sf_hdr *h, int type)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->slot = 1;
	h->pid = 100, h->tid = 101, h->ppid = 1, h->uid = 1000, h->gid = 1000;
	strcpy(h->comm, "cmd");
	h->flags = SF_F_HAS_RET;
}

int main(void)
{
	struct sf_file_event f;
	struct sf_exec_event x;
	struct sf_net_event ne;
	struct sf_kill_event k;
	struct sf_exit_event ex;
	struct sf_cap_event c;
	yajl_val v;

	memset(&f, 0, sizeof(f));
	hdr(&f.hdr, SF_EV_OPEN);
	f.hdr.syscall = 257;
	f.hdr.ret = 3;
	f.arg0 = -100, f.arg1 = 0101, f.arg2 = 0644; /* O_WRONLY|O_CREAT */
	strcpy(f.path, "/tmp/\xff\"x");
	v = encode(&f, sizeof(f));
	ok(v != NULL, "file.open is one valid JSON line");
	is_str(s(v, "type"), "file.open", "type");
	is_str(s(v, "workload"), "wl\"1", "workload escaped");
	ok(n(v, "seq") == 7 && n(v, "pid") == 100 && n(v, "ret") == 3 &&
		   n(v, "fd") == 3,
	   "seq, pid, ret, fd");
	is_str(s(v, "path"), "/tmp/\xc3\xbf\"x", "invalid byte kept as U+00FF");
	is_str(s(v, "flags"), "O_WRONLY|O_CREAT", "flags decoded");
	is_str(s(v, "mode"), "0644", "mode in octal");
	ok(n(v, "dirfd") == -100, "dirfd: an integer, AT_FDCWD is -100");
	is_str(s(v, "syscall"), "openat", "syscall name");
	yajl_tree_free(v);

	f.hdr.type = SF_EV_RENAME;
	f.hdr.flags |= SF_F_PATH2_TRUNC;
	strcpy(f.path2, "/tmp/new");
	v = encode(&f, sizeof(f));
	is_str(s(v, "newpath"), "/tmp/new", "rename newpath");
	{
		const char *p[] = {"newpath_truncated", NULL};

		ok(YAJL_IS_TRUE(yajl_tree_get(v, p, yajl_t_true)),
		   "truncation flagged");
	}
	yajl_tree_free(v);

	memset(&x, 0, sizeof(x));
	hdr(&x.hdr, SF_EV_EXEC);
	strcpy(x.filename, "/bin/ls");
	memcpy(x.argv, "ls\0-l\0/tmp\0", 11);
	x.argv_len = 11;
	v = encode(&x, sizeof(x));
	{
		const char *p[] = {"argv", NULL};
		yajl_val a = yajl_tree_get(v, p, yajl_t_array);

		const char *third =
			a && a->u.array.len == 3
				? YAJL_GET_STRING(a->u.array.values[2])
				: NULL;

		is_str(third, "/tmp", "exec argv split");
	}
	is_str(s(v, "filename"), "/bin/ls", "exec filename");
	yajl_tree_free(v);

	memset(&ne, 0, sizeof(ne));
	hdr(&ne.hdr, SF_EV_CONNECT);
	ne.family = 2, ne.port = 8080;
	ne.addr[0] = 127, ne.addr[3] = 1;
	v = encode(&ne, sizeof(ne));
	ok(v && strcmp(s(v, "addr"), "127.0.0.1") == 0 && n(v, "port") == 8080,
	   "connect addr and port");
	yajl_tree_free(v);
	ne.family = 10;
	memset(ne.addr, 0, 16);
	ne.addr[15] = 1;
	v = encode(&ne, sizeof(ne));
	is_str(s(v, "addr"), "::1", "IPv6 address");
	yajl_tree_free(v);

	memset(&k, 0, sizeof(k));
	hdr(&k.hdr, SF_EV_KILL);
	k.target_pid = 55, k.sig = 9;
	v = encode(&k, sizeof(k));
	ok(n(v, "target_pid") == 55 && strcmp(s(v, "sig"), "SIGKILL") == 0,
	   "kill");
	yajl_tree_free(v);

	memset(&ex, 0, sizeof(ex));
	hdr(&ex.hdr, SF_EV_EXIT);
	ex.hdr.flags = SF_F_GROUP_DEAD;
	ex.exit_code = 3 << 8;
	v = encode(&ex, sizeof(ex));
	ok(n(v, "exit_code") == 3 && !s(v, "sig"), "exit code");
	yajl_tree_free(v);

	memset(&c, 0, sizeof(c));
	hdr(&c.hdr, SF_EV_CAPABLE);
	c.cap = 21, c.result = -1;
	v = encode(&c, sizeof(c));
	is_str(s(v, "cap_name"), "CAP_SYS_ADMIN", "capability name");
	yajl_tree_free(v);

	/* a record shorter than its type is refused by the decoder (counted
	 * as malformed by the agent), never half-written */
	ok(encode(&c, sizeof(struct sf_hdr)) == NULL,
	   "short record: not encoded");

	return tap_done();
}
