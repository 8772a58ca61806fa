/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Seccomp profiles from what a workload did.  The kernel side sets one bit per
 * syscall number a tracked workload entered (native and 32-bit numbering
 * apart) and one per io_uring opcode it submitted (bpf/seccomp.bpf.h); this
 * module turns such a record into an OCI / containers-common seccomp profile:
 * default action SCMP_ACT_ERRNO (EPERM), one SCMP_ACT_ALLOW rule naming the
 * syscalls used.  A base profile, when given, is kept as it is and the
 * observed syscalls it has no rule for are added; syscalls the base denies
 * stay denied and are reported.  Every profile is compiled with libseccomp
 * before it is written.
 */
#ifndef SF_SECCOMP_PROFILE_H
#define SF_SECCOMP_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sfagent.h"
#include "util.h"

struct seccomp_profile_result {
	unsigned allowed; /* names in the rule sfagent adds */
	unsigned blocked; /* observed syscalls a base profile denies */
	unsigned unnamed; /* observed numbers libseccomp has no name for */
	bool compat; /* 32-bit syscalls were seen: the compat arch is listed */
	bool io_uring; /* io_uring_setup is allowed (bypasses seccomp) */
};

/* Builds the profile (pretty JSON, '\n'-terminated) from what was recorded.
 * base_json: a base profile's text, or NULL.  *out is malloc'd. */
int seccomp_profile_build(const struct sf_seccomp_bits *r,
			  const char *base_json, char **out, size_t *len,
			  struct seccomp_profile_result *res,
			  struct sf_error **err);

/* Reads base profile NAME from the profile directory: NAME is a plain file
 * name (no '/', not "." or ".."), a regular file, not a symlink. */
int seccomp_profile_read_base(const char *dir, const char *name, char **out,
			      struct sf_error **err);

/* Writes buf as dirfd/name: a temporary file in the same directory renamed
 * into place, so a reader never sees half a profile and a planted symlink
 * or hard link at name is replaced, never written through. */
int seccomp_profile_write_at(int dirfd, const char *name, const char *buf,
			     size_t len, struct sf_error **err);

/* The same for a path given on the command line (-X/-w --seccomp-profile). */
int seccomp_profile_write_path(const char *path, const char *buf, size_t len,
			       struct sf_error **err);

/* "record" or "record:BASE" (io.sfagent.seccomp).  *base is NULL or a
 * malloc'd plain file name. */
int seccomp_profile_parse_mode(const char *value, char **base,
			       struct sf_error **err);

#endif
