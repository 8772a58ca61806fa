/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xattrs sfhook puts on a container's cgroup v2 directory.  trusted.*
 * needs CAP_SYS_ADMIN to write, so a container cannot forge them.  The agent
 * finds its running containers by them after a restart.
 */
#ifndef SF_XATTR_NAMES_H
#define SF_XATTR_NAMES_H

#define SF_XATTR_CONTAINER "trusted.sfagent.container" /* container id */
#define SF_XATTR_WORKLOAD  "trusted.sfagent.workload" /* workload name */
#define SF_XATTR_REG	   "trusted.sfagent.register" /* the REGISTER message */
/* the socket path of the agent it was registered with: an agent recovers
 * only its own (absent: the default socket's, tags from before this one) */
#define SF_XATTR_AGENT "trusted.sfagent.agent"

#endif
