/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimized copy of the running kernel's BTF for the CO-RE relocations of
 * one BPF object, kept in a cache directory (--btf-cache, docs/design.md).
 *
 * libbpf matches every relocation's root type against each type of the
 * kernel's BTF (~150,000 types, 5.5 MB here): ~1.4 ms per root, ~100 ms for
 * the agent's object at every start.  The copy holds every kernel type whose
 * name is a root's (all of them, in the kernel's order, so the candidates
 * are the same) and what those types embed (members, arrays, typedefs,
 * modifiers: every offset and size the same); pointers point to void, as
 * CO-RE never follows them.  It also keeps the kernel's ids of the few
 * types the load itself needs (kernel_ids.h), so that libbpf need not parse
 * the kernel's BTF at all.  The file's name is its key: a hash of the
 * kernel's BTF, a hash of the object (and of the copy's format), a hash of
 * the file's own bytes (checked before use); anything that does not match
 * is rebuilt, anything that cannot be used falls back to the kernel's BTF.
 * The entry found for this boot's kernel is linked under a key of the boot
 * (boot_key in btfcache.c), so that the next starts find it without
 * hashing the kernel's BTF.
 */
#ifndef SF_BTFCACHE_H
#define SF_BTFCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "kernel_ids.h"

#define BTFCACHE_DEFAULT_DIR "/var/cache/sfagent"

struct btfcache {
	int fd; /* the verified file, open until the object is loaded */
	int dfd; /* the directory */
	char name[96]; /* the file's, in it */
	/* the same file's other name: the entry ("btf-K-O-C.btf") when name
	 * is this boot's link to it ("boot-B-O-K-C.btf"), or that link when
	 * name is the entry; "": none */
	char other_name[96];
	char path[64]; /* /proc/self/fd/<fd>: what libbpf opens */
	/* the kernel's BTF id of struct task_struct, kept in the copy as the
	 * enum sfagent_kernel_ids (bpf/event.bpf.h task_btf_id); 0: none */
	uint32_t task_struct_id;
	/* all the kernel's ids kept there (that one, the kfunc's, the
	 * tp_btf programs' attach targets: kernel_ids.h); stand_in_fd is fd */
	struct kernel_ids ids;
};

/*
 * Finds or builds the copy for the object elf (elf_len bytes) against the
 * kernel BTF kernel_btf in dir (created 0700; refused unless it is a
 * directory owned by this user and writable by no one else).  Returns 0 with
 * c->path set, or -1 (logged at debug level): use the kernel's BTF.
 */
int btfcache_open(struct btfcache *c, const char *dir, const char *kernel_btf,
		  const void *elf, size_t elf_len);
/* The object did not load with it: removed, so that the next start builds
 * it again rather than fail twice. */
void btfcache_discard(struct btfcache *c);
void btfcache_close(struct btfcache *c);

#endif
