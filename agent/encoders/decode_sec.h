/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The decoded view's named extra fields: what the security event types
 * (bpf/sec.bpf.h: ptrace, namespaces, mounts, modules, bpf(), xattrs, W+X
 * memory, memfd, dup, io_uring, keys) and the exec/fork additions carry.
 * Each is a key with a typed value, in the order a record shows them; the
 * writers of every format walk the list (encode_*.c), so adding a field is
 * one line in decode_sec.c and no writer changes.
 */
#ifndef SF_DECODE_SEC_H
#define SF_DECODE_SEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum decode_kv_kind {
	DECODE_KV_INT, /* i */
	DECODE_KV_HEX, /* i, written "0x..." */
	DECODE_KV_BOOL, /* i != 0 */
	DECODE_KV_STR, /* s, len; s NULL: null */
	DECODE_KV_OBJ, /* s, len: a JSON object, written as is; i: a number
			* for the filter (its values' sum) */
};

struct decode_kv {
	const char *key;
	enum decode_kv_kind kind;
	bool truncated; /* STR: the kernel side cut it (key_truncated: true) */
	int64_t i;
	const char *s;
	size_t len;
};

#define DECODE_KV_MAX 36

struct decode_extra {
	unsigned n;
	/* kv[0..nhdr): about the event as a whole (via, opcode, unresolved,
	 * suppressed); kv[nhdr..n): the type's own fields */
	unsigned nhdr;
	/* what a format may name the event after besides its type: the
	 * ptrace request, the syscall of a module load */
	int64_t sub;
	struct decode_kv kv[DECODE_KV_MAX];
	size_t used; /* of buf */
	char buf[6144]; /* flag names, joined kernel and resolved paths */
};

struct decode_event;

/* Fill functions of the decode table (decode.c). */
void decode_sec(struct decode_event *v, const void *raw);
void decode_sec_exec(struct decode_event *v, const void *raw);
void decode_sec_fork(struct decode_event *v, const void *raw);
/* file_dev .. file_path_type: the file's identity at the event, when
 * known */
struct sf_ident;
void decode_sec_ident(struct decode_event *v, const struct sf_ident *id);
/* file.mmap_exec (struct sf_mmap_event) */
void decode_sec_mmap(struct decode_event *v, const void *raw);
/* "root", "namespace", "chroot": TSEM's path.type of the task's view */
const char *decode_sec_path_type(uint32_t ident_flags);
/* process.exit: the rate limit's counts its process left (suppressed) */
void decode_sec_exit(struct decode_event *v, const void *raw);
/* via, opcode, suppressed: the header additions every type may carry */
void decode_sec_hdr(struct decode_event *v, const void *raw);

/* Fields the agent adds after decoding (the string is copied into the
 * view); the first field named key, or NULL. */
void decode_sec_add_int(struct decode_event *v, const char *key, int64_t i);
void decode_sec_add_bool(struct decode_event *v, const char *key, bool b);
void decode_sec_add_str(struct decode_event *v, const char *key, const char *s,
			size_t len);
const struct decode_kv *decode_sec_find(const struct decode_event *v,
					const char *key);

/* "IORING_OP_OPENAT", or NULL */
const char *decode_uring_op_name(unsigned op);

#endif
