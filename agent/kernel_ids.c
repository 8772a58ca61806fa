// SPDX-License-Identifier: GPL-2.0
#include "kernel_ids.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sfagent.h"
#include "util.h"

#define TP_BTF "tp_btf/"

uint32_t kernel_ids_get(const struct kernel_ids *k, const char *name)
{
	for (size_t i = 0; k && i < k->n; i++)
		if (!strcmp(k->v[i].name, name))
			return k->v[i].id;
	return 0;
}

void kernel_ids_add(struct kernel_ids *k, const char *name, uint32_t id)
{
	k->v = xrealloc(k->v, (k->n + 1) * sizeof(*k->v));
	k->v[k->n].name = xstrdup(name);
	k->v[k->n].id = id;
	k->n++;
}

void kernel_ids_free(struct kernel_ids *k)
{
	for (size_t i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
	k->v = NULL;
	k->n = 0;
}

/* The attach target's id of a tp_btf program (section "tp_btf/NAME"): the
 * kernel's typedef btf_trace_NAME. */
static uint32_t attach_id(const struct kernel_ids *k, const char *sec)
{
	char name[128];

	snprintf(name, sizeof(name), "btf_trace_%s", sec + strlen(TP_BTF));
	return kernel_ids_get(k, name);
}

int kernel_ids_preset(struct bpf_object *obj, const struct kernel_ids *k)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj)
	{
		const char *sec = bpf_program__section_name(prog);
		int r;

		if (!bpf_program__autoload(prog) ||
		    strncmp(sec, TP_BTF, strlen(TP_BTF)))
			continue;
		/* the id known: libbpf need not parse the kernel's BTF
		 * for it (kernel_ids.h) */
		if (k && k->stand_in_fd > 0 && attach_id(k, sec)) {
			r = bpf_program__set_attach_target(prog, k->stand_in_fd,
							   NULL);
		} else {
			log_debug(
				"prog '%s': its attach target's id is libbpf's to find",
				bpf_program__name(prog));
			r = bpf_program__set_attach_target(
				prog, 0, sec + strlen(TP_BTF));
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* prog's calls of SF_CALL_RDONLY_CAST: the kfunc call (id), or r0 = r1. */
static int make_kfunc_calls(struct bpf_program *prog, uint32_t id)
{
	const struct bpf_insn *in = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	cleanup_free struct bpf_insn *out = NULL;
	unsigned calls = 0;

	for (size_t i = 0; in && i < n; i++) {
		if (in[i].code != (BPF_JMP | BPF_CALL) || in[i].src_reg != 0 ||
		    in[i].imm != SF_CALL_RDONLY_CAST)
			continue;
		if (!out) {
			out = xmalloc(n * sizeof(*out));
			memcpy(out, in, n * sizeof(*out));
		}
		calls++;
		if (id) {
			/* as libbpf makes an extern __ksym's call */
			out[i].src_reg = BPF_PSEUDO_KFUNC_CALL;
			out[i].off = 0; /* the id is vmlinux's */
			out[i].imm = (int32_t)id;
		} else {
			out[i] = (struct bpf_insn){
				.code = BPF_ALU64 | BPF_MOV | BPF_X,
				.dst_reg = BPF_REG_0,
				.src_reg = BPF_REG_1,
			};
		}
	}
	if (!out)
		return 0;
	log_debug("prog '%s': %u calls of bpf_rdonly_cast made %s",
		  bpf_program__name(prog), calls,
		  id ? "kfunc calls" : "moves (no kernel id for it)");
	return bpf_program__set_insns(prog, out, n);
}

int kernel_ids_prepare(struct bpf_program *prog,
		       struct bpf_prog_load_opts *opts,
		       const struct kernel_ids *k)
{
	const char *sec = bpf_program__section_name(prog);

	/* not preset by libbpf: the stand-in's (kernel_ids_preset) */
	if (!strncmp(sec, TP_BTF, strlen(TP_BTF)) && !opts->attach_btf_id) {
		uint32_t id = attach_id(k, sec);

		if (!id || !k || opts->attach_prog_fd != (__u32)k->stand_in_fd)
			return -ESRCH;
		opts->attach_prog_fd = 0;
		opts->attach_btf_obj_fd = 0; /* vmlinux */
		opts->attach_btf_id = id;
	}
	return make_kfunc_calls(prog, kernel_ids_get(k, "bpf_rdonly_cast"));
}
