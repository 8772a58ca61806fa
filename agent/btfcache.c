// SPDX-License-Identifier: GPL-2.0
#include "btfcache.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "util.h"

#define MAX_KERNEL_BTF (256u << 20)
#define MAX_CACHED_BTF (64u << 20)
/* libbpf's relocation kinds (enum bpf_core_relo_kind, linux/bpf.h) */
#define CORE_TYPE_ID_LOCAL  6
#define CORE_TYPE_ID_TARGET 7
#define CORE_TYPE_MATCHES   12
/* an enum of the copy: the kernel's ids of a few types, by name */
#define KERNEL_IDS "sfagent_kernel_ids"
/* what the copy holds besides the types: part of every entry's key (the
 * object's part), so that an entry of another layout is never taken */
#define FORMAT 2 /* 2: the kfunc's and tp_btf attach targets' ids */

/* Not a cryptographic hash: it tells kernels, objects and torn or damaged
 * files apart; only root writes the cache. */
static uint64_t hash64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;

		memcpy(&w, b + i, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 32;
	}
	for (; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* The bytes of fd, at most max (regular files and sysfs attributes). */
static int read_fd(int fd, char **out, size_t *len, size_t max)
{
	struct stat st;
	size_t used = 0;
	char *buf;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max)
		return -1;
	buf = xmalloc(st.st_size);
	while (used < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + used, st.st_size - used);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		used += r;
	}
	if (used != (size_t)st.st_size) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = used;
	return 0;
}

/* The section headers of elf (ELF64, the build's own object) and their
 * names' table, checked to lie within it; NULL: not such an ELF. */
static const Elf64_Shdr *elf_headers(const void *elf, size_t len, unsigned *n,
				     const char **strs, size_t *strs_size)
{
	const Elf64_Ehdr *eh = elf;
	const Elf64_Shdr *sh, *st;

	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof(*sh) || eh->e_shstrndx >= eh->e_shnum ||
	    eh->e_shoff > len ||
	    (len - eh->e_shoff) / sizeof(*sh) < eh->e_shnum)
		return NULL;
	sh = (const Elf64_Shdr *)((const char *)elf + eh->e_shoff);
	st = &sh[eh->e_shstrndx];
	if (st->sh_offset > len || st->sh_size > len - st->sh_offset)
		return NULL;
	*n = eh->e_shnum;
	*strs = (const char *)elf + st->sh_offset;
	*strs_size = st->sh_size;
	return sh;
}

/* Section i's name (sh from elf_headers), NULL if it is not a string of
 * the table. */
static const char *section_name(const Elf64_Shdr *sh, const char *strs,
				size_t strs_size)
{
	if (sh->sh_name >= strs_size ||
	    strnlen(strs + sh->sh_name, strs_size - sh->sh_name) ==
		    strs_size - sh->sh_name)
		return NULL;
	return strs + sh->sh_name;
}

/* The section name of elf, or NULL. */
static const void *elf_section(const void *elf, size_t len, const char *name,
			       size_t *size)
{
	const char *strs, *n;
	size_t strs_size;
	unsigned nsec;
	const Elf64_Shdr *sh = elf_headers(elf, len, &nsec, &strs, &strs_size);

	for (unsigned i = 0; sh && i < nsec; i++) {
		n = section_name(&sh[i], strs, strs_size);
		if (!n || strcmp(n, name))
			continue;
		if (sh[i].sh_offset > len ||
		    sh[i].sh_size > len - sh[i].sh_offset)
			return NULL;
		*size = sh[i].sh_size;
		return (const char *)elf + sh[i].sh_offset;
	}
	return NULL;
}

/* The kernel types whose ids the object's load needs (kernel_ids.h), by
 * name, with their kinds: the task (bpf/event.bpf.h task_btf_id), the kfunc
 * its programs call, and the attach target of each of its tp_btf programs
 * (section "tp_btf/NAME": the typedef btf_trace_NAME).  Returns how many
 * (at most max). */
struct wanted {
	char name[128];
	unsigned kind;
};

static size_t wanted_ids(const void *elf, size_t len, struct wanted *w,
			 size_t max)
{
	const char *strs, *n;
	size_t strs_size, nw = 0;
	unsigned nsec;
	const Elf64_Shdr *sh = elf_headers(elf, len, &nsec, &strs, &strs_size);

	snprintf(w[nw].name, sizeof(w[nw].name), "task_struct");
	w[nw++].kind = BTF_KIND_STRUCT;
	snprintf(w[nw].name, sizeof(w[nw].name), "bpf_rdonly_cast");
	w[nw++].kind = BTF_KIND_FUNC;
	for (unsigned i = 0; sh && i < nsec && nw < max; i++) {
		bool dup = false;

		n = section_name(&sh[i], strs, strs_size);
		if (!n || strncmp(n, "tp_btf/", 7))
			continue;
		snprintf(w[nw].name, sizeof(w[nw].name), "btf_trace_%s", n + 7);
		for (size_t j = 0; j < nw; j++)
			dup = dup || !strcmp(w[j].name, w[nw].name);
		if (!dup)
			w[nw++].kind = BTF_KIND_TYPEDEF;
	}
	return nw;
}

/* libbpf's bpf_core_essential_name_len: "task_struct___old" -> 11 */
static size_t essential_len(const char *s)
{
	size_t n = strlen(s);

	for (ssize_t i = (ssize_t)n - 5; i >= 0; i--)
		if (s[i] != '_' && s[i + 1] == '_' && s[i + 2] == '_' &&
		    s[i + 3] == '_' && s[i + 4] != '_')
			return i + 1;
	return n;
}

/* the kinds libbpf takes as candidates for a root of kind k */
static unsigned kind_class(unsigned k)
{
	if (k == BTF_KIND_ENUM || k == BTF_KIND_ENUM64)
		return 1u << BTF_KIND_ENUM | 1u << BTF_KIND_ENUM64;
	return 1u << k;
}

/* The relocation roots' essential names: an open-addressing set. */
struct root_name {
	const char *name; /* in the object's BTF; NULL: empty slot */
	size_t len;
	unsigned kinds; /* kind_class()es of the roots of that name */
	bool found; /* the kernel has a candidate */
};

struct roots {
	struct root_name *slot;
	size_t cap; /* a power of 2 */
};

static struct root_name *roots_find(struct roots *r, const char *name,
				    size_t len, bool add)
{
	size_t i = hash64(name, len) & (r->cap - 1);

	for (;; i = (i + 1) & (r->cap - 1)) {
		struct root_name *s = &r->slot[i];

		if (!s->name) {
			if (!add)
				return NULL;
			s->name = name;
			s->len = len;
			return s;
		}
		if (s->len == len && !memcmp(s->name, name, len))
			return s;
	}
}

/* The roots of the .BTF.ext CO-RE records (libbpf's struct btf_ext_header,
 * its record layout: kernel's Documentation/bpf/btf.rst).  -1: none of
 * this object's relocations can be answered by a copy. */
static int collect_roots(const void *elf, size_t elf_len,
			 const struct btf *local, struct roots *r)
{
	struct {
		uint16_t magic;
		uint8_t version, flags;
		uint32_t hdr_len;
		uint32_t func_info_off, func_info_len;
		uint32_t line_info_off, line_info_len;
		uint32_t core_relo_off, core_relo_len;
	} h;
	const char *ext, *p, *end;
	size_t ext_len, nrec = 0;
	uint32_t rec_size;

	ext = elf_section(elf, elf_len, ".BTF.ext", &ext_len);
	if (!ext || ext_len < sizeof(h))
		return -1;
	memcpy(&h, ext, sizeof(h));
	if (h.magic != 0xeB9F || h.hdr_len < sizeof(h) || h.hdr_len > ext_len ||
	    h.core_relo_off > ext_len - h.hdr_len ||
	    h.core_relo_len > ext_len - h.hdr_len - h.core_relo_off ||
	    h.core_relo_len < 4)
		return -1;
	p = ext + h.hdr_len + h.core_relo_off;
	end = p + h.core_relo_len;
	memcpy(&rec_size, p, 4);
	p += 4;
	if (rec_size < 16)
		return -1;
	/* first pass: size the set */
	for (const char *q = p; end - q >= 8;) {
		uint32_t n;

		memcpy(&n, q + 4, 4);
		q += 8;
		if ((size_t)(end - q) / rec_size < n)
			return -1;
		nrec += n;
		q += (size_t)n * rec_size;
	}
	for (r->cap = 16; r->cap < 2 * nrec; r->cap *= 2)
		;
	r->slot = xzalloc(r->cap * sizeof(*r->slot));
	while (end - p >= 8) {
		uint32_t n;

		memcpy(&n, p + 4, 4);
		p += 8;
		for (uint32_t i = 0; i < n; i++, p += rec_size) {
			uint32_t rec[4]; /* insn_off, type_id, access, kind */
			const struct btf_type *t;
			const char *name;
			struct root_name *s;

			memcpy(rec, p, sizeof(rec));
			if (rec[3] == CORE_TYPE_ID_LOCAL)
				continue;
			/* a target's type id is the kernel's own id; a
			 * "matches" follows pointers: the copy has neither */
			if (rec[3] == CORE_TYPE_ID_TARGET ||
			    rec[3] == CORE_TYPE_MATCHES)
				return -1;
			t = btf__type_by_id(local, rec[1]);
			if (!t)
				return -1;
			/* libbpf resolves a root's modifiers and typedefs
			 * the same way against a copy and the kernel; its
			 * own name is what is matched */
			name = btf__name_by_offset(local, t->name_off);
			if (!name || !*name)
				return -1;
			s = roots_find(r, name, essential_len(name), true);
			s->kinds |= kind_class(btf_kind(t));
		}
	}
	return 0;
}

/* The copy being built: map[kernel id] = its id in dst, 0 not copied yet. */
struct minbtf {
	const struct btf *src;
	struct btf *dst;
	uint32_t *map;
};

static int copy_type(struct minbtf *m, uint32_t id);

/* Adds src's type t verbatim (names, sizes, offsets, encodings) and points
 * its references at the copies in refs. */
static int add_with_refs(struct minbtf *m, const struct btf_type *t,
			 const uint32_t *refs)
{
	int nid = btf__add_type(m->dst, m->src, t);
	struct btf_type *nt;

	if (nid < 0)
		return -1;
	nt = (struct btf_type *)btf__type_by_id(m->dst, nid);
	switch (btf_kind(nt)) {
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		for (unsigned i = 0; i < btf_vlen(nt); i++)
			btf_members(nt)[i].type = refs[i];
		break;
	case BTF_KIND_ARRAY:
		btf_array(nt)->type = refs[0];
		btf_array(nt)->index_type = refs[1];
		break;
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG:
		nt->type = refs[0];
		break;
	}
	return nid;
}

static int copy_type(struct minbtf *m, uint32_t id)
{
	const struct btf_type *t;
	cleanup_free uint32_t *refs = NULL;
	uint32_t two[2];
	int nid;

	if (id == 0)
		return 0; /* void */
	if (m->map[id])
		return m->map[id];
	t = btf__type_by_id(m->src, id);
	if (!t)
		return -1;
	switch (btf_kind(t)) {
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_FWD:
	case BTF_KIND_FLOAT:
		nid = btf__add_type(m->dst, m->src, t);
		break;
	case BTF_KIND_PTR: /* CO-RE does not follow it */
		nid = btf__add_ptr(m->dst, 0);
		break;
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_TYPE_TAG: {
		int r = copy_type(m, t->type);

		if (r < 0)
			return -1;
		two[0] = r;
		nid = add_with_refs(m, t, two);
		break;
	}
	case BTF_KIND_ARRAY: {
		int e = copy_type(m, btf_array(t)->type);
		int ix = e < 0 ? -1 : copy_type(m, btf_array(t)->index_type);

		if (ix < 0)
			return -1;
		two[0] = e;
		two[1] = ix;
		nid = add_with_refs(m, t, two);
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		unsigned n = btf_vlen(t);

		refs = xmalloc((n + 1) * sizeof(*refs));
		for (unsigned i = 0; i < n; i++) {
			int r = copy_type(m, btf_members(t)[i].type);

			if (r < 0)
				return -1;
			refs[i] = r;
		}
		nid = add_with_refs(m, t, refs);
		break;
	}
	default: /* functions, variables: no CO-RE root embeds one */
		log_debug("BTF cache: kernel type %u of kind %u not copied", id,
			  btf_kind(t));
		return -1;
	}
	if (nid <= 0)
		return -1;
	m->map[id] = nid;
	return nid;
}

/* The copy of kernel's types that the roots can match, as raw BTF. */
static void *build_min(const struct btf *kernel, struct roots *r,
		       const struct wanted *w, size_t nw, size_t *size)
{
	struct minbtf m = {.src = kernel};
	uint32_t n = btf__type_cnt(kernel);
	const void *raw;
	uint32_t raw_size;
	void *out = NULL;
	int tid;

	m.dst = btf__new_empty();
	if (!m.dst)
		return NULL;
	btf__set_pointer_size(m.dst, btf__pointer_size(kernel));
	m.map = xzalloc(n * sizeof(*m.map));
	for (uint32_t id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(kernel, id);
		const char *name = btf__name_by_offset(kernel, t->name_off);
		struct root_name *s;

		if (!name || !*name)
			continue;
		s = roots_find(r, name, essential_len(name), false);
		if (!s || !(s->kinds & 1u << btf_kind(t)))
			continue;
		s->found = true;
		if (copy_type(&m, id) < 0)
			goto out;
	}
	/* the kernel's own ids the load needs (btfcache.h); what this
	 * kernel lacks is left out (a tracepoint it has not: that program is
	 * not loaded; the kfunc before 6.2) */
	if (btf__add_enum(m.dst, KERNEL_IDS, 4) < 0)
		goto out;
	for (size_t i = 0; i < nw; i++) {
		tid = btf__find_by_name_kind(kernel, w[i].name, w[i].kind);
		if (tid > 0 && btf__add_enum_value(m.dst, w[i].name, tid) < 0)
			goto out;
	}
	for (size_t i = 0; i < r->cap; i++)
		if (r->slot[i].name && !r->slot[i].found) {
			/* libbpf would look for it in the modules' BTF */
			log_debug(
				"BTF cache: no `%.*s` in the kernel's BTF: not used",
				(int)r->slot[i].len, r->slot[i].name);
			goto out;
		}
	raw = btf__raw_data(m.dst, &raw_size);
	if (raw) {
		out = xmalloc(raw_size);
		memcpy(out, raw, raw_size);
		*size = raw_size;
	}
out:
	free(m.map);
	btf__free(m.dst);
	return out;
}

/* dir: a directory this user owns that no one else can write, or -1 */
static int open_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0 && errno == ENOENT && mkdir(dir, 0700) == 0)
		fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		log_debug("BTF cache %s: %s", dir, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & 022)) {
		log_debug(
			"BTF cache %s: not used (owned by uid %u, mode %o: want %u and no write for group or others)",
			dir, (unsigned)st.st_uid,
			(unsigned)(st.st_mode & 07777), (unsigned)geteuid());
		close(fd);
		return -1;
	}
	return fd;
}

/* Opens the entry of prefix ("btf-K-O-", "boot-B-O-") whose bytes hash to
 * the name's last part; removes damaged ones.  Returns the fd or -1. */
static int find_entry(int dfd, const char *prefix, char *name, size_t size)
{
	size_t plen = strlen(prefix);
	DIR *d;
	struct dirent *e;
	int found = -1;
	int dup_fd = dup(dfd);

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return -1;
	}
	rewinddir(d); /* a dup shares the offset: another walk may be done */
	while (found < 0 && (e = readdir(d))) {
		cleanup_free char *buf = NULL;
		uint64_t want;
		size_t len;
		char *end;
		int fd;

		if (strncmp(e->d_name, prefix, plen))
			continue;
		/* the last part: "boot-B-O-K-C.btf" has K before it */
		want = strtoull(strrchr(e->d_name + plen - 1, '-') + 1, &end,
				16);
		if (strcmp(end, ".btf"))
			continue;
		fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (read_fd(fd, &buf, &len, MAX_CACHED_BTF) == 0 &&
		    hash64(buf, len) == want) {
			if (strlen(e->d_name) >= size) {
				close(fd);
				continue;
			}
			memcpy(name, e->d_name, strlen(e->d_name) + 1);
			found = fd;
			break;
		}
		close(fd);
		log_debug("BTF cache: %s damaged, removed", e->d_name);
		unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
	return found;
}

/* The kernel's ids kept in the copy at fd, into k. */
static void kernel_ids_read(int fd, struct kernel_ids *k)
{
	cleanup_free char *buf = NULL;
	struct btf *btf;
	size_t len;
	int e;

	if (lseek(fd, 0, SEEK_SET) < 0 ||
	    read_fd(fd, &buf, &len, MAX_CACHED_BTF) < 0)
		return;
	btf = btf__new(buf, len);
	if (!btf)
		return;
	e = btf__find_by_name_kind(btf, KERNEL_IDS, BTF_KIND_ENUM);
	if (e > 0) {
		const struct btf_type *t = btf__type_by_id(btf, e);
		const struct btf_enum *v = btf_enum(t);

		for (unsigned i = 0; i < btf_vlen(t); i++)
			if (v[i].val > 0)
				kernel_ids_add(
					k,
					btf__name_by_offset(btf, v[i].name_off),
					(uint32_t)v[i].val);
	}
	btf__free(btf);
}

/* Removes the entries of one family (names starting with family: "btf-"
 * for the entries, "boot-" for this boot's links) that are not keep's
 * (other kernels' "btf-K-", other boots' "boot-B-"), and keep's own of
 * other objects (other agent builds) written more than a day ago
 * (STALE_OBJECT_SECS): a few builds side by side keep theirs, old ones go.
 * With the entries, a writer's .tmp- file no writer can still hold. */
#define STALE_OBJECT_SECS (24 * 3600)
#define STALE_TMP_SECS	  600 /* a .tmp- file no writer has held for 10 min */
static void remove_stale(int dfd, const char *family, const char *keep)
{
	int dup_fd = dup(dfd);
	bool tmp = !strcmp(family, "btf-");
	struct dirent *e;
	time_t now = time(NULL);
	DIR *d;

	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return;
	}
	rewinddir(d);
	while ((e = readdir(d))) {
		struct stat st;

		/* a writer that died between open and rename left its
		 * .tmp-PID: gone once it is older than any write takes */
		if (tmp && !strncmp(e->d_name, ".tmp-", 5)) {
			if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
				    0 &&
			    now - st.st_mtime > STALE_TMP_SECS)
				unlinkat(dfd, e->d_name, 0);
			continue;
		}
		if (strncmp(e->d_name, family, strlen(family)))
			continue;
		if (strncmp(e->d_name, keep, strlen(keep)) ||
		    (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		     now - st.st_mtime > STALE_OBJECT_SECS))
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
}

/*
 * This boot's key: a hash of the kernel's boot id (random, made at each
 * boot) and the size of its BTF, which cannot change while it runs (module
 * BTF is not vmlinux's).  An entry linked under it ("boot-B-O-K-C.btf", a
 * hard link of "btf-K-O-C.btf" once that was found for this boot's kernel
 * by the hash of its BTF) is this kernel's until the next boot: the next
 * start need not read (map) and hash the kernel's 5.5 MB, ~2 ms.  The
 * directory is root's alone (open_dir), as for every entry.  0: no boot id
 * (no /proc): the kernel's BTF is hashed at every start.
 */
static uint64_t boot_key(const char *kernel_btf)
{
	char buf[64 + sizeof(off_t)];
	struct stat st;
	ssize_t n;
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, 64);
	close(fd);
	if (n < 32 || stat(kernel_btf, &st) < 0)
		return 0;
	memcpy(buf + n, &st.st_size, sizeof(st.st_size));
	return hash64(buf, n + sizeof(st.st_size)) | 1;
}

/* The kernel's BTF: mapped where sysfs lets it be (6.16 on), else read in
 * its 4 KiB pieces (~9 ms for 5.5 MB here). */
struct kbtf {
	void *data;
	size_t len;
	bool mapped;
};

static int kbtf_open(struct kbtf *k, const char *path)
{
	cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (size_t)st.st_size > MAX_KERNEL_BTF)
		return -1;
	k->len = st.st_size;
	k->data = mmap(NULL, k->len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
		       0);
	k->mapped = k->data != MAP_FAILED;
	if (k->mapped)
		return 0;
	k->data = NULL;
	if (read_fd(fd, &buf, &k->len, MAX_KERNEL_BTF) < 0)
		return -1;
	k->data = buf;
	return 0;
}

static void kbtf_close(struct kbtf *k)
{
	if (k->mapped)
		munmap(k->data, k->len);
	else
		free(k->data);
}

static int store(int dfd, const char *prefix, const void *raw, size_t size,
		 char *name, size_t name_size)
{
	char tmp[64];
	int fd;

	snprintf(tmp, sizeof(tmp), ".tmp-%d", (int)getpid());
	snprintf(name, name_size, "%s%016" PRIx64 ".btf", prefix,
		 hash64(raw, size));
	fd = openat(dfd, tmp,
		    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return -1;
	if (write_all(fd, raw, size) < 0 || close(fd) < 0 ||
	    renameat(dfd, tmp, dfd, name) < 0) {
		log_debug("BTF cache: write %s: %s", name, strerror(errno));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	log_debug("BTF cache: %s written (%zu bytes)", name, size);
	return openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
}

int btfcache_open(struct btfcache *c, const char *dir, const char *kernel_btf,
		  const void *elf, size_t elf_len)
{
	cleanup_close int dfd = -1;
	struct kbtf k = {0};
	cleanup_free void *min = NULL;
	struct roots roots = {0};
	struct btf *kernel = NULL, *local = NULL;
	const void *lraw;
	char kprefix[32], prefix[64], bprefix[64], bname[96], ids[512];
	size_t llen, min_size = 0, nw, ids_len = 0;
	struct timespec t0, t1;
	struct wanted w[32];
	uint64_t obj = hash64(elf, elf_len) ^ FORMAT;
	uint64_t boot = boot_key(kernel_btf);

	c->fd = c->dfd = -1;
	c->task_struct_id = 0;
	c->ids = (struct kernel_ids){.stand_in_fd = -1};
	c->other_name[0] = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	dfd = open_dir(dir);
	if (dfd < 0)
		return -1;
	/* this boot's link: the kernel's BTF not read at all */
	snprintf(bprefix, sizeof(bprefix),
		 "boot-%016" PRIx64 "-%016" PRIx64 "-", boot, obj);
	if (boot) {
		c->fd = find_entry(dfd, bprefix, c->name, sizeof(c->name));
		/* "boot-B-O-K-C.btf": the entry it links, "btf-K-O-C.btf" */
		if (c->fd >= 0 &&
		    strlen(c->name) == strlen(bprefix) + 17 + 16 + 4)
			snprintf(c->other_name, sizeof(c->other_name),
				 "btf-%.16s-%016" PRIx64 "-%.16s.btf",
				 c->name + strlen(bprefix), obj,
				 c->name + strlen(bprefix) + 17);
		if (c->fd >= 0)
			goto done;
	}
	if (kbtf_open(&k, kernel_btf) < 0) {
		log_debug("BTF cache: cannot read %s", kernel_btf);
		return -1;
	}
	snprintf(kprefix, sizeof(kprefix), "btf-%016" PRIx64 "-",
		 hash64(k.data, k.len));
	snprintf(prefix, sizeof(prefix), "%s%016" PRIx64 "-", kprefix, obj);
	c->fd = find_entry(dfd, prefix, c->name, sizeof(c->name));
	if (c->fd >= 0)
		goto link;
	lraw = elf_section(elf, elf_len, ".BTF", &llen);
	local = lraw ? btf__new(lraw, llen) : NULL;
	if (!local || collect_roots(elf, elf_len, local, &roots) < 0) {
		log_debug("BTF cache: the object's relocations not understood");
		goto out;
	}
	kernel = btf__new(k.data, k.len);
	if (!kernel)
		goto out;
	nw = wanted_ids(elf, elf_len, w, sizeof(w) / sizeof(w[0]));
	min = build_min(kernel, &roots, w, nw, &min_size);
	if (!min)
		goto out;
	remove_stale(dfd, "btf-", kprefix);
	c->fd = store(dfd, prefix, min, min_size, c->name, sizeof(c->name));
link:
	/* this boot's link to it, for the next starts */
	if (c->fd >= 0 && boot) {
		snprintf(bname, sizeof(bname), "%s%.16s-%s", bprefix,
			 c->name + 4, c->name + strlen(prefix));
		remove_stale(dfd, "boot-", bprefix);
		if (linkat(dfd, c->name, dfd, bname, 0) == 0 || errno == EEXIST)
			snprintf(c->other_name, sizeof(c->other_name), "%s",
				 bname);
		else
			log_debug("BTF cache: link %s: %s", bname,
				  strerror(errno));
	}
done:
	if (c->fd >= 0) {
		kernel_ids_read(c->fd, &c->ids);
		c->ids.stand_in_fd = c->fd; /* a file, no BPF program */
		c->task_struct_id = kernel_ids_get(&c->ids, "task_struct");
		clock_gettime(CLOCK_MONOTONIC, &t1);
		snprintf(c->path, sizeof(c->path), "/proc/self/fd/%d", c->fd);
		c->dfd = get_and_reset(&dfd);
		log_debug("BTF cache: %s%s, task_struct %u (%.1f ms)", c->name,
			  min ? " built" : "", c->task_struct_id,
			  (t1.tv_sec - t0.tv_sec) * 1e3 +
				  (t1.tv_nsec - t0.tv_nsec) / 1e6);
		ids[0] = 0;
		for (size_t i = 0; i < c->ids.n && ids_len < sizeof(ids); i++)
			ids_len += snprintf(ids + ids_len,
					    sizeof(ids) - ids_len, " %s %u",
					    c->ids.v[i].name, c->ids.v[i].id);
		log_debug("BTF cache: the kernel's ids:%s", ids);
	}
out:
	btf__free(kernel);
	btf__free(local);
	free(roots.slot);
	kbtf_close(&k);
	return c->fd >= 0 ? 0 : -1;
}

void btfcache_discard(struct btfcache *c)
{
	if (c->dfd >= 0 && unlinkat(c->dfd, c->name, 0) == 0)
		log_info("BTF cache: %s removed", c->name);
	/* the entry and this boot's link to it: both */
	if (c->dfd >= 0 && c->other_name[0] &&
	    unlinkat(c->dfd, c->other_name, 0) == 0)
		log_info("BTF cache: %s removed", c->other_name);
}

void btfcache_close(struct btfcache *c)
{
	kernel_ids_free(&c->ids);
	c->ids.stand_in_fd = -1;
	if (c->fd >= 0)
		close(c->fd);
	if (c->dfd >= 0)
		close(c->dfd);
	c->fd = c->dfd = -1;
}
