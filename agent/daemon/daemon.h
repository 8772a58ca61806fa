/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Daemon mode (-D): the per-host agent behind sfhook.  One agent (BPF loaded
 * once), a unix socket for REGISTER/UNREGISTER, one stream per container
 * written into the output directory.
 */
#ifndef SF_DAEMON_H
#define SF_DAEMON_H

#include <stdbool.h>

#include "agent.h"
#include "budget.h"
#include "oci.h"
#include "proto.h"
#include "server.h"

#define SF_OUTPUT_DIR_DEFAULT "/var/log/sfagent"

enum daemon_phase {
	DAEMON_LIVE, /* tracked, streaming */
	DAEMON_DRAIN, /* untracked; the sinks deliver what they hold */
	DAEMON_ENDING, /* stream.end written; the sinks deliver it */
};

/* What the daemon keeps per workload slot besides struct workload. */
struct daemon_reg {
	/* the workload part of its default names: the workload, or
	 * <workload>.<container id> when the pod asserted the name
	 * (docs/hook.md "Stream names") */
	char *name;
	bool pod_named; /* workload_source "annotation" */
	/* names in the output directory (+1: the fallback default file) */
	char *files[SF_EXPORT_MAX + 1];
	int nfiles;
	char *topics[SF_EXPORT_MAX]; /* MQTT topics it publishes to */
	int ntopics;
	bool http, nats;
	bool fallback; /* an export fell back to the default file */
	enum daemon_phase phase;
	uint64_t deadline_ns; /* monotonic: when the current phase gives up */
	uint64_t gone_since; /* monotonic ns the cgroup was first seen gone */
	bool undelivered; /* a sink was given up on (its spool keeps it) */
	struct budget *budget; /* the workload's, NULL: none */
};

struct daemon {
	struct agent *a;
	const struct sf_options *o;
	char *cg_mnt; /* cgroup2 mount point */
	char *self_cgroup; /* the agent's own cgroup v2 path */
	int out_dirfd; /* every output file is opened relative to it */
	struct server srv;
	struct watch_hub *watch; /* sfagent watch/status (watch.h) */
	struct metrics *metrics; /* --metrics (metrics.h), or NULL */
	/* spools left undelivered (sink_leftover.h), NULL: none yet or no
	 * spool */
	struct sink_leftover *leftover;
	uint64_t refused; /* registrations refused (fail-open: untracked) */
	uint64_t late; /* ACKs the hook no longer read (daemon_register_late) */
	struct budget_dir budget_dir; /* --output-max-bytes */
	struct daemon_reg *reg[SF_MAX_SLOTS];
	struct filter *select; /* --select, NULL: every container */
	/* tests only (SFAGENT_TEST_TRACK_DELAY_MS): a pause before the cgroup
	 * goes into the BPF map, so an ACK sent before it would be seen */
	unsigned test_track_delay_ms;
};

/*
 * Starts the stream of a registered container: checks the request against the
 * cgroup it names, opens its sinks inside the output directory, writes
 * stream.start and tracks the cgroup.  resumed: after an agent restart (adds
 * the stream.missed "agent_restart" record).  Idempotent for the same
 * container and cgroup.
 */
int daemon_register(struct daemon *d, const struct sf_msg *req, bool resumed,
		    struct sf_error **err);
/* The hook gave up before the ACK of this registration reached it (its
 * --timeout ran out): counted; a container whose cgroup is gone already
 * (fail-closed: the runtime removed it) has its stream ended now, one that
 * runs (fail-open: it started before it was tracked) gets a stream.missed
 * "hook_gave_up" (count 0: how much was missed is unknown). */
void daemon_register_late(struct daemon *d, const char *container_id);
/* Drains and ends the container's stream; an unknown id is not an error.
 * Network sinks that cannot deliver at once are drained from the main loop
 * (daemon_close_poll), never by blocking it. */
void daemon_unregister(struct daemon *d, const char *container_id);
/* Ends the streams whose cgroup was removed without a poststop. */
void daemon_reap(struct daemon *d);
/* Ends every stream (signal, shutdown).  The cgroup tags stay for a restart. */
void daemon_finish_all(struct daemon *d);
/* Checks -b/--http/-t at start: the template, the broker (connects once),
 * the collector's URL.  A broker that refuses is an error here. */
int daemon_check_exports(struct daemon *d, struct sf_error **err);

/* Closing streams (daemon_close.c). */
void daemon_reg_free(struct daemon_reg *r);
/* Untracks wl and starts draining it; waits up to wait_ns for its sinks. */
void daemon_close(struct daemon *d, struct workload *wl, uint64_t wait_ns);
/* One step for every closing stream, without waiting. */
void daemon_close_poll(struct daemon *d);
/* Waits until the sinks of ended streams are closed (at exit). */
void daemon_close_wait(void);
/* A stream being closed: its id and cgroup are free for a new one. */
static inline bool daemon_closing(const struct workload *wl)
{
	return wl->closing;
}

/* What stream.start's meta says about exports that fell back. */
struct export_notes {
	char *m[SF_EXPORT_MAX];
	int n;
};
static inline void export_notes_free(struct export_notes *nt)
{
	for (int i = 0; i < nt->n; i++)
		free(nt->m[i]);
	nt->n = 0;
}

/* stream.start "meta" from a registration, with the export notes. */
char *daemon_meta(const struct sf_msg *req, const struct export_notes *nt);

/* Resumes the tagged containers found in the cgroup tree (restart). */
int daemon_recover(struct daemon *d, struct sf_error **err);

#endif
