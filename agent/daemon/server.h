/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The daemon's unix socket: accepts hooks (root peers only), reads one request
 * per connection, hands it to a handler, sends the reply and closes.  A full
 * client table, or a process holding SERVER_MAX_PER_PEER connections already,
 * gets an error reply with "busy", which sfhook retries within its timeout.  All
 * nonblocking, driven by its own epoll fd, which the caller adds to the
 * agent's epoll set so agent_wait() wakes up for clients too.
 */
#ifndef SF_SERVER_H
#define SF_SERVER_H

#include <stdint.h>
#include <sys/types.h>

#include "proto.h"

#define SERVER_MAX_CLIENTS	 256
#define SERVER_MAX_PER_PEER	 8 /* connections one process may hold */
#define SERVER_CLIENT_TIMEOUT_NS (5 * 1000000000ull)
/* a full table drops a client idle this long to make room */
#define SERVER_IDLE_EVICT_NS (200 * 1000000ull)

struct server_client {
	int fd;
	uid_t uid; /* SO_PEERCRED: only root is served */
	pid_t pid; /* SO_PEERCRED: bounded connections per process */
	uint64_t deadline; /* monotonic ns: idle clients are dropped */
};

/* Fills reply (ack or error) for req. */
typedef void (*server_handler)(void *ctx, const struct sf_msg *req,
			       struct sf_msg *reply);

struct server {
	int listen_fd;
	int epfd;
	char *path;
	struct server_client clients[SERVER_MAX_CLIENTS];
	int nclients;
	server_handler handle;
	void *ctx;
	/* optional: a REGISTER the handler ACKed whose hook no longer read the
	 * reply (its --timeout ran out first) */
	void (*late)(void *ctx, const struct sf_msg *req);
	uint64_t rejected; /* non-root peers, malformed requests */
	uint64_t busy; /* connections answered "busy" (the hook retries) */
};

/* Creates the socket's directory (0700), refuses to take over a live agent's
 * socket, removes a stale one, binds (0600) and listens. */
int server_open(struct server *s, const char *path, server_handler h, void *ctx,
		struct sf_error **err);
/* Serves whatever is ready now, drops idle clients; never blocks. */
void server_process(struct server *s);
void server_close(struct server *s);

#endif
