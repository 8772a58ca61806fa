// SPDX-License-Identifier: GPL-2.0
#include "proto.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "json.h"
#include "oci.h"

static const char *const op_names[] = {
	[SF_MSG_NONE] = "none",
	[SF_MSG_REGISTER] = "register",
	[SF_MSG_UNREGISTER] = "unregister",
	[SF_MSG_ACK] = "ack",
	[SF_MSG_ERROR] = "error",
};

const char *sf_msg_op_name(enum sf_msg_op op)
{
	return op < sizeof(op_names) / sizeof(op_names[0]) ? op_names[op] : "?";
}

static yajl_gen_status gen_kv_str(yajl_gen g, const char *k, const char *v)
{
	if (!v)
		return yajl_gen_status_ok;
	return json_gen_str(g, k) | json_gen_str(g, v);
}

char *sf_msg_encode(const struct sf_msg *m, size_t *len, struct sf_error **err)
{
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	yajl_gen_status st;
	char *out;

	st = yajl_gen_map_open(g);
	st |= json_gen_str(g, "v");
	st |= yajl_gen_integer(g, SF_PROTO_VERSION);
	st |= gen_kv_str(g, "op", sf_msg_op_name(m->op));
	st |= gen_kv_str(g, "container_id", m->container_id);
	if (m->pid) {
		st |= json_gen_str(g, "pid");
		st |= yajl_gen_integer(g, m->pid);
	}
	if (m->cgroup_id) {
		st |= json_gen_str(g, "cgroup_id");
		st |= yajl_gen_integer(g, (long long)m->cgroup_id);
	}
	st |= gen_kv_str(g, "cgroup_path", m->cgroup_path);
	st |= gen_kv_str(g, "bundle", m->bundle);
	st |= gen_kv_str(g, "workload", m->workload);
	st |= gen_kv_str(g, "export", m->export_spec);
	st |= gen_kv_str(g, "format", m->format);
	if (m->meta_json) {
		cleanup_yajl_val yajl_val meta =
			json_parse(m->meta_json, "metadata", err);

		if (!meta)
			return NULL;
		st |= json_gen_str(g, "meta");
		st |= json_gen_tree(g, meta);
	}
	st |= gen_kv_str(g, "error", m->error);
	if (m->busy) {
		st |= json_gen_str(g, "busy");
		st |= yajl_gen_bool(g, 1);
	}
	st |= yajl_gen_map_close(g);
	if (st != yajl_gen_status_ok) {
		sf_usage(err, "%s message: cannot write it as JSON (%s)",
			 sf_msg_op_name(m->op), json_gen_status_str(st));
		return NULL;
	}
	out = json_gen_take(g, len);
	if (*len > SF_PROTO_MAX) {
		free(out);
		sf_usage(err,
			 "%s message is %zu bytes, more than the protocol's %u",
			 sf_msg_op_name(m->op), *len, SF_PROTO_MAX);
		return NULL;
	}
	return out;
}

/* An optional string field: absent is fine, another type or too long is not. */
static int get_str(yajl_val root, const char *key, size_t max, char **out,
		   struct sf_error **err)
{
	yajl_val v = json_get(root, key);

	if (!v)
		return 0;
	if (!YAJL_IS_STRING(v))
		return sf_usage(err, "field \"%s\" is not a string", key);
	if (strlen(v->u.string) > max)
		return sf_usage(err, "field \"%s\" is longer than %zu bytes",
				key, max);
	*out = xstrdup(v->u.string);
	return 0;
}

static bool path_clean(const char *p)
{
	/* absolute, no "." or ".." component, no "//" */
	if (p[0] != '/')
		return false;
	for (const char *c = p; *c; c++) {
		if (c[0] == '/' &&
		    (c[1] == '/' ||
		     (c[1] == '.' && (c[2] == 0 || c[2] == '/')) ||
		     (c[1] == '.' && c[2] == '.' && (c[3] == 0 || c[3] == '/'))))
			return false;
	}
	return true;
}

static int check_register(struct sf_msg *m, struct sf_error **err)
{
	if (!m->pid)
		return sf_usage(err, "register: no \"pid\"");
	if (!m->cgroup_id)
		return sf_usage(err, "register: no \"cgroup_id\"");
	if (!m->cgroup_path || !path_clean(m->cgroup_path) ||
	    strcmp(m->cgroup_path, "/") == 0)
		return sf_usage(
			err,
			"register: \"cgroup_path\" must be a clean absolute path below the cgroup2 root");
	if (!m->bundle || !path_clean(m->bundle))
		return sf_usage(
			err, "register: \"bundle\" must be an absolute path");
	if (!m->workload || !sf_name_printable(m->workload, SF_WORKLOAD_MAX))
		return sf_usage(
			err,
			"register: \"workload\" must be 1-%d printable characters",
			SF_WORKLOAD_MAX);
	if (!m->export_spec)
		m->export_spec = xstrdup("file");
	if (sf_format_check(m->format, err) < 0)
		return -1;
	return 0;
}

int sf_msg_decode(const char *buf, size_t len, struct sf_msg *m,
		  struct sf_error **err)
{
	cleanup_yajl_val yajl_val root = NULL;
	cleanup_free char *copy = NULL;
	const char *op;
	yajl_val v;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (len > SF_PROTO_MAX)
		return sf_usage(err, "message larger than %u bytes",
				SF_PROTO_MAX);
	if (memchr(buf, 0, len))
		return sf_usage(err, "message contains a NUL byte");
	copy = xstrndup(buf, len);
	root = json_parse(copy, "message", err);
	if (!root)
		return -1;
	if (!YAJL_IS_OBJECT(root))
		return sf_usage(err, "message is not a JSON object");
	v = json_get(root, "v");
	if (!v || !YAJL_IS_INTEGER(v))
		return sf_usage(err, "message has no protocol version \"v\"");
	if (YAJL_GET_INTEGER(v) != SF_PROTO_VERSION)
		return sf_usage(
			err,
			"protocol version %lld is not supported (this side speaks %d): install matching sfagent and sfhook",
			YAJL_GET_INTEGER(v), SF_PROTO_VERSION);
	op = json_get_str(root, "op");
	for (i = 1; op && i < sizeof(op_names) / sizeof(op_names[0]); i++)
		if (strcmp(op, op_names[i]) == 0)
			m->op = i;
	if (m->op == SF_MSG_NONE)
		return sf_usage(err, "message has an unknown or no \"op\"");
	if (get_str(root, "container_id", OCI_ID_MAX, &m->container_id, err) <
		    0 ||
	    get_str(root, "cgroup_path", PATH_MAX, &m->cgroup_path, err) < 0 ||
	    get_str(root, "bundle", PATH_MAX, &m->bundle, err) < 0 ||
	    get_str(root, "workload", SF_WORKLOAD_MAX, &m->workload, err) < 0 ||
	    get_str(root, "export", 4096, &m->export_spec, err) < 0 ||
	    get_str(root, "format", 64, &m->format, err) < 0 ||
	    get_str(root, "error", 4096, &m->error, err) < 0)
		goto bad;
	v = json_get(root, "pid");
	if (v) {
		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) <= 0 ||
		    YAJL_GET_INTEGER(v) > INT_MAX) {
			sf_usage(err,
				 "field \"pid\" is not a positive integer");
			goto bad;
		}
		m->pid = YAJL_GET_INTEGER(v);
	}
	v = json_get(root, "cgroup_id");
	if (v) {
		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) <= 0) {
			sf_usage(
				err,
				"field \"cgroup_id\" is not a positive integer");
			goto bad;
		}
		m->cgroup_id = YAJL_GET_INTEGER(v);
	}
	v = json_get(root, "busy");
	m->busy = v && YAJL_IS_TRUE(v);
	v = json_get(root, "meta");
	if (v) {
		cleanup_yajl_gen yajl_gen g = json_gen_new();

		if (!YAJL_IS_OBJECT(v)) {
			sf_usage(err, "field \"meta\" is not an object");
			goto bad;
		}
		if (json_gen_tree(g, v) != yajl_gen_status_ok) {
			sf_usage(err, "field \"meta\" cannot be written back");
			goto bad;
		}
		m->meta_json = json_gen_take(g, NULL);
	}
	if ((m->op == SF_MSG_REGISTER || m->op == SF_MSG_UNREGISTER) &&
	    (!m->container_id ||
	     !sf_name_printable(m->container_id, OCI_ID_MAX) ||
	     strchr(m->container_id, '/'))) {
		sf_usage(err, "%s: \"container_id\" missing or invalid",
			 sf_msg_op_name(m->op));
		goto bad;
	}
	if (m->op == SF_MSG_REGISTER && check_register(m, err) < 0)
		goto bad;
	return 0;
bad:
	sf_msg_free(m);
	return -1;
}

void sf_msg_free(struct sf_msg *m)
{
	free(m->container_id);
	free(m->cgroup_path);
	free(m->bundle);
	free(m->workload);
	free(m->export_spec);
	free(m->format);
	free(m->meta_json);
	free(m->error);
	memset(m, 0, sizeof(*m));
}

int sf_msg_send(int fd, const struct sf_msg *m, struct sf_error **err)
{
	cleanup_free char *buf = NULL;
	size_t len;
	ssize_t n;

	buf = sf_msg_encode(m, &len, err);
	if (!buf)
		return -1;
	do
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return sf_fail(err, errno, "send %s message",
			       sf_msg_op_name(m->op));
	return 0;
}

int sf_msg_recv(int fd, struct sf_msg *m, struct sf_error **err)
{
	cleanup_free char *buf = xmalloc(SF_PROTO_MAX + 1);
	ssize_t n;

	memset(m, 0, sizeof(*m));
	do
		n = recv(fd, buf, SF_PROTO_MAX + 1, MSG_TRUNC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return -2;
	if (n < 0)
		return sf_fail(err, errno, "receive");
	if (n == 0)
		return sf_fail(err, 0, "connection closed by the peer");
	if ((size_t)n > SF_PROTO_MAX)
		return sf_usage(err, "message of %zd bytes is larger than %u",
				n, SF_PROTO_MAX);
	return sf_msg_decode(buf, n, m, err);
}

static int64_t ms_left(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short events, const struct timespec *deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left;
	int r;

	for (;;) {
		left = ms_left(deadline);
		if (left <= 0)
			return 0;
		r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? -1 : r;
	}
}

static int call_once(const char *path, const struct sf_msg *req, int timeout_ms,
		     const struct timespec *deadline, struct sf_msg *reply,
		     struct sf_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_close int fd = -1;
	int r;

	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return sf_fail(err, errno, "socket");
	/* EAGAIN: the agent's backlog is full; try again until the deadline */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return sf_fail(err, errno,
				       "cannot reach the agent at `%s`%s", path,
				       errno == ENOENT || errno == ECONNREFUSED
					       ? " (is `sfagent -D` running?)"
					       : "");
		if (ms_left(deadline) <= 0)
			return sf_fail(
				err, 0,
				"the agent at `%s` did not accept the connection within %d ms",
				path, timeout_ms);
		poll(NULL, 0, 5);
	}
	if (sf_msg_send(fd, req, err) < 0)
		return -1;
	for (;;) {
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return sf_fail(err, errno,
				       "wait for the agent's reply");
		if (r == 0)
			return sf_fail(
				err, 0,
				"the agent at `%s` did not answer within %d ms",
				path, timeout_ms);
		r = sf_msg_recv(fd, reply, err);
		if (r == -2)
			continue;
		if (r < 0)
			return sf_error_wrap(err, "reply from the agent");
		if (reply->op != SF_MSG_ACK && reply->op != SF_MSG_ERROR) {
			sf_msg_free(reply);
			return sf_fail(err, 0,
				       "the agent sent an unexpected reply");
		}
		return 0;
	}
}

int sf_proto_call(const char *path, const struct sf_msg *req, int timeout_ms,
		  struct sf_msg *reply, struct sf_error **err)
{
	struct sockaddr_un sa;
	struct timespec deadline;
	int wait_ms = 5;

	memset(reply, 0, sizeof(*reply));
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return sf_usage(err, "socket path `%s` is too long", path);
	for (;;) {
		if (call_once(path, req, timeout_ms, &deadline, reply, err) < 0)
			return -1;
		if (reply->op != SF_MSG_ERROR || !reply->busy ||
		    ms_left(&deadline) <= wait_ms)
			return 0;
		/* the agent had no room: again, a little later each time */
		sf_msg_free(reply);
		poll(NULL, 0, wait_ms);
		if (wait_ms < 100)
			wait_ms *= 2;
	}
}
