// SPDX-License-Identifier: GPL-2.0
/*
 * Restart recovery: sfhook leaves the REGISTER message on each container's
 * cgroup (trusted.* xattrs, see lib/xattr_names.h).  A (re)starting agent walks
 * the cgroup v2 tree for them and resumes those streams, appending.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <string.h>
#include <sys/xattr.h>

#include "cgroup.h"
#include "daemon.h"
#include "xattr_names.h"

static struct daemon *walk_daemon;
static unsigned walk_resumed, walk_closed, walk_bad, walk_other;

/* Registered with this agent?  The hook records the socket it called; tags
 * without that record come from a hook that predates it and served the
 * default socket.  Another agent's containers are left alone: resuming them
 * would write a second stream, and closing them out remove their tags. */
static bool ours(const struct daemon *d, const char *dir)
{
	char sock[PATH_MAX];
	ssize_t n = getxattr(dir, SF_XATTR_AGENT, sock, sizeof(sock) - 1);

	if (n < 0)
		return !strcmp(d->o->socket_path, SF_SOCKET_DEFAULT);
	sock[n] = '\0';
	return !strcmp(sock, d->o->socket_path);
}

static bool cg_populated(const char *dir)
{
	cleanup_free char *path = xasprintf("%s/cgroup.events", dir);
	cleanup_free char *buf = NULL;

	if (read_file(path, &buf, NULL, 4096, NULL) < 0)
		return false;
	return strstr(buf, "populated 1") != NULL;
}

static void untag(const char *dir)
{
	removexattr(dir, SF_XATTR_CONTAINER);
	removexattr(dir, SF_XATTR_WORKLOAD);
	removexattr(dir, SF_XATTR_REG);
	removexattr(dir, SF_XATTR_AGENT);
}

static void recover_one(struct daemon *d, const char *dir, const char *buf,
			size_t len)
{
	cleanup_error struct sf_error *err = NULL;
	char id[OCI_ID_MAX + 1];
	struct sf_msg m;
	ssize_t n;
	uint64_t cgid;
	bool populated = cg_populated(dir);

	if (sf_msg_decode(buf, len, &m, &err) < 0 || m.op != SF_MSG_REGISTER) {
		log_warn("cgroup `%s`: unusable sfagent tag: %s", dir,
			 err ? err->msg : "not a registration");
		walk_bad++;
		if (m.op)
			sf_msg_free(&m);
		return;
	}
	n = getxattr(dir, SF_XATTR_CONTAINER, id, sizeof(id) - 1);
	if (n < 0 || (id[n] = 0, strcmp(id, m.container_id) != 0) ||
	    strcmp(dir + strlen(d->cg_mnt), m.cgroup_path) != 0 ||
	    cg2_id(dir, &cgid, NULL) < 0 || cgid != m.cgroup_id) {
		/* e.g. a cgroup re-created under the same name */
		log_warn(
			"cgroup `%s`: sfagent tags do not match the cgroup; ignored",
			dir);
		walk_bad++;
		sf_msg_free(&m);
		return;
	}
	if (daemon_register(d, &m, true, &err) < 0) {
		log_warn("cannot resume container `%s`: %s", m.container_id,
			 err->msg);
		walk_bad++;
	} else if (!populated) {
		/* It ended while the agent was down: close its stream out. */
		daemon_unregister(d, m.container_id);
		untag(dir);
		walk_closed++;
	} else {
		walk_resumed++;
	}
	sf_msg_free(&m);
}

static int visit(const char *path, const struct stat *st, int type,
		 struct FTW *ftw)
{
	cleanup_free char *buf = NULL;
	ssize_t n;

	if (type != FTW_D)
		return 0;
	n = getxattr(path, SF_XATTR_REG, NULL, 0);
	if (n <= 0)
		return 0;
	if (!ours(walk_daemon, path)) {
		walk_other++;
		return 0;
	}
	if (n > (ssize_t)SF_PROTO_MAX) {
		log_warn("cgroup `%s`: sfagent tag too large; ignored", path);
		return 0;
	}
	buf = xmalloc(n + 1);
	n = getxattr(path, SF_XATTR_REG, buf, n);
	if (n > 0)
		recover_one(walk_daemon, path, buf, n);
	return 0;
}

int daemon_recover(struct daemon *d, struct sf_error **err)
{
	walk_daemon = d;
	walk_resumed = walk_closed = walk_bad = walk_other = 0;
	if (nftw(d->cg_mnt, visit, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return sf_fail(err, errno, "walk the cgroup tree `%s`",
			       d->cg_mnt);
	if (walk_resumed || walk_closed || walk_bad || walk_other)
		log_info(
			"restart recovery: %u streams resumed, %u closed out, %u tags ignored, %u of other agents left alone",
			walk_resumed, walk_closed, walk_bad, walk_other);
	walk_daemon = NULL;
	return 0;
}
