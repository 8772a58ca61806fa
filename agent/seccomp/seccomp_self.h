/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon sandboxes itself once its BPF programs are loaded: it drops every
 * capability it no longer needs and installs a seccomp allow-list (libseccomp)
 * of the syscalls serving the hook, the streams and the sinks take.  Anything
 * else is trapped: the call fails with EPERM (the agent keeps serving, never
 * killed by a library taking a path nobody foresaw) and is counted and logged
 * once per syscall by seccomp_self_report().  docs/hook.md lists both sets.
 */
#ifndef SF_SECCOMP_SELF_H
#define SF_SECCOMP_SELF_H

#include <stdbool.h>
#include <stdio.h>

#include "util.h"

/* Drops capabilities, then installs the filter on every thread. */
int seccomp_self_sandbox(struct sf_error **err);
/* Logs syscalls denied since the last call (main loop; not signal-safe
 * work is done here, never in the trap handler). */
void seccomp_self_report(void);
/* --sandbox-list: the allow-list, one name a line. */
void seccomp_self_list(FILE *f);
/* Syscalls the installed filter allows, 0 when none is installed. */
unsigned seccomp_self_allowed(void);
/* "CAP_SYS_ADMIN CAP_BPF ...": kept by the sandbox ("" without it). */
const char *seccomp_self_kept_caps(void);
/* Total denied calls so far. */
unsigned long seccomp_self_denied(void);
/* Test-only (--sandbox-selftest): makes one call the filter denies and
 * says on stderr whether it was denied. */
void seccomp_self_test(void);

#endif
