/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Resolved paths of the decoded view (issue 12; docs/events.md "Resolved
 * paths"): the kernel's walk (struct sf_fpath, bpf/kpath.bpf.h) joined,
 * for a path call with the typed path normalised lexically, and the host
 * path (hostpath.h).  Adds the keys resolved, resolved2, host_path,
 * host_path2, resolved_partial, resolved_lexical, deleted to the view.
 */
#ifndef SF_DECODE_PATH_H
#define SF_DECODE_PATH_H

#include <stdbool.h>
#include <stddef.h>

struct decode_event;

/* Fill functions for the decoder (decode.c, decode_sec.c). */
void decode_path_file(struct decode_event *v, const void *raw);
void decode_path_sec(struct decode_event *v, const void *raw);

/*
 * "/a/b" (base, absolute) joined with typed: an absolute typed path
 * replaces the base; "." and empty components are dropped, ".." drops the
 * previous component (at "/" it stays "/", as the kernel does at the
 * root).  Returns the length written to out (cap bytes, NUL-terminated),
 * or -1 when it does not fit.  *above: a ".." went above base's first
 * component (a cut base: what it names is not known).
 */
int decode_path_join(const char *base, const char *typed, size_t typed_len,
		     char *out, size_t cap, bool *above);

#endif
