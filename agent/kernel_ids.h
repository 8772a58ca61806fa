/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's BTF ids an object's load needs, given to libbpf rather than
 * looked up by it: the attach targets of the tp_btf programs (typedef
 * btf_trace_<tracepoint>) and the kfunc the programs call (bpf_rdonly_cast,
 * by the helper number SF_CALL_RDONLY_CAST, bpf/sfagent.h).  For either,
 * libbpf 1.1 parses the kernel's whole BTF (5.5 MB, 126,000 types) once per
 * object at every load: 8-19 ms of each loader thread of a short -X.  The
 * agent has the ids from its BTF cache (agent/btfcache.h).
 *
 * How, with libbpf's public API: the object's tp_btf and tracepoint
 * sections have the agent's handlers (libbpf_register_prog_handler), whose
 * prog_prepare_load_fn (kernel_ids_prepare) sets a program's attach id and
 * makes its kfunc calls (bpf_program__set_insns, what that callback is for).
 * libbpf still parses the kernel's BTF for any TRACING program without an
 * attach program fd; so a program whose id is known gets a stand-in fd
 * there (kernel_ids_preset: one that is no BPF program, so that a libbpf
 * that handed it to the kernel would fail the load, never attach it
 * elsewhere), which kernel_ids_prepare takes back out of the load's
 * attributes.  A program whose id is not known is left to libbpf's lookup.
 */
#ifndef SF_KERNEL_IDS_H
#define SF_KERNEL_IDS_H

#include <bpf/libbpf.h>
#include <stddef.h>
#include <stdint.h>

struct kernel_id {
	char *name; /* the kernel type's: "btf_trace_sched_process_exec" */
	uint32_t id;
};

struct kernel_ids {
	struct kernel_id *v;
	size_t n;
	int stand_in_fd; /* open while the object loads; < 0: none */
};

/* The kernel's id of the type name, 0: not known. */
uint32_t kernel_ids_get(const struct kernel_ids *k, const char *name);
void kernel_ids_add(struct kernel_ids *k, const char *name, uint32_t id);
void kernel_ids_free(struct kernel_ids *k);

/* Before the load, for each program to load of a tp_btf section: its
 * attach id from k (NULL: none known), or libbpf's lookup.  0 or -errno. */
int kernel_ids_preset(struct bpf_object *obj, const struct kernel_ids *k);

/* A prog_prepare_load_fn's part (k: what kernel_ids_preset had; NULL
 * none): the attach id of a tp_btf program, and its calls of
 * SF_CALL_RDONLY_CAST made kfunc calls (without the kfunc's id: moves of
 * the argument, the cast's identity).  0 or -errno. */
int kernel_ids_prepare(struct bpf_program *prog,
		       struct bpf_prog_load_opts *opts,
		       const struct kernel_ids *k);

#endif
