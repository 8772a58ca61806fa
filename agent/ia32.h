/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Can this kernel run ia32 (32-bit x86) syscalls?  The probe decides from
 * it which program sends the syscall events (agent/probe.c): where they
 * can run, the one on the generic sys_exit (the only hook that sees them,
 * bpf/compat.bpf.h); where they cannot, the per-syscall tracepoints
 * (bpf/persys.bpf.h), which cost untracked syscalls far less.  A wrong
 * "absent" is a blind spot, so every doubt answers "can run"
 * (docs/design.md, "which programs are attached").
 */
#ifndef SF_IA32_H
#define SF_IA32_H

#include <stdbool.h>
#include <stddef.h>

/*
 * false only when a child's `int $0x80` faulted (no gate) and neither the
 * kernel's config nor its command line says ia32 syscalls are on.  why
 * gets the reason, for the log.  SFAGENT_TEST_IA32=absent answers false
 * without asking: tests simulate a kernel without ia32 emulation with it.
 */
bool ia32_syscalls_run(char *why, size_t n);

#endif
