/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A stream that records a seccomp profile: io.sfagent.seccomp=record[:BASE]
 * in -D, --seccomp-profile FILE in -X/-w.  Recording starts before the
 * workload's cgroup is tracked (its first syscall counts) and ends when the
 * stream does: the profile is built (seccomp_profile.c), written, and
 * stream.end says where and how many syscalls it allows, or why there is
 * none.  A refused annotation never refuses the container: its stream goes
 * on and stream.end carries the reason.
 */
#ifndef SF_SECCOMP_RECORD_H
#define SF_SECCOMP_RECORD_H

#include <stdbool.h>
#include <stdlib.h>

#include "encode.h"
#include "options.h"
#include "probe.h"

#define ANN_SECCOMP "io.sfagent.seccomp"

struct wl_seccomp {
	char *base; /* a base profile's name in --seccomp-dir, or NULL */
	char *path; /* -X/-w: the file to write */
	int dirfd; /* -D: the output directory (the daemon's, not owned) */
	char *name; /* -D: the file name in it */
	bool recording; /* the kernel records for the slot */
	bool partial; /* resumed after an agent restart: earlier calls lost */
	/* what stream.end says */
	char *written;
	unsigned allowed, blocked;
	char *error;
};

/* -D: the annotation in a registration's meta (NULL: not asked for).
 * stream_file: the stream's first file name, or NULL. */
struct wl_seccomp *seccomp_record_from_meta(const char *meta_json, int dirfd,
					    const char *stream_file,
					    const char *workload,
					    const char *container_id,
					    bool resumed);
/* -X/-w --seccomp-profile FILE: *out NULL when not asked for; the file's
 * directory must exist (checked now, not when the workload is over). */
int seccomp_record_from_options(const struct sf_options *o,
				struct wl_seccomp **out, struct sf_error **err);
/* Starts the kernel side for the workload's slot (before it is tracked). */
void seccomp_record_begin(struct probe *p, struct wl_seccomp *s, uint32_t slot,
			  const char *workload);
/* Ends it, builds and writes the profile; fills t's seccomp keys. */
void seccomp_record_end(struct probe *p, struct wl_seccomp *s, uint32_t slot,
			const char *seccomp_dir, const char *workload,
			struct stream_totals *t);
/* Only frees (inline: the workload table frees it, and links no BPF). */
static inline void seccomp_record_free(struct wl_seccomp *s)
{
	if (!s)
		return;
	free(s->base);
	free(s->path);
	free(s->name);
	free(s->written);
	free(s->error);
	free(s);
}

#endif
