/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The keys of the io_uring requests table (uring_pending, bpf/uring.bpf.h)
 * for the agent's sweep (probe.c): every entry there for the whole walk is
 * returned, once, however many are deleted or added meanwhile (completions
 * on other CPUs, a kworker cancelling what a ring had in flight while the
 * sweep at that stream's end walks).  BPF_MAP_LOOKUP_BATCH's cursor is a
 * hash bucket, which a delete does not move; bpf_map_get_next_key's walk
 * restarted at the table's first key after each delete of the key it was
 * at, and gave up after a bounded number of steps: requests past that were
 * left in the table, their records never in their stream.
 */
#ifndef SF_URING_KEYS_H
#define SF_URING_KEYS_H

#include <stdint.h>

/* Up to max keys of the BPF hash map fd (8-byte keys, values of
 * value_size bytes) into keys; returns how many, or < 0 (-errno) when the
 * map cannot be read. */
int uring_keys_collect(int fd, uint32_t value_size, uint64_t *keys, int max);

#endif
