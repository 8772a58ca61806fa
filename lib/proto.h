/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The agent <-> hook wire protocol.
 *
 * A unix SOCK_SEQPACKET socket: one message per packet, so framing comes from
 * the kernel.  A message is one JSON object, at most SF_PROTO_MAX bytes, with
 * "v" (SF_PROTO_VERSION) and "op":
 *   hook -> agent  register    container_id pid cgroup_id cgroup_path bundle
 *                              workload export [format] meta{...}
 *                  unregister  container_id
 *   agent -> hook  ack | error (with "error": one line for the user, and
 *                  "busy": true when trying again soon may succeed)
 * The hook sends one request and waits for one reply.  A malformed request
 * gets an error reply and closes only that connection.
 */
#ifndef SF_PROTO_H
#define SF_PROTO_H

#include <stdint.h>
#include <sys/types.h>

#include "util.h"

#define SF_PROTO_VERSION  1
#define SF_PROTO_MAX	  (48u << 10) /* fits in one xattr value, too */
#define SF_SOCKET_DEFAULT "/run/sfagent/sfagent.sock"

enum sf_msg_op {
	SF_MSG_NONE,
	SF_MSG_REGISTER,
	SF_MSG_UNREGISTER,
	SF_MSG_ACK,
	SF_MSG_ERROR,
};

struct sf_msg {
	enum sf_msg_op op;
	char *container_id;
	pid_t pid;
	uint64_t cgroup_id;
	char *cgroup_path; /* relative to the cgroup2 mount: "/a/b" */
	char *bundle;
	char *workload;
	char *export_spec; /* io.sfagent.export as given ("file" when absent) */
	char *format; /* io.sfagent.format, NULL: the agent's -F */
	char *meta_json; /* a JSON object: hostname, args, cwd, root, annotations */
	char *error; /* SF_MSG_ERROR */
	bool busy; /* SF_MSG_ERROR: the agent had no room; try again */
};

const char *sf_msg_op_name(enum sf_msg_op op);
/* The message as JSON text; NULL with *err if it exceeds SF_PROTO_MAX. */
char *sf_msg_encode(const struct sf_msg *m, size_t *len, struct sf_error **err);
/* Checks version, op and the fields op needs (sizes, types, paths). */
int sf_msg_decode(const char *buf, size_t len, struct sf_msg *m,
		  struct sf_error **err);
void sf_msg_free(struct sf_msg *m);

int sf_msg_send(int fd, const struct sf_msg *m, struct sf_error **err);
/* One packet from fd (which may be nonblocking: -EAGAIN comes back as -2). */
int sf_msg_recv(int fd, struct sf_msg *m, struct sf_error **err);

/*
 * The hook's side: connect to path, send req, wait for the reply, all within
 * timeout_ms; a "busy" answer is retried until then.  Returns 0 with *reply
 * filled (ack or error), -1 with *err.
 */
int sf_proto_call(const char *path, const struct sf_msg *req, int timeout_ms,
		  struct sf_msg *reply, struct sf_error **err);

#endif
