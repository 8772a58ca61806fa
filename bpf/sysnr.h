/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Syscall numbers newer than the build host's <asm/unistd_64.h> may know
 * (x86-64 numbering, the same on every architecture for these).  Whether the
 * running kernel has them is the loader's business (SF_SC_OPTIONAL in
 * syscalls.def), not a compile-time #if.
 */
#ifndef SF_SYSNR_H
#define SF_SYSNR_H

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif

#endif
