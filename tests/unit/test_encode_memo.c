// SPDX-License-Identifier: GPL-2.0
/*
 * The encoders' memos (encode.h): of a task's fields, of the workload's
 * name and container (encode_util_ident) and quixote's of the event's tail
 * (the syscall, its return, COE, the type's name).  A record written with
 * the memo is the same bytes as without it, over a random run of records
 * whose header fields come from a few values each (so slots are hit, missed
 * and overwritten, and two keys that differ in one field meet in one slot).
 */
#include <stdlib.h>

#include "encode.h"
#include "tap.h"
#include "workload.h"

static const char *const comms[] = {
	"cmd",	    "cmd2",
	"a\"b\\c",  "abcdefghijklmnop", /* 16 bytes, no NUL */
	"\xff\xfe", "",
};

static void random_hdr(struct sf_hdr *h, unsigned type)
{
	static const uint32_t ids[] = {0, 1000, 65534};
	const char *c = comms[rand() % (sizeof(comms) / sizeof(comms[0]))];

	memset(h, 0, sizeof(*h));
	h->type = type;
	h->slot = 1;
	static const uint32_t nrs[] = {62, 200, 234}; /* kill, tkill, tgkill */
	static const int64_t rets[] = {0, -1, -3, 5};

	h->flags = rand() % 4 ? SF_F_HAS_RET : 0;
	h->syscall = nrs[rand() % 3];
	h->ret = rets[rand() % 4];
	h->cgid = 5000 + rand() % 2;
	h->pid = 100 + rand() % 3;
	/* 16 apart: the same slot for tids that differ */
	h->tid = h->pid + 16 * (rand() % 2);
	h->ppid = 1 + rand() % 2;
	h->uid = ids[rand() % 3];
	h->gid = ids[rand() % 3];
	h->euid = ids[rand() % 3];
	memcpy(h->comm, c, strnlen(c, SF_COMM_LEN));
	/* bytes after the NUL are not the comm's */
	if (strlen(c) < SF_COMM_LEN - 2 && rand() % 2)
		h->comm[SF_COMM_LEN - 1] = 'z';
}

/* n random kill records through fmt, with the memo and without: the same
 * bytes, record by record */
static void same_bytes(const char *fmt, int n)
{
	const struct encoder *enc = encoder_find(fmt);
	static char long_name[200], cid[65];
	char *names[] = {"wl\"1", "wl2", "wl2\n", long_name};
	char *cids[] = {NULL, "c1", cid};
	struct sbuf with = {0}, without = {0};
	int differ = -1;

	memset(long_name, 'n', sizeof(long_name) - 1);
	memset(cid, 'f', sizeof(cid) - 1);
	for (int i = 0; i < n && differ < 0; i++) {
		/* slots 1 and 17 share a memo entry (encode_util_ident) */
		struct workload wl = {.slot = 1 + 16 * (rand() % 2),
				      .name = names[rand() % 4],
				      .container_id = cids[rand() % 3],
				      .cgid = 5000};
		struct sf_kill_event k;
		struct sf_fork_event f;
		struct decode_event d;
		int r;

		/* two types: their records meet in the memos' slots */
		if (rand() % 4) {
			random_hdr(&k.hdr, SF_EV_KILL);
			k.target_pid = rand() % 5;
			k.target_tid = 0;
			k.sig = rand() % 3;
			k.pad = 0;
			r = decode_event(&d, &k, sizeof(k));
		} else {
			memset(&f, 0, sizeof(f));
			random_hdr(&f.hdr, SF_EV_FORK);
			f.child_pid = f.child_tid = 200 + rand() % 3;
			r = decode_event(&d, &f, sizeof(f));
		}
		if (r < 0)
			break;
		with.len = without.len = 0;
		encode_memo_on = true;
		enc->ops->event(&with, &wl, i, 1700000000000000000ull + i, &d);
		encode_memo_on = false;
		enc->ops->event(&without, &wl, i, 1700000000000000000ull + i,
				&d);
		if (with.len != without.len ||
		    memcmp(with.data, without.data, with.len))
			differ = i;
	}
	encode_memo_on = true;
	ok(differ < 0, "%s: %d records, the same bytes with the memo", fmt, n);
	if (differ >= 0)
		printf("#   record %d\n#   with:    %.*s#   without: %.*s",
		       differ, (int)with.len, with.data, (int)without.len,
		       without.data);
	sbuf_free(&with);
	sbuf_free(&without);
}

int main(void)
{
	srand(14);
	same_bytes("json", 20000);
	same_bytes("quixote", 20000);
	/* a run longer than a slot holds is written each time */
	{
		struct encode_memo m = {0};
		struct encode_memo_slot *s;
		struct sbuf o = {0};
		char key[8] = "k";

		s = encode_memo_find(&m, key, sizeof(key), 1, &o);
		ok(s != NULL, "an empty memo misses");
		for (int i = 0; i < ENCODE_MEMO_TEXT + 1; i++)
			sbuf_putc(&o, 'x');
		encode_memo_keep(s, key, sizeof(key), &o, 0);
		o.len = 0;
		ok(encode_memo_find(&m, key, sizeof(key), 1, &o) != NULL &&
			   o.len == 0,
		   "a run longer than ENCODE_MEMO_TEXT is not kept");
		o.len = 0;
		sbuf_lit(&o, "abc");
		encode_memo_keep(s, key, sizeof(key), &o, 1);
		o.len = 0;
		ok(encode_memo_find(&m, key, sizeof(key), 1, &o) == NULL &&
			   o.len == 2 && !memcmp(o.data, "bc", 2),
		   "a kept run is written on a hit");
		sbuf_free(&o);
	}
	return tap_done();
}
