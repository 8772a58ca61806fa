/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who may watch which streams (EVM's evm.auth): the access file, default
 * /etc/sfagent/access (--access FILE).  One rule a line, '#' comments:
 *
 *   watch SELECTOR WHO     grant
 *   deny  SELECTOR WHO     refuse, whatever a grant says
 *
 * SELECTOR: a workload glob (`team-a-*`, `*`), or KEY=GLOB with KEY one of
 * workload, container, image, k8s.namespace.  WHO: user=NAME, group=NAME,
 * uid=N, gid=N or `all`.  A peer (SO_PEERCRED, its groups by SO_PEERGROUPS)
 * may watch a stream when no deny rule and some watch rule match; root may
 * watch every stream unless a deny rule matches it.  Without the file only
 * root may watch.  The file must be root's and not writable by others.
 */
#ifndef SF_ACCESS_H
#define SF_ACCESS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

struct access;

/* The keys a selector looks at, of one stream. */
struct access_stream {
	const char *workload, *container, *image, *k8s_namespace;
};

struct access_peer {
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
};

/* path absent (ENOENT): an empty rule set (root only), not an error. */
struct access *access_load(const char *path, struct sf_error **err);
void access_free(struct access *a);
bool access_allows(const struct access *a, const struct access_peer *p,
		   const struct access_stream *s);
unsigned access_rules(const struct access *a);
/* The peer of a connected unix socket. */
int access_peer_of(int fd, struct access_peer *p, struct sf_error **err);

#endif
