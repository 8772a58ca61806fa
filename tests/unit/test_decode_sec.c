// SPDX-License-Identifier: GPL-2.0
/*
 * The security types' decoder (agent/encoders/decode_sec.c) on crafted
 * records: kernel paths joined root first (and flagged when cut), flags
 * named with the unnamed rest in hex, the header additions (via io_uring,
 * opcode, suppressed), fd.dup's source, exec's image replacing a
 * /dev/fd/N filename; and each record written by json as valid JSON.
 */
#include <stdlib.h>
#include <sys/syscall.h>
#include <yajl/yajl_tree.h>

#include "decode.h"
#include "encode.h"
#include "tap.h"
#include "workload.h"

static const struct decode_kv *kv(const struct decode_event *v, const char *k)
{
	for (unsigned i = 0; i < v->x.n; i++)
		if (strcmp(v->x.kv[i].key, k) == 0)
			return &v->x.kv[i];
	return NULL;
}

static const char *kvs(const struct decode_event *v, const char *k)
{
	const struct decode_kv *p = kv(v, k);
	static char buf[600];

	if (!p || p->kind != DECODE_KV_STR)
		return p ? "(not a string)" : "(absent)";
	if (!p->s)
		return "(null)";
	snprintf(buf, sizeof(buf), "%.*s", (int)p->len, p->s);
	return buf;
}

static void hdr(struct sf_hdr *h, int type, unsigned nr)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->pid = h->tid = 10;
	h->syscall = nr;
	h->flags = SF_F_HAS_RET;
	strcpy(h->comm, "t");
}

/* components leaf first, as the BPF side writes them */
static void kpath(struct sf_kpath *k, const char *const *c, int n, int root)
{
	size_t off = 0;

	memset(k, 0, sizeof(*k));
	for (int i = 0; i < n; i++) {
		strcpy(k->buf + off, c[i]);
		off += strlen(c[i]) + 1;
	}
	k->n = n;
	k->flags = root ? SF_KP_ROOT : 0;
}

static bool json_ok(const struct decode_event *v)
{
	struct workload wl = {.name = "w"};
	struct sbuf o = {0};
	char err[128];
	yajl_val t;
	bool good;

	encoder_find("json")->ops->event(&o, &wl, 1, 1, v);
	sbuf_putc(&o, 0);
	t = yajl_tree_parse(o.data, err, sizeof(err));
	good = t != NULL;
	yajl_tree_free(t);
	free(o.data);
	return good;
}

static void test_dup_and_paths(void)
{
	static struct sf_sec_event e;
	const char *const c[] = {"log", "data", "srv"};
	struct decode_event v;

	hdr(&e.hdr, SF_EV_DUP, SYS_dup2);
	e.arg[0] = 5, e.arg[1] = 2;
	kpath(&e.kpath, c, 3, 1);
	ok(decode_event(&v, &e, sizeof(e)) == DECODE_OK, "fd.dup decodes");
	is_str(kvs(&v, "source"), "/srv/data/log",
	       "kernel path joined root first");
	ok(kv(&v, "newfd") && kv(&v, "newfd")->i == 2, "dup2: newfd is arg1");
	ok(!kv(&v, "source")->truncated, "a complete path is not cut");
	ok(json_ok(&v), "json writes it as valid JSON");

	kpath(&e.kpath, c, 2, 0);
	decode_event(&v, &e, sizeof(e));
	is_str(kvs(&v, "source"), "/data/log", "a cut path: what was walked");
	ok(kv(&v, "source")->truncated, "and flagged as cut");

	e.family = 2, e.port = 4444;
	e.addr[0] = 10, e.addr[3] = 7;
	decode_event(&v, &e, sizeof(e));
	is_str(kvs(&v, "addr"), "10.0.0.7", "a socket: its peer instead");
	ok(kv(&v, "port")->i == 4444 && !kv(&v, "source"), "port, no source");

	hdr(&e.hdr, SF_EV_DUP, SYS_fcntl);
	e.hdr.ret = 0, e.family = 0;
	kpath(&e.kpath, c, 1, 1);
	decode_event(&v, &e, sizeof(e));
	ok(kv(&v, "newfd")->i == 0, "fcntl(F_DUPFD): newfd is the result");
}

static void test_bits_and_strings(void)
{
	static struct sf_sec_event e;
	struct decode_event v;

	hdr(&e.hdr, SF_EV_MOUNT, SYS_mount);
	e.arg[3] = 4096 | 16384 | (1u << 28);
	strcpy(e.str[1], "/mnt");
	e.hdr.flags |= SF_F_PATH_FAULT; /* source NULL */
	decode_event(&v, &e, sizeof(e));
	is_str(kvs(&v, "flags"), "MS_BIND|MS_REC|0x10000000",
	       "named bits, the rest in hex");
	is_str(kvs(&v, "source"), "(null)", "a NULL string is null");
	is_str(kvs(&v, "target"), "/mnt", "target");
	ok(json_ok(&v), "valid JSON");

	hdr(&e.hdr, SF_EV_UNSHARE, SYS_unshare);
	e.arg[0] = 0;
	decode_event(&v, &e, sizeof(e));
	is_str(kvs(&v, "flags"), "0", "no bit: 0");
}

static void test_header_additions(void)
{
	static struct sf_file_event f;
	static struct sf_sec_event e;
	struct decode_event v;

	hdr(&f.hdr, SF_EV_OPEN, 0);
	f.hdr.via = SF_VIA_IO_URING, f.hdr.uring_op = 18;
	strcpy(f.path, "/etc/shadow");
	decode_event(&v, &f, sizeof(f));
	is_str(kvs(&v, "via"), "io_uring", "via io_uring");
	is_str(kvs(&v, "opcode"), "IORING_OP_OPENAT", "opcode named");
	ok(v.x.nhdr == 2 && !v.syscall, "header part; no syscall");
	ok(json_ok(&v), "valid JSON");

	hdr(&e.hdr, SF_EV_URING_OP, 0);
	e.hdr.via = SF_VIA_IO_URING, e.hdr.uring_op = 22;
	e.hdr.suppressed = 7;
	e.hdr.flags |= SF_F_UNRESOLVED;
	decode_event(&v, &e, sizeof(e));
	ok(kv(&v, "suppressed") && kv(&v, "suppressed")->i == 7,
	   "suppressed count");
	ok(kv(&v, "unresolved") && kv(&v, "unresolved")->i == 1,
	   "unresolved flag");
}

/* io_uring without a result; the rate limit's counts on process.exit */
static void test_no_result_and_exit_counts(void)
{
	static struct sf_file_event f;
	static struct sf_exit_event x;
	const struct decode_kv *s;
	struct decode_event v;

	hdr(&f.hdr, SF_EV_OPEN, 0);
	f.hdr.via = SF_VIA_IO_URING, f.hdr.uring_op = 18;
	f.hdr.flags = SF_F_URING_FULL; /* no SF_F_HAS_RET */
	decode_event(&v, &f, sizeof(f));
	is_str(kvs(&v, "no_result"), "table_full", "table full: no_result");
	ok(!v.has_ret, "table full: no ret");
	f.hdr.flags = SF_F_URING_NO_CQE;
	decode_event(&v, &f, sizeof(f));
	is_str(kvs(&v, "no_result"), "no_completion",
	       "no completion: no_result");

	hdr(&x.hdr, SF_EV_EXIT, 0);
	x.hdr.flags = SF_F_GROUP_DEAD;
	decode_event(&v, &x, sizeof(x));
	ok(!kv(&v, "suppressed"), "exit without counts: no suppressed");
	x.nsupp = 2, x.supp_other = 3;
	x.supp[0] = (struct sf_supp){SF_EV_MEM_EXEC, 0, 28};
	x.supp[1] = (struct sf_supp){SF_EV_URING_OP, 22, 4};
	decode_event(&v, &x, sizeof(x));
	s = kv(&v, "suppressed");
	ok(s && s->kind == DECODE_KV_OBJ && s->i == 35, "exit: counts summed");
	ok(s && s->len == strlen(s->s) &&
		   !strcmp(s->s,
			   "{\"mem.exec\":28,\"io_uring.op:IORING_OP_READ\":4,\"other\":3}"),
	   "exit: an object keyed by kind");
	ok(json_ok(&v), "valid JSON");
	x.nsupp = 1000; /* more than it holds: cut, not overrun */
	decode_event(&v, &x, sizeof(x));
	ok(json_ok(&v), "nsupp out of range: valid JSON");
}

static void test_exec_image(void)
{
	static struct sf_exec_event e;
	const char *const c[] = {"memfd:x"};
	struct decode_event v;

	hdr(&e.hdr, SF_EV_EXEC, 0);
	strcpy(e.filename, "/dev/fd/3");
	e.exe_flags = SF_EXE_MEMFD | SF_EXE_DELETED | SF_EXE_FD_TARGET;
	kpath(&e.exe, c, 1, 1);
	kpath(&e.cwd, c, 0, 1);
	decode_event(&v, &e, sizeof(e));
	ok(v.path.len == 8 && !memcmp(v.path.s, "/memfd:x", 8),
	   "an exec from an fd: filename is the fd's file");
	ok(kv(&v, "exe_memfd")->i && kv(&v, "exe_deleted")->i &&
		   !kv(&v, "exe_upper_layer")->i,
	   "image flags");
	is_str(kvs(&v, "cwd"), "/", "cwd at the root");
	ok(json_ok(&v), "valid JSON");

	e.hdr.syscall = 59, e.hdr.ret = -2; /* a failed execve: no image */
	decode_event(&v, &e, sizeof(e));
	ok(!kv(&v, "exe"), "a failed exec has no image keys");
}

int main(void)
{
	test_dup_and_paths();
	test_bits_and_strings();
	test_header_additions();
	test_no_result_and_exit_counts();
	test_exec_image();
	return tap_done();
}
