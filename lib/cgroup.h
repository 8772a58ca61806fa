/* SPDX-License-Identifier: GPL-2.0 */
/* cgroup v2 lookups shared by the agent and the hook. */
#ifndef SF_CGROUP_H
#define SF_CGROUP_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

/* Where cgroup v2 is mounted, from /proc/self/mountinfo (never assumed). */
int cg2_mount_point(char **out, struct sf_error **err);
/* The cgroup v2 path of pid ("/a/b") from /proc/<pid>/cgroup. */
int cg2_path_of_pid(pid_t pid, char **out, struct sf_error **err);
/* A cgroup's id as bpf_get_current_cgroup_id() returns it: its inode. */
int cg2_id(const char *dir, uint64_t *id, struct sf_error **err);

#endif
