// SPDX-License-Identifier: GPL-2.0
/*
 * The decoder (agent/encoders/decode.c) on crafted raw records: each field
 * placed where the view says, and malformed records (short, unknown type,
 * garbage) refused without a crash; whatever it accepts, every format
 * writes as one valid JSON line.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "decode.h"
#include "encode.h"
#include "tap.h"
#include "workload.h"

static void hdr(struct sf_hdr *h, int type, unsigned nr)
{
	memset(h, 0, sizeof(*h));
	h->type = type;
	h->slot = 3;
	h->pid = 100, h->tid = 101, h->ppid = 1, h->uid = 1000, h->gid = 1001;
	h->euid = 0, h->cgid = 4242, h->ts_boot = 99;
	h->syscall = nr;
	strcpy(h->comm, "cmd");
	h->flags = SF_F_HAS_RET;
}

static void test_header(void)
{
	struct sf_file_event f = {0}; /* as the kernel side: every field set */
	struct decode_event v;

	hdr(&f.hdr, SF_EV_OPEN, 257);
	f.hdr.ret = 5;
	f.hdr.flags |= SF_F_INTERRUPTED | SF_F_COMPAT;
	f.arg0 = -100, f.arg1 = O_WRONLY | O_CREAT, f.arg2 = 0100644;
	strcpy(f.path, "/tmp/x");
	ok(decode_event(&v, &f, sizeof(f)) == DECODE_OK, "open decodes");
	is_str(v.type_name, "file.open", "type name");
	ok(v.cls == DECODE_CLASS_FILE && v.type == SF_EV_OPEN, "class, type");
	ok(v.pid == 100 && v.tid == 101 && v.ppid == 1 && v.uid == 1000 &&
		   v.gid == 1001 && v.euid == 0 && v.cgid == 4242 &&
		   v.slot == 3 && v.ts_boot == 99,
	   "header ids");
	ok(decode_str_len(&v.comm) == 3 && !memcmp(v.comm.s, "cmd", 3), "comm");
	is_str(v.syscall, "openat", "syscall name");
	ok(v.has_ret && v.ret == 5 && v.interrupted && v.compat,
	   "ret, interrupted, compat");
	ok((v.has & DECODE_HAS_PATH) && decode_str_len(&v.path) == 6 &&
		   !v.path.fault && !v.path.truncated,
	   "path");
	ok((v.has & DECODE_HAS_DIRFD) && v.dirfd == -100, "dirfd is arg0");
	ok((v.has & DECODE_HAS_FLAGS) && v.flags == (O_WRONLY | O_CREAT) &&
		   v.flag_names == &decode_open_flags,
	   "flags raw, with their names");
	ok((v.has & DECODE_HAS_MODE) && v.mode == 0644,
	   "O_CREAT: mode is arg2, file type bits cut");
	ok((v.has & DECODE_HAS_FD) && v.fd == 5, "open: fd is the result");

	f.arg1 = O_RDONLY;
	f.hdr.ret = -2;
	f.hdr.flags = SF_F_HAS_RET | SF_F_PATH_TRUNC;
	decode_event(&v, &f, sizeof(f));
	ok(!(v.has & DECODE_HAS_MODE) && !(v.has & DECODE_HAS_FD),
	   "no O_CREAT: no mode; failed: no fd");
	ok(v.path.truncated && !v.interrupted && !v.compat, "path truncated");

	f.hdr.flags = SF_F_PATH_FAULT;
	decode_event(&v, &f, sizeof(f));
	ok(v.path.fault && !v.has_ret, "path fault, no ret");
}

static void test_file_args(void)
{
	struct sf_file_event f = {0}; /* as the kernel side: every field set */
	struct decode_event v;

	hdr(&f.hdr, SF_EV_CHMOD, 268);
	f.arg0 = 7, f.arg1 = 0755, f.arg2 = -1;
	strcpy(f.path, "p");
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_PATH) && (v.has & DECODE_HAS_DIRFD) &&
		   v.dirfd == 7 && !(v.has & DECODE_HAS_FD) && v.mode == 0755,
	   "fchmodat: path, dirfd arg0, mode arg1");
	f.arg2 = 4;
	decode_event(&v, &f, sizeof(f));
	ok(!(v.has & DECODE_HAS_PATH) && (v.has & DECODE_HAS_FD) && v.fd == 4,
	   "fchmod: fd is arg2, no path");

	hdr(&f.hdr, SF_EV_CHOWN, 260);
	f.arg0 = -100, f.arg1 = 10, f.arg2 = 20, f.arg3 = -1;
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_OWNER) && v.owner == 10 && v.group == 20 &&
		   (v.has & DECODE_HAS_PATH),
	   "chown: owner arg1, group arg2, path");
	f.arg3 = 9;
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_FD) && v.fd == 9 && !(v.has & DECODE_HAS_PATH),
	   "fchown: fd is arg3");

	hdr(&f.hdr, SF_EV_TRUNCATE, 76);
	f.arg0 = 1ll << 40, f.arg1 = -1;
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_LENGTH) && v.length == 1ll << 40 &&
		   (v.has & DECODE_HAS_PATH) && !(v.has & DECODE_HAS_DIRFD),
	   "truncate: 64-bit length arg0, path, no dirfd");
	f.arg1 = 3;
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_FD) && v.fd == 3, "ftruncate: fd is arg1");

	hdr(&f.hdr, SF_EV_RENAME, 316);
	f.arg0 = 5, f.arg1 = -100, f.arg2 = 1;
	strcpy(f.path2, "new");
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_PATH2) && decode_str_len(&v.path2) == 3 &&
		   v.dirfd == 5 && v.newdirfd == -100 &&
		   (v.has & DECODE_HAS_FLAGS) && v.flags == 1,
	   "renameat2: olddirfd, newdirfd, flags");
	hdr(&f.hdr, SF_EV_SYMLINK, 266);
	f.arg0 = 8;
	decode_event(&v, &f, sizeof(f));
	ok(!(v.has & DECODE_HAS_DIRFD) && (v.has & DECODE_HAS_NEWDIRFD) &&
		   v.newdirfd == 8 && !(v.has & DECODE_HAS_FLAGS),
	   "symlinkat: newdirfd is arg0, no flags");

	hdr(&f.hdr, SF_EV_MKDIR, 258);
	f.arg0 = -100, f.arg1 = 040700;
	decode_event(&v, &f, sizeof(f));
	ok((v.has & DECODE_HAS_MODE) && v.mode == 0700, "mkdir: mode arg1");
	hdr(&f.hdr, SF_EV_UNLINK, 263);
	decode_event(&v, &f, sizeof(f));
	ok(!(v.has & DECODE_HAS_MODE) && (v.has & DECODE_HAS_DIRFD),
	   "unlink: dirfd, no mode");
}

static void test_other_classes(void)
{
	struct sf_exec_event x;
	struct sf_exit_event ex;
	struct sf_kill_event k;
	struct sf_net_event n;
	struct sf_cap_event c;
	struct decode_event v;
	const char *arg;
	uint32_t pos = 0;
	size_t len;
	int args = 0;

	hdr(&x.hdr, SF_EV_EXEC, 59);
	strcpy(x.filename, "/bin/ls");
	memcpy(x.argv, "ls\0-l\0/tm", 10);
	x.argv_len = 10;
	decode_event(&v, &x, sizeof(x));
	while (decode_argv_next(&v, &pos, &arg, &len))
		args++;
	ok(args == 3 && len == 3 && !memcmp(arg, "/tm", 3),
	   "argv: 3 arguments, a cut last one kept");
	x.argv_len = 1u << 31;
	decode_event(&v, &x, sizeof(x));
	ok(v.argv_len == SF_ARGV_MAX, "argv_len clamped to the array");

	hdr(&ex.hdr, SF_EV_EXIT, 0);
	ex.exit_code = 0x8b; /* SIGSEGV, core */
	decode_event(&v, &ex, sizeof(ex));
	ok(v.exit_sig == 11 && v.core_dumped && (v.has & DECODE_HAS_SIG),
	   "exit: killed by a signal, core dumped");
	is_str(v.sig_name, "SIGSEGV", "exit: signal name");
	ok(v.syscall == NULL, "exit: no syscall");
	ex.exit_code = 3 << 8;
	decode_event(&v, &ex, sizeof(ex));
	ok(v.exit_code == 3 && !v.exit_sig && !(v.has & DECODE_HAS_SIG),
	   "exit: code 3");

	hdr(&k.hdr, SF_EV_KILL, 234);
	k.target_pid = 0, k.target_tid = 77, k.sig = 15;
	decode_event(&v, &k, sizeof(k));
	ok(v.target == 77 && !v.has_target_pid && v.has_target_tid,
	   "tkill: the target is the tid");
	is_str(v.sig_name, "SIGTERM", "kill: signal name");
	k.sig = 0;
	decode_event(&v, &k, sizeof(k));
	is_str(v.sig_name, "0", "signal 0");
	k.sig = -5;
	decode_event(&v, &k, sizeof(k));
	is_str(v.sig_name, "SIG-5", "a bad signal number");

	memset(&n, 0, sizeof(n));
	hdr(&n.hdr, SF_EV_CONNECT, 42);
	n.fd = 3, n.family = 10, n.port = 443;
	n.addr[15] = 1;
	decode_event(&v, &n, sizeof(n));
	ok((v.has & DECODE_HAS_INET) && v.port == 443 && v.net_fd == 3,
	   "connect: inet6");
	is_str(v.addr_str, "::1", "address text");
	is_str(v.family_name, "AF_INET6", "family name");
	n.family = 1;
	strcpy(n.unix_path, "/run/x.sock");
	decode_event(&v, &n, sizeof(n));
	ok((v.has & DECODE_HAS_UNIX) && decode_str_len(&v.unix_path) == 11,
	   "connect: unix path");
	hdr(&n.hdr, SF_EV_SOCKET, 41);
	n.type = 1 | 02000000 | 04000; /* SOCK_STREAM|SOCK_CLOEXEC|NONBLOCK */
	decode_event(&v, &n, sizeof(n));
	ok((v.has & DECODE_HAS_SOCKTYPE) && v.socktype == 1 &&
		   !(v.has & DECODE_HAS_UNIX),
	   "socket: type without its flags, no address");
	hdr(&n.hdr, SF_EV_BIND, 49);
	n.family = 0;
	decode_event(&v, &n, sizeof(n));
	ok(!(v.has & DECODE_HAS_FAMILY), "bind, family unknown: no family");

	hdr(&c.hdr, SF_EV_CAPABLE, 105);
	c.cap = 7, c.result = 0;
	decode_event(&v, &c, sizeof(c));
	ok(v.granted && v.syscall == NULL,
	   "cap: granted, no syscall of its own");
	is_str(v.cap_name, "CAP_SETUID", "cap name");
	c.cap = 1000;
	decode_event(&v, &c, sizeof(c));
	is_str(v.cap_name, "CAP_UNKNOWN", "cap out of range");
}

/* the json writer's record for raw, from `from` on */
static const char *json_of(const void *raw, size_t size, const char *from)
{
	static struct workload w = {.name = "w", .slot = 3};
	static struct sbuf b;
	struct decode_event v;
	const char *p;

	b.len = 0;
	if (decode_event(&v, raw, size) != DECODE_OK)
		return "(refused)";
	encoder_find("json")->ops->event(&b, &w, 1, 1, &v);
	b.data[b.len - 1] = 0; /* the '\n' */
	p = strstr(b.data, from);
	return p ? p : b.data;
}

/* what issue 15 asked of the schema, on the decoder and the json writer */
static void test_schema_fixes(void)
{
	struct sf_fork_event fk;
	struct sf_exit_event ex = {0};
	struct sf_exec_event x;
	struct sf_file_event f = {0}; /* as the kernel side: every field set */
	struct decode_event v;

	hdr(&fk.hdr, SF_EV_FORK, 0);
	fk.hdr.flags = SF_F_THREAD;
	fk.child_pid = 100, fk.child_tid = 105;
	decode_event(&v, &fk, sizeof(fk));
	ok(v.has_ret && v.ret == 105, "fork: ret is what clone returned (tid)");

	hdr(&ex.hdr, SF_EV_EXIT, 0);
	ex.hdr.flags = 0;
	ex.exit_code = 15;
	is_str(json_of(&ex, sizeof(ex), ",\"sig\""),
	       ",\"sig\":\"SIGTERM\",\"thread\":false}",
	       "killed: sig, no exit_code");
	ok(!strstr(json_of(&ex, sizeof(ex), "{"), "exit_code"),
	   "killed: no exit_code key at all");

	memset(&x, 0, sizeof(x));
	x.exe.flags = x.cwd.flags = SF_KP_NONE; /* no image: no exe_* keys */
	hdr(&x.hdr, SF_EV_EXEC, 59);
	x.hdr.ret = -2;
	strcpy(x.filename, "/nope");
	memcpy(x.argv, "nope\0a b", 9);
	x.argv_len = 9;
	decode_event(&v, &x, sizeof(x));
	ok(v.has & DECODE_HAS_ARGV, "failed exec: its argv");
	is_str(json_of(&x, sizeof(x), ",\"filename\""),
	       ",\"filename\":\"/nope\",\"argv\":[\"nope\",\"a b\"]}",
	       "failed exec: argv as given");
	x.hdr.flags |= SF_F_ARGV_FAULT;
	x.argv_len = 0;
	decode_event(&v, &x, sizeof(x));
	ok(!(v.has & DECODE_HAS_ARGV), "failed exec, argv unreadable: none");
	is_str(json_of(&x, sizeof(x), ",\"filename\""),
	       ",\"filename\":\"/nope\"}",
	       "failed exec, argv unreadable (EFAULT): no argv key");
	x.hdr.flags &= ~SF_F_ARGV_FAULT;
	x.hdr.ret = 0;
	is_str(json_of(&x, sizeof(x), ",\"filename\""),
	       ",\"filename\":\"/nope\",\"argv\":[]}",
	       "exec without arguments: argv []");

	hdr(&f.hdr, SF_EV_RENAME, 316);
	f.arg0 = -100, f.arg1 = 7, f.arg2 = 1 | 4 | 0x40;
	strcpy(f.path, "a");
	strcpy(f.path2, "b");
	is_str(json_of(&f, sizeof(f), ",\"olddirfd\""),
	       ",\"olddirfd\":-100,\"newdirfd\":7,\"flags\":"
	       "\"RENAME_NOREPLACE|RENAME_WHITEOUT|0x40\"}",
	       "rename: dirfds integers, flags named, unnamed bits in hex");
	f.arg2 = 0;
	ok(strstr(json_of(&f, sizeof(f), ","), "\"flags\":\"0\"") != NULL,
	   "rename: no flags is \"0\"");
	hdr(&f.hdr, SF_EV_LINK, 265);
	f.arg2 = 0x400;
	ok(strstr(json_of(&f, sizeof(f), ","),
		  "\"flags\":\"AT_SYMLINK_FOLLOW\"") != NULL,
	   "linkat: AT_SYMLINK_FOLLOW");
	hdr(&f.hdr, SF_EV_OPEN, 257);
	f.arg1 = O_RDONLY | 020000; /* FASYNC has no name in the table */
	ok(strstr(json_of(&f, sizeof(f), ","),
		  "\"flags\":\"O_RDONLY|0x2000\"") != NULL,
	   "open: an unnamed bit kept");
}

static bool one_json_line(struct sbuf *b)
{
	char err[128];
	yajl_val y;

	if (!b->len || b->data[b->len - 1] != '\n' ||
	    memchr(b->data, '\n', b->len - 1))
		return false;
	b->data[b->len - 1] = 0;
	y = yajl_tree_parse(b->data, err, sizeof(err));
	if (!y)
		printf("# %s\n# %s\n", err, b->data);
	yajl_tree_free(y);
	return y != NULL;
}

static void test_malformed(void)
{
	static union {
		struct sf_file_event f;
		char b[8192];
	} u;
	struct workload wl = {.name = "w", .slot = 3};
	struct decode_event v;
	size_t nenc, accepted = 0, refused = 0, bad_json = 0;
	const struct encoder *encs = encoder_table(&nenc);
	unsigned seed = 12345;
	struct sbuf b = {0};

	ok(decode_event(&v, NULL, 0) == DECODE_SHORT, "NULL record");
	hdr(&u.f.hdr, SF_EV_OPEN, 2);
	ok(decode_event(&v, &u, sizeof(struct sf_hdr) - 1) == DECODE_SHORT,
	   "shorter than a header");
	ok(decode_event(&v, &u, sizeof(u.f) - 1) == DECODE_SHORT,
	   "a file event one byte short");
	ok(decode_event(&v, &u, sizeof(u)) == DECODE_OK,
	   "a record longer than its struct: the tail ignored");
	u.f.hdr.type = SF_EV_MAX;
	ok(decode_event(&v, &u, sizeof(u)) == DECODE_BAD_TYPE, "unknown type");
	u.f.hdr.type = SF_EV_NONE;
	ok(decode_event(&v, &u, sizeof(u)) == DECODE_BAD_TYPE, "type 0");
	is_str(decode_status_name(DECODE_SHORT), "short record", "status name");

	/* garbage: random bytes, random sizes, every type; no string
	 * terminated, lengths and fds random */
	for (int i = 0; i < 20000; i++) {
		size_t size = rand_r(&seed) % sizeof(u);

		for (size_t j = 0; j < sizeof(u); j++)
			u.b[j] = rand_r(&seed);
		if (i % 2)
			u.f.hdr.type = rand_r(&seed) % (SF_EV_MAX + 2);
		if (decode_event(&v, &u, size) != DECODE_OK) {
			refused++;
			continue;
		}
		accepted++;
		for (size_t e = 0; e < nenc; e++) {
			b.len = 0;
			/* sysflow is binary (Avro): with its stream begun,
			 * it must take the garbage without a crash (ASan) */
			if (strcmp(encs[e].name, "sysflow") == 0) {
				struct stream_info si = {.exporter = "x",
							 .mode = "execute"};

				if (!wl.enc_state)
					encs[e].ops->stream_start(&b, &wl, 0, 1,
								  &si);
				encs[e].ops->event(&b, &wl, i, 1, &v);
				continue;
			}
			encs[e].ops->event(&b, &wl, i, 1, &v);
			bad_json += !one_json_line(&b);
		}
	}
	for (size_t e = 0; e < nenc; e++)
		if (encs[e].ops->release)
			encs[e].ops->release(&wl);
	sbuf_free(&b);
	ok(accepted > 1000 && refused > 1000,
	   "garbage: %zu accepted, %zu refused, no crash", accepted, refused);
	ok(bad_json == 0,
	   "every accepted garbage record is one JSON line in "
	   "every format (%zu not)",
	   bad_json);
}

/* ---- variable-size records (bpf/sfagent.h: SF_F_PACKED) ------------- */

struct part {
	size_t off, cap, len;
};

/* What the kernel side's submit_var() sends for a file event whose
 * arrays (SF_FILE_VARS) use len[i] bytes: the fixed part, the lengths,
 * the bytes. */
#define TEST_PART(st, f) {offsetof(struct st, f), sizeof(((struct st *)0)->f)},
static size_t pack_file(unsigned char *out, const struct sf_file_event *f,
			const size_t *len)
{
	static const size_t p[][2] = {SF_FILE_VARS(TEST_PART)};
	const size_t n = sizeof(p) / sizeof(p[0]);
	const unsigned char *rec = (const unsigned char *)f;
	struct sf_var lens = {{0}};
	size_t from = 0, at = 0;

	for (size_t i = 0; i < n; i++) {
		memcpy(out + at, rec + from, p[i][0] - from);
		at += p[i][0] - from;
		from = p[i][0] + p[i][1];
		lens.len[i] = len[i];
	}
	memcpy(out + at, rec + from, sizeof(*f) - from);
	at += sizeof(*f) - from;
	((struct sf_hdr *)out)->flags |= SF_F_PACKED;
	memcpy(out + at, &lens, sizeof(lens));
	at += sizeof(lens);
	for (size_t i = 0; i < n; i++) {
		memcpy(out + at, rec + p[i][0], len[i]);
		at += len[i];
	}
	return at;
}

static const struct encoder *json_encoder(void)
{
	size_t n;
	const struct encoder *e = encoder_table(&n);

	for (size_t i = 0; i < n; i++)
		if (!strcmp(e[i].name, "json"))
			return &e[i];
	return NULL;
}

static void view_json(struct sbuf *b, const struct decode_event *v)
{
	struct workload wl = {.name = "w", .slot = 3};

	b->len = 0;
	json_encoder()->ops->event(b, &wl, 1, 1, v);
}

/* A known workload's file events, fixed and packed: the same record
 * (byte for byte once expanded) and the same JSON line. */
static void test_packed_same(void)
{
	static struct sf_file_event fs[5];
	static unsigned char packed[sizeof(struct sf_file_event) + 64];
	struct sbuf a = {0}, b = {0};
	struct decode_event v1, v2;
	size_t len[5][SF_VAR_MAX], total = 0, same_rec = 0, same_json = 0;

	memset(fs, 0, sizeof(fs));
	hdr(&fs[0].hdr, SF_EV_OPEN, 257); /* a short path */
	fs[0].hdr.ret = 3, fs[0].arg0 = -100, fs[0].arg1 = O_RDONLY;
	strcpy(fs[0].path, "/etc/hostname");
	fs[0].ident.flags = SF_ID_VALID, fs[0].ident.ino = 77;
	hdr(&fs[1].hdr, SF_EV_RENAME, 316); /* two paths */
	fs[1].arg0 = fs[1].arg1 = -100, fs[1].arg2 = 1;
	strcpy(fs[1].path, "a/b"), strcpy(fs[1].path2, "/tmp/new name");
	hdr(&fs[2].hdr, SF_EV_OPEN, 257); /* a full array, cut */
	fs[2].hdr.ret = -36, fs[2].hdr.flags |= SF_F_PATH_TRUNC;
	memset(fs[2].path, 'x', SF_PATH_MAX - 1);
	hdr(&fs[3].hdr, SF_EV_UNLINK, 263); /* a fault: no path */
	fs[3].hdr.flags |= SF_F_PATH_FAULT, fs[3].arg0 = 9;
	hdr(&fs[4].hdr, SF_EV_CHMOD, 91); /* fchmod: by fd, no path */
	fs[4].arg1 = 0600, fs[4].arg2 = 4;
	/* resolved paths: components leaf first, NUL-terminated */
	memcpy(fs[0].res.kp.buf, "hostname\0etc\0", 13);
	fs[0].res.kp.n = 2, fs[0].res.kp.len = 13;
	fs[0].res.kp.flags = SF_KP_ROOT, fs[0].res.base = SF_FP_BASE_FILE;
	memcpy(fs[1].res.kp.buf, "a\0", 2);
	fs[1].res.kp.n = 1, fs[1].res.kp.len = 2;
	memcpy(fs[1].res2.kp.buf, "tmp\0", 4);
	fs[1].res2.kp.n = 1, fs[1].res2.kp.len = 4;
	for (int i = 0; i < 5; i++) {
		len[i][0] = strnlen(fs[i].path, SF_PATH_MAX - 1) + 1;
		len[i][1] = strnlen(fs[i].path2, SF_PATH_MAX - 1) + 1;
		len[i][2] = fs[i].res.kp.len;
		len[i][3] = fs[i].res2.kp.len;
	}
	for (int i = 0; i < 5; i++) {
		size_t n = pack_file(packed, &fs[i], len[i]);

		total += n;
		ok(decode_event(&v1, &fs[i], sizeof(fs[i])) == DECODE_OK &&
			   decode_event(&v2, packed, n) == DECODE_OK,
		   "record %d decodes fixed and packed (%zu bytes)", i, n);
		same_rec += v2.rec != (const void *)packed &&
			    !memcmp(v2.rec, &fs[i], sizeof(fs[i]));
		view_json(&a, &v1);
		view_json(&b, &v2);
		same_json += a.len && a.len == b.len &&
			     !memcmp(a.data, b.data, a.len);
	}
	ok(same_rec == 5, "expanded, each is the fixed record byte for byte");
	ok(same_json == 5, "each writes the same JSON line");
	ok(total < sizeof(fs) / 2, "packed: %zu bytes, fixed: %zu", total,
	   sizeof(fs));
	sbuf_free(&a);
	sbuf_free(&b);
}

/* A packed record copied to a heap block of exactly n bytes: ASan sees a
 * read past it. */
static int decode_exact(struct decode_event *v, const void *raw, size_t n)
{
	void *p = xmalloc(n ? n : 1);
	int r;

	memcpy(p, raw, n);
	r = decode_event(v, p, n);
	free(p);
	return r;
}

static void test_packed_malformed(void)
{
	static struct sf_file_event f;
	static unsigned char pk[sizeof(f) + 64], bad[sizeof(f) + 64];
	struct decode_event v;
	struct sbuf b = {0};
	size_t n, fixed, short_ok = 0, accepted = 0, bad_json = 0;
	unsigned seed = 777;
	struct sf_var lens;

	memset(&f, 0, sizeof(f));
	hdr(&f.hdr, SF_EV_RENAME, 82);
	strcpy(f.path, "/old"), strcpy(f.path2, "/new");
	n = pack_file(pk, &f, (const size_t[]){5, 5, 0, 0});
	fixed = n - sizeof(lens) - 10;
	ok(decode_exact(&v, pk, n) == DECODE_OK, "packed rename decodes");
	for (size_t s = 0; s < n; s++)
		short_ok += decode_exact(&v, pk, s) != DECODE_OK;
	ok(short_ok == n, "every shorter copy refused (%zu of %zu)", short_ok,
	   n);
	memcpy(bad, pk, n);
	bad[n] = 'z';
	ok(decode_exact(&v, bad, n + 1) == DECODE_MALFORMED,
	   "a byte more than its lengths say: malformed");
	memcpy(&lens, pk + fixed, sizeof(lens));
	lens.len[0] = SF_PATH_MAX + 1;
	memcpy(bad, pk, n);
	memcpy(bad + fixed, &lens, sizeof(lens));
	ok(decode_exact(&v, bad, n) == DECODE_MALFORMED,
	   "a length over its array: malformed");
	lens.len[0] = 5, lens.len[1] = 6;
	memcpy(bad + fixed, &lens, sizeof(lens));
	ok(decode_exact(&v, bad, n) == DECODE_MALFORMED,
	   "lengths past the record's end: malformed");
	lens.len[1] = 5, lens.len[3] = SF_PATH_MAX + 1;
	memcpy(bad + fixed, &lens, sizeof(lens));
	ok(decode_exact(&v, bad, n) == DECODE_MALFORMED,
	   "a resolved path's length over its array: malformed");
	memcpy(bad, pk, n);
	((struct sf_hdr *)bad)->type = SF_EV_KILL;
	ok(decode_exact(&v, bad, n) == DECODE_MALFORMED,
	   "SF_F_PACKED on a fixed-size type: malformed");
	is_str(decode_status_name(DECODE_MALFORMED),
	       "variable-size record that does not add up", "status name");

	/* random lengths and sizes on exact-size copies: refused or one
	 * JSON line, never a read past the record (ASan) */
	for (int i = 0; i < 20000; i++) {
		size_t s;

		memcpy(bad, pk, n);
		for (size_t j = fixed; j < sizeof(bad); j++)
			bad[j] = rand_r(&seed); /* no NUL promised */
		for (int k = 0; k < SF_VAR_MAX; k++)
			lens.len[k] = rand_r(&seed) % 24;
		if (i % 5 == 0)
			lens.len[rand_r(&seed) % 4] = rand_r(&seed);
		memcpy(bad + fixed, &lens, sizeof(lens));
		s = fixed + sizeof(lens) + lens.len[0] + lens.len[1] +
		    lens.len[2] + lens.len[3] + rand_r(&seed) % 3 - 1;
		if (s > sizeof(bad))
			s = sizeof(bad);
		if (decode_exact(&v, bad, s) != DECODE_OK)
			continue;
		accepted++;
		view_json(&b, &v);
		bad_json += !one_json_line(&b);
	}
	ok(accepted > 0 && bad_json == 0,
	   "random lengths: %zu accepted, each one JSON line", accepted);
	sbuf_free(&b);
}

static void test_every_type_has_writers(void)
{
	size_t nenc, missing = 0, types = 0;
	const struct encoder *encs = encoder_table(&nenc);
	struct decode_event v;

	for (unsigned t = 0; t < SF_EV_MAX; t++) {
		static char raw[sizeof(struct sf_exec_event) +
				sizeof(struct sf_file_event)];

		memset(raw, 0, sizeof(raw));
		((struct sf_hdr *)raw)->type = t;
		if (decode_event(&v, raw, sizeof(raw)) != DECODE_OK)
			continue;
		types++;
		for (size_t e = 0; e < nenc; e++)
			if (!encs[e].ops->bodies[t]) {
				printf("# %s has no writer for %s\n",
				       encs[e].name, v.type_name);
				missing++;
			}
	}
	ok(types == SF_EV_MAX - 1, "every event type decodes (%zu)", types);
	ok(missing == 0, "every format has a writer for every type");
}
#define GOLDEN_JSON \
	"{\"type\":\"file.open\",\"seq\":1,\"ts\":1,\"workload\":\"w\",\"pid\":100,\"tid\":101,\"ppid\":1,\"uid\":1000,\"gid\":1001,\"euid\":0,\"comm\":\"cmd\",\"cgroup\":4242,\"syscall\":\"openat\",\"ret\":3,\"path\":\"/etc/hostname\",\"dirfd\":-100,\"flags\":\"O_RDONLY|O_CLOEXEC\",\"fd\":3,\"file_dev\":\"8:17\",\"file_ino\":1234567,\"file_mode\":\"0100644\",\"file_uid\":0,\"file_gid\":42,\"file_ctime\":1700000000123456789,\"file_generation\":99,\"file_fs\":\"ext4\",\"file_mtime\":1700000000000000001,\"file_size\":4096,\"file_f_flags\":32768,\"file_fs_magic\":\"0xef53\",\"file_fs_id\":\"vda1\",\"file_fs_uuid\":\"031425364758697a8b9cadbecfe0f102\",\"file_path_type\":\"root\",\"resolved\":\"/etc/hostname\"}"
#define GOLDEN_QUIXOTE \
	"{\"export\":{\"type\":\"async_event\"},\"event\":{\"number\":\"1\",\"type\":\"file_open\",\"ts\":\"1\",\"pid\":\"100\",\"tid\":\"101\",\"ppid\":\"1\",\"process\":\"cmd\",\"workload\":\"w\",\"syscall\":\"openat\",\"ret\":\"3\"},\"COE\":{\"uid\":\"1000\",\"euid\":\"0\",\"suid\":\"0\",\"gid\":\"1001\",\"egid\":\"1001\",\"sgid\":\"1001\",\"fsuid\":\"0\",\"fsgid\":\"1001\"},\"file_open\":{\"file\":{\"flags\":\"32768\",\"inode\":{\"uid\":\"0\",\"gid\":\"42\",\"mode\":\"0100644\",\"s_magic\":\"0xef53\",\"s_id\":\"vda1\",\"s_uuid\":\"031425364758697a8b9cadbecfe0f102\"},\"path\":{\"dev\":{\"major\":\"8\",\"minor\":\"17\"},\"type\":\"root\",\"pathname\":\"/etc/hostname\"}},\"open_flags\":\"524288\",\"file_ino\":\"1234567\",\"file_ctime\":\"1700000000123456789\",\"file_generation\":\"99\",\"file_fs\":\"ext4\",\"file_mtime\":\"1700000000000000001\",\"file_size\":\"4096\"}}"
#define GOLDEN_CADETS \
	"{\"event\":\"audit:event:aue_openat_r:\",\"time\":1,\"pid\":100,\"ppid\":1,\"tid\":101,\"uid\":1000,\"euid\":0,\"gid\":1001,\"exec\":\"cmd\",\"subjuuid\":\"0db00836-68f8-8b32-ab5a-29acafc56467\",\"retval\":3,\"sfagent_seq\":1,\"workload\":\"w\",\"upath1\":\"/etc/hostname\",\"flags\":524288,\"fd\":3,\"ret_objuuid1\":\"ebea4686-9af9-877b-97a0-8dacfc00b5b2\",\"file_dev\":\"8:17\",\"file_ino\":1234567,\"file_mode\":\"0100644\",\"file_uid\":0,\"file_gid\":42,\"file_ctime\":1700000000123456789,\"file_generation\":99,\"file_fs\":\"ext4\",\"file_mtime\":1700000000000000001,\"file_size\":4096,\"file_f_flags\":32768,\"file_fs_magic\":\"0xef53\",\"file_fs_id\":\"vda1\",\"file_fs_uuid\":\"031425364758697a8b9cadbecfe0f102\",\"file_path_type\":\"root\",\"resolved\":\"/etc/hostname\"}"

/* A file event with the whole identity (bpf/ident.bpf.h), in json, quixote
 * and cadets: the exact lines, as they were written before the identity's
 * fields lost their printf (docs/performance.md): the same bytes. */
static void test_ident_golden(void)
{
	static struct sf_file_event f;
	static const char *const fmts[] = {"json", "quixote", "cadets"};
	static const char *const want[] = {GOLDEN_JSON, GOLDEN_QUIXOTE,
					   GOLDEN_CADETS};
	struct workload wl = {.name = "w", .slot = 3};
	struct decode_event v;
	struct sbuf b = {0};

	memset(&f, 0, sizeof(f));
	hdr(&f.hdr, SF_EV_OPEN, 257);
	f.hdr.ret = 3, f.arg0 = -100, f.arg1 = O_RDONLY | O_CLOEXEC;
	strcpy(f.path, "/etc/hostname");
	f.ident.flags = SF_ID_VALID | SF_ID_HOSTNS | SF_ID_FLAGS;
	f.ident.mode = 0100644, f.ident.dev = (8ull << 20) | 17;
	f.ident.ino = 1234567, f.ident.uid = 0, f.ident.gid = 42;
	f.ident.generation = 99, f.ident.ctime = 1700000000123456789ll;
	f.ident.magic = 0xef53, f.ident.mtime = 1700000000000000001ll;
	f.ident.size = 4096, f.ident.f_flags = 0100000;
	strcpy(f.ident.fs, "ext4");
	strcpy(f.ident.s_id, "vda1");
	for (int i = 0; i < 16; i++)
		f.ident.s_uuid[i] = (uint8_t)(i * 17 + 3);
	memcpy(f.res.kp.buf, "hostname\0etc\0", 13);
	f.res.kp.n = 2, f.res.kp.len = 13;
	f.res.kp.flags = SF_KP_ROOT, f.res.base = SF_FP_BASE_FILE;
	ok(decode_event(&v, &f, sizeof(f)) == DECODE_OK,
	   "a file.open with its identity decodes");
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		b.len = 0;
		encoder_find(fmts[i])->ops->event(&b, &wl, 1, 1, &v);
		b.data[b.len - 1] = 0; /* the '\n' */
		if (getenv("SF_GOLDEN_PRINT"))
			printf("# %s %s\n", fmts[i], b.data);
		is_str(b.data, want[i], "%s: the identity, byte for byte",
		       fmts[i]);
	}
	sbuf_free(&b);
}

int main(void)
{
	test_header();
	test_file_args();
	test_other_classes();
	test_schema_fixes();
	test_malformed();
	test_packed_same();
	test_packed_malformed();
	test_every_type_has_writers();
	test_ident_golden();
	return tap_done();
}
