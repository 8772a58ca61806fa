/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live subscribers (sfagent watch) and status (sfagent status), on their own
 * unix socket (--watch-socket, default /run/sfagent/watch.sock, 0666: who may
 * see what is the access file's business, access.h), separate from the
 * hook's root-only socket.
 *
 * A client sends one JSON line, {"op":"watch","names":[...]} or
 * {"op":"status"}, and gets one JSON line back ({"type":"watch.ok",...},
 * {"type":"watch.error","error":"..."} or the status object); a watcher then
 * gets the records of the streams it may see as they are written.  Each
 * watcher has a bounded queue: a watcher that falls behind loses records,
 * never slows the agent or the other outputs, and is told how many with a
 * stream.missed record (reason "subscriber") per stream once it catches up.
 */
#ifndef SF_WATCH_H
#define SF_WATCH_H

#include <stdint.h>

#include "util.h"
#include "workload.h"

#define WATCH_SOCKET_DEFAULT "/run/sfagent/watch.sock"
#define WATCH_ACCESS_DEFAULT "/etc/sfagent/access"
#define WATCH_MAX_CLIENTS    64
#define WATCH_QUEUE_BYTES    (4u << 20)

struct daemon;
struct watch_hub;

struct watch_hub *watch_hub_open(struct daemon *d, const char *path,
				 const char *access_path,
				 struct sf_error **err);
/* The fd to add to the agent's epoll set. */
int watch_hub_epoll_fd(const struct watch_hub *h);
/* Serves what is ready: new clients, requests, queued output. */
void watch_hub_process(struct watch_hub *h);
/* SIGHUP: reads the access file again; a broken one keeps the old rules. */
void watch_hub_reload(struct watch_hub *h);
/* The tap every daemon stream gets (wl->tap). */
struct wl_tap *watch_hub_tap(struct watch_hub *h);
unsigned watch_hub_watchers(const struct watch_hub *h);
uint64_t watch_hub_dropped(const struct watch_hub *h);
void watch_hub_close(struct watch_hub *h);

#endif
