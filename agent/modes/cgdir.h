/* SPDX-License-Identifier: GPL-2.0 */
/* cgroup directories the agent makes for the workloads it runs itself. */
#ifndef SF_CGDIR_H
#define SF_CGDIR_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

struct cgdir {
	char *path; /* absolute directory */
	uint64_t id;
	int events_fd; /* cgroup.events, for "populated 0" */
};

/* <cgroup2 mount>/sfagent/<name> */
int cgdir_create(struct cgdir *c, const char *name, struct sf_error **err);
/* Move the calling process into it (async-signal-safe: usable after fork). */
int cgdir_enter_self(const char *dir);
/* false once no task is left in it or below */
bool cgdir_populated(struct cgdir *c);
/* SIGTERM every process inside, this cgroup and those below. */
void cgdir_terminate(struct cgdir *c);
/* SIGKILL every task inside (cgroup.kill). */
void cgdir_kill(struct cgdir *c);
void cgdir_remove(struct cgdir *c);

#endif
