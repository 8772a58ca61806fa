// SPDX-License-Identifier: GPL-2.0
/*
 * The sweep's walk of the io_uring requests table (agent/uring_keys.c) on
 * a real BPF hash map in the kernel: every entry there for the whole walk
 * comes back once, also when entries are deleted while it walks.  The
 * deletes are made from inside the walk's own map calls (the libbpf
 * functions are interposed here): a kworker cancelling requests on
 * another CPU at the worst moment, which cannot be caused on cue.  Each
 * key the walk is handed that is the "kworker's" (odd) is deleted right
 * after: bpf_map_get_next_key's walk then restarted at the table's first
 * key every time and gave up before reaching the stream's (even) keys.
 * Needs CAP_BPF (run as root, as the suites are).
 */
#include <bpf/bpf.h>
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include "tap.h"
#include "uring_keys.h"

#define MAX   2048
#define VSIZE 64

static int map_fd = -1;
static bool chase; /* delete each odd key the walk is handed */
static unsigned deleted;

static void kworker(const uint64_t *k, unsigned n)
{
	for (unsigned i = 0; chase && i < n; i++)
		if ((k[i] & 1) && bpf_map_delete_elem(map_fd, &k[i]) == 0)
			deleted++;
}

int bpf_map_get_next_key(int fd, const void *key, void *next_key)
{
	static int (*real)(int, const void *, void *);
	int r;

	if (!real)
		real = (int (*)(int, const void *, void *))dlsym(
			RTLD_NEXT, "bpf_map_get_next_key");
	r = real(fd, key, next_key);
	if (r == 0 && fd == map_fd)
		kworker(next_key, 1);
	return r;
}

int bpf_map_lookup_batch(int fd, void *in_batch, void *out_batch, void *keys,
			 void *values, __u32 *count,
			 const struct bpf_map_batch_opts *opts)
{
	static int (*real)(int, void *, void *, void *, void *, __u32 *,
			   const struct bpf_map_batch_opts *);
	int r;

	if (!real)
		real = (int (*)(int, void *, void *, void *, void *, __u32 *,
				const struct bpf_map_batch_opts *))
			dlsym(RTLD_NEXT, "bpf_map_lookup_batch");
	r = real(fd, in_batch, out_batch, keys, values, count, opts);
	if (fd == map_fd)
		kworker(keys, *count);
	return r;
}

static void fill(unsigned n)
{
	char v[VSIZE] = {0};

	for (uint64_t k = 1; k <= n; k++)
		bpf_map_update_elem(map_fd, &k, v, BPF_NOEXIST);
}

/* keys[0..n) distinct, and every even one of 1..upto among them */
static bool has_evens(const uint64_t *keys, int n, unsigned upto)
{
	static bool seen[MAX + 1];

	memset(seen, 0, sizeof(seen));
	for (int i = 0; i < n; i++) {
		if (!keys[i] || keys[i] > MAX || seen[keys[i]])
			return false;
		seen[keys[i]] = true;
	}
	for (unsigned k = 2; k <= upto; k += 2)
		if (!seen[k]) {
			printf("#   key %u not returned\n", k);
			return false;
		}
	return true;
}

int main(void)
{
	static uint64_t keys[MAX];
	int n;

	map_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "sf_test_keys", 8, VSIZE,
				MAX, NULL);
	ok(map_fd >= 0, "a BPF hash map of %d entries (CAP_BPF): %s", MAX,
	   map_fd >= 0 ? "made" : strerror(errno));
	if (map_fd < 0)
		return tap_done();

	fill(MAX);
	n = uring_keys_collect(map_fd, VSIZE, keys, MAX);
	ok(n == MAX && has_evens(keys, n, MAX),
	   "a full table, nothing deleted: every key once (%d)", n);

	chase = true;
	n = uring_keys_collect(map_fd, VSIZE, keys, MAX);
	ok(has_evens(keys, n, MAX),
	   "each odd key deleted as soon as the walk has it: every even key still comes, once (%d keys, %u deleted)",
	   n, deleted);
	chase = false;

	/* what is left: the even keys; room for fewer than there are */
	/* a batch call returns whole buckets: the bucket that does not fit
	 * in what is left is not read, so a few fewer may come (how many
	 * depends on the map's random hash seed); the sweep asks for the
	 * table's max_entries, which every bucket fits in */
	n = uring_keys_collect(map_fd, VSIZE, keys, 100);
	ok(n <= 100 && n >= 90,
	   "at most max keys, a bucket fewer at least (%d)", n);
	for (uint64_t k = 2; k <= MAX; k += 2)
		bpf_map_delete_elem(map_fd, &k);
	n = uring_keys_collect(map_fd, VSIZE, keys, MAX);
	ok(n == 0, "an empty table: none (%d)", n);
	close(map_fd);
	return tap_done();
}
