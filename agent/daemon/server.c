// SPDX-License-Identifier: GPL-2.0
#include "server.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "agent.h"

static int mkdir_p(const char *dir, mode_t mode)
{
	cleanup_free char *p = xstrdup(dir);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = 0;
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Is someone answering on path?  Then it is not ours to remove. */
static bool socket_live(const struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	bool live;

	if (fd < 0)
		return false;
	live = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0;
	close(fd);
	return live;
}

int server_open(struct server *s, const char *path, server_handler h, void *ctx,
		struct sf_error **err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	cleanup_free char *dir = xstrdup(path);
	struct stat st;
	char *slash;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->epfd = -1;
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		s->clients[i].fd = -1;
	if (strlen(path) >= sizeof(sa.sun_path))
		return sf_usage(
			err, "socket path `%s` is too long (at most %zu bytes)",
			path, sizeof(sa.sun_path) - 1);
	if (path[0] != '/')
		return sf_usage(err, "socket path `%s` must be absolute", path);
	strcpy(sa.sun_path, path);
	slash = strrchr(dir, '/');
	if (slash != dir) {
		*slash = 0;
		/* Only the default's directory is made (0700).  Elsewhere a
		 * missing directory is likely a typo, and with fail-open hooks
		 * a typo would let every container start untracked. */
		if (!strcmp(path, SF_SOCKET_DEFAULT)) {
			if (mkdir_p(dir, 0700) < 0)
				return sf_fail(err, errno,
					       "create socket directory `%s`",
					       dir);
		} else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			return sf_fail(
				err, 0,
				"the directory of --socket `%s` does not exist: create it (mkdir -m 0700 %s) or correct the path",
				path, dir);
		}
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return sf_usage(
				err,
				"`%s` exists and is not a socket: remove it or choose another --socket",
				path);
		if (socket_live(&sa))
			return sf_fail(
				err, 0,
				"another agent is already listening on `%s`: stop it first, or give this one another --socket PATH",
				path);
		unlink(path);
	}
	s->listen_fd = socket(AF_UNIX,
			      SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->listen_fd < 0)
		return sf_fail(err, errno, "socket");
	/* umask covers the window between bind and chmod */
	mode_t old = umask(0177);
	int r = bind(s->listen_fd, (struct sockaddr *)&sa, sizeof(sa));

	umask(old);
	if (r < 0) {
		sf_fail(err, errno, "bind `%s`", path);
		server_close(s);
		return -1;
	}
	s->path = xstrdup(path);
	if (chmod(path, 0600) < 0 || listen(s->listen_fd, 128) < 0) {
		sf_fail(err, errno, "listen on `%s`", path);
		server_close(s);
		return -1;
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd,
		      &(struct epoll_event){.events = EPOLLIN,
					    .data.ptr = NULL}) < 0) {
		sf_fail(err, errno, "epoll");
		server_close(s);
		return -1;
	}
	s->handle = h;
	s->ctx = ctx;
	return 0;
}

static void client_drop(struct server *s, struct server_client *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	s->nclients--;
}

static void reply_error(int fd, const char *msg)
{
	struct sf_msg r = {.op = SF_MSG_ERROR, .error = (char *)msg};

	sf_msg_send(fd, &r, NULL);
}

/* "busy": the hook tries again within its own timeout */
static void reply_busy(int fd, const char *msg)
{
	struct sf_msg r = {
		.op = SF_MSG_ERROR, .error = (char *)msg, .busy = true};

	sf_msg_send(fd, &r, NULL);
}

/* A full table: the oldest client that has said nothing for a while makes
 * room (a hook sends its request right after connecting). */
static struct server_client *evict_idle(struct server *s)
{
	struct server_client *old = NULL;
	uint64_t now = sf_monotonic_ns();

	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0 &&
		    (!old || s->clients[i].deadline < old->deadline))
			old = &s->clients[i];
	if (!old ||
	    old->deadline - SERVER_CLIENT_TIMEOUT_NS + SERVER_IDLE_EVICT_NS >
		    now)
		return NULL;
	log_warn("dropped an idle client (pid %d) to make room for a new one",
		 (int)old->pid);
	client_drop(s, old);
	return old;
}

static int clients_of(const struct server *s, pid_t pid)
{
	int n = 0;

	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		n += s->clients[i].fd >= 0 && s->clients[i].pid == pid;
	return n;
}

static void accept_clients(struct server *s)
{
	for (;;) {
		struct ucred cred;
		socklen_t len = sizeof(cred);
		struct server_client *c = NULL;
		int fd = accept4(s->listen_fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn("accept on `%s`: %s", s->path,
					 strerror(errno));
			return;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			cred.uid = (uid_t)-1;
			cred.pid = 0;
		}
		/* one process holding connections open cannot starve the
		 * hooks of every other container */
		if (clients_of(s, cred.pid) >= SERVER_MAX_PER_PEER) {
			s->busy++;
			reply_busy(
				fd,
				"agent busy: too many connections from one process");
			close(fd);
			continue;
		}
		for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
			if (s->clients[i].fd < 0) {
				c = &s->clients[i];
				break;
			}
		}
		if (!c)
			c = evict_idle(s);
		if (!c) {
			s->busy++;
			reply_busy(fd, "agent busy: too many clients at once");
			close(fd);
			continue;
		}
		c->fd = fd;
		c->uid = cred.uid;
		c->pid = cred.pid;
		c->deadline = sf_monotonic_ns() + SERVER_CLIENT_TIMEOUT_NS;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd,
			      &(struct epoll_event){.events = EPOLLIN,
						    .data.ptr = c}) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		s->nclients++;
	}
}

/* A non-root peer's bytes are never parsed: its packet is taken off the
 * socket unread, so the peer gets the reply rather than a reset. */
static bool refuse_non_root(struct server *s, struct server_client *c)
{
	char b;
	ssize_t n;

	if (c->uid == 0)
		return false;
	n = recv(c->fd, &b, 1, MSG_TRUNC | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return true; /* nothing yet: wait for it */
	s->rejected++;
	log_warn(
		"refused a client with uid %d: only root may register containers",
		(int)c->uid);
	reply_error(c->fd,
		    "permission denied: only root may talk to the agent");
	client_drop(s, c);
	return true;
}

static void serve(struct server *s, struct server_client *c)
{
	cleanup_error struct sf_error *err = NULL;
	struct sf_msg req, reply = {0};
	int r;

	if (refuse_non_root(s, c))
		return;
	r = sf_msg_recv(c->fd, &req, &err);
	if (r == -2)
		return;
	if (r < 0) {
		/* a peer that hung up needs no answer */
		if (err->status == SF_EXIT_USAGE) {
			s->rejected++;
			log_warn("malformed request: %s", err->msg);
			cleanup_free char *m =
				xasprintf("malformed request: %s", err->msg);

			reply_error(c->fd, m);
		}
		client_drop(s, c);
		return;
	}
	if (req.op != SF_MSG_REGISTER && req.op != SF_MSG_UNREGISTER) {
		reply_error(c->fd,
			    "unexpected request: send register or unregister");
	} else {
		s->handle(s->ctx, &req, &reply);
		if (sf_msg_send(c->fd, &reply, &err) < 0 &&
		    req.op == SF_MSG_REGISTER) {
			log_warn(
				"reply to register `%s`: %s: its hook gave up waiting (sfhook --timeout); if fail-open, the container started before it was tracked",
				req.container_id, err->msg);
			if (reply.op == SF_MSG_ACK && s->late)
				s->late(s->ctx, &req);
		} else if (err)
			log_warn("reply to %s `%s`: %s", sf_msg_op_name(req.op),
				 req.container_id, err->msg);
	}
	sf_msg_free(&reply);
	sf_msg_free(&req);
	client_drop(s, c);
}

void server_process(struct server *s)
{
	struct epoll_event ev[32];
	uint64_t now;
	int n;

	if (s->epfd < 0)
		return;
	n = epoll_wait(s->epfd, ev, 32, 0);
	for (int i = 0; i < n; i++) {
		if (!ev[i].data.ptr)
			accept_clients(s);
		else if (((struct server_client *)ev[i].data.ptr)->fd >= 0)
			serve(s, ev[i].data.ptr);
	}
	if (!s->nclients)
		return;
	now = sf_monotonic_ns();
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++) {
		if (s->clients[i].fd >= 0 && now > s->clients[i].deadline) {
			log_warn(
				"dropped a client that sent no request within %llu s",
				SERVER_CLIENT_TIMEOUT_NS / 1000000000ull);
			client_drop(s, &s->clients[i]);
		}
	}
}

void server_close(struct server *s)
{
	for (int i = 0; i < SERVER_MAX_CLIENTS; i++)
		if (s->clients[i].fd >= 0)
			client_drop(s, &s->clients[i]);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->path)
		unlink(s->path);
	free(s->path);
	s->path = NULL;
	s->listen_fd = s->epfd = -1;
}
