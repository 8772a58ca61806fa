/* SPDX-License-Identifier: GPL-2.0 */
/*
 * module:module_load, where the kernel has it (CONFIG_MODULES): a
 * kernel.module_load with the module's name as the kernel parsed it, from
 * the loading task (init_module/finit_module's caller).  Optional: the
 * loader (agent/probe.c) does not load this program when the kernel's BTF
 * has no btf_trace_module_load, so a kernel without modules starts as
 * before.  struct module is read through CO-RE (a local flavour), so this
 * builds against a vmlinux.h with or without it.
 */
#ifndef SF_MODULE_BPF_H
#define SF_MODULE_BPF_H

struct module___sf {
	char name[56];
} __attribute__((preserve_access_index));

SEC("tp_btf/module_load")
int BPF_PROG(sf_module_load, struct module___sf *mod)
{
	__u64 cgid = bpf_get_current_cgroup_id();
	__u32 slot = current_slot(cgid);
	struct sf_sec_event *e;

	if (slot == SF_SLOT_NONE)
		return 0;
	e = reserve(slot, SF_EV_MODULE_LOAD, sizeof(*e));
	if (!e)
		return 0;
	/* no syscall and no ret: the load is under way */
	fill_hdr(&e->hdr, SF_EV_MODULE_LOAD, slot, cgid);
	sec_clear(e);
	if (bpf_core_read_str(e->str[0], SF_STR_MAX, &mod->name) < 0)
		e->hdr.flags |= SF_F_UNRESOLVED;
	submit(e);
	return 0;
}

#endif
