/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF side as the agent sees it: load, attach, track cgroups, poll. */
#ifndef SF_PROBE_H
#define SF_PROBE_H

#include <stdint.h>

#include "util.h"

struct sfagent_bpf;
struct ring_buffer;

struct probe {
	struct sfagent_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int nlinks;
	int ncpus;
	/* seccomp recording programs, attached while some slot records */
	struct bpf_link *seccomp_links[2];
	unsigned seccomp_users;
};

struct probe_opts {
	const char *btf_path; /* NULL: /sys/kernel/btf/vmlinux */
	uint32_t ringbuf_bytes;
	/* called for every ring buffer record */
	int (*on_event)(void *ctx, void *data, size_t size);
	void *ctx;
};

int probe_open(struct probe *p, const struct probe_opts *o,
	       struct sf_error **err);
void probe_close(struct probe *p);

int probe_track(struct probe *p, uint64_t cgid, uint32_t slot,
		struct sf_error **err);
int probe_untrack(struct probe *p, uint64_t cgid);
/* Ring buffer reservations that failed for slot, summed over CPUs. */
uint64_t probe_drops(struct probe *p, uint32_t slot);
void probe_reset_drops(struct probe *p, uint32_t slot);

int probe_epoll_fd(struct probe *p);
/* Consume what is in the ring buffer now; returns records or -errno. */
int probe_consume(struct probe *p);

struct sf_seccomp_bits;
/* Seccomp recording for slot: clears its bits and sets its flag; the
 * recording programs are attached while any slot records. */
int probe_seccomp_start(struct probe *p, uint32_t slot, struct sf_error **err);
/* Reads the slot's bits (the CPUs ORed) and clears its flag; detaches the
 * programs when no slot records any more. */
void probe_seccomp_stop(struct probe *p, uint32_t slot,
			struct sf_seccomp_bits *out);

/* Make sure bpffs and tracefs are mounted (mounts them if absent). */
int probe_mount_fs(struct sf_error **err);

#endif
