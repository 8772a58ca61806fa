/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Seccomp recording: one bit per syscall a recording workload enters, and per
 * io_uring opcode it submits (struct sf_seccomp_bits, sfagent.h).  Every
 * syscall counts, not only the exported ones, so this sits on the generic
 * sys_enter (sys_exit would miss exit_group and a successful execve).  The
 * agent attaches these two programs only while some stream records
 * (probe_seccomp_start), so nobody pays for them otherwise; then the cgroup
 * filter comes first, and a per-slot flag second.
 */
#ifndef SF_SECCOMP_BPF_H
#define SF_SECCOMP_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct sf_seccomp_bits);
} seccomp_bits SEC(".maps");

/* slot -> 1 while its stream records a profile */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, SF_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} seccomp_on SEC(".maps");

/* bits[nr]: the word index masked so the verifier sees it bounded */
static __always_inline void seccomp_set_bit(__u64 *bits, __u32 nr, __u32 words)
{
	bits[(nr >> 6) & (words - 1)] |= 1ull << (nr & 63);
}

static __always_inline struct sf_seccomp_bits *seccomp_slot_bits(void)
{
	__u32 slot = current_slot(bpf_get_current_cgroup_id());
	__u32 *on;

	if (slot == SF_SLOT_NONE)
		return NULL;
	on = bpf_map_lookup_elem(&seccomp_on, &slot);
	if (!on || !*on)
		return NULL;
	return bpf_map_lookup_elem(&seccomp_bits, &slot);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(sf_seccomp_enter, struct pt_regs *regs, long id)
{
	struct sf_seccomp_bits *b = seccomp_slot_bits();
	struct task_struct *t;
	__u32 nr = (__u32)id;

	if (!b || id < 0 || nr >= SF_SECCOMP_NR_MAX)
		return 0;
	t = bpf_get_current_task_btf();
	/* per-CPU value, migration disabled here: no atomics needed */
	if (BPF_CORE_READ(t, thread_info.status) & TS_COMPAT)
		seccomp_set_bit(b->compat, nr, SF_SECCOMP_NR_MAX / 64);
	else
		seccomp_set_bit(b->native, nr, SF_SECCOMP_NR_MAX / 64);
	return 0;
}

/* io_uring requests bypass seccomp: the profile says which were made. */
SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(sf_seccomp_uring, struct io_kiocb *req)
{
	struct sf_seccomp_bits *b = seccomp_slot_bits();
	__u32 op;

	if (!b)
		return 0;
	op = BPF_CORE_READ(req, opcode);
	if (op < SF_SECCOMP_URING_MAX)
		seccomp_set_bit(b->uring, op, SF_SECCOMP_URING_MAX / 64);
	return 0;
}

#endif
