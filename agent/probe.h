/* SPDX-License-Identifier: GPL-2.0 */
/* The BPF side as the agent sees it: load, attach, track cgroups, poll. */
#ifndef SF_PROBE_H
#define SF_PROBE_H

#include <stdbool.h>
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
/* Over budget: the kernel counts slot's events instead of sending them. */
void probe_pause(struct probe *p, uint32_t slot, bool paused);
/* Events not sent while slot was paused, summed over CPUs. */
uint64_t probe_paused_drops(struct probe *p, uint32_t slot);

int probe_epoll_fd(struct probe *p);
/* Consume what is in the ring buffer now; returns records or -errno. */
int probe_consume(struct probe *p);

/* Make sure bpffs and tracefs are mounted (mounts them if absent). */
int probe_mount_fs(struct sf_error **err);

#endif
