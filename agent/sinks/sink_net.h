/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The network-sink base: what every network sink (MQTT, HTTP) shares,
 * written once.  A protocol part is a small ops table (connect, send,
 * close) and a struct that starts with a struct sink_net.
 *
 * The base owns the bounded queue (sinkq.h), the sender thread, the
 * connection state with backoff (0.1 s doubling to 5 s), the window of
 * messages in flight, resending after a broken connection, the bounded
 * drain at the end of a stream, giving up, and the loss accounting: records
 * the queue cannot take, records a destination rejects for good and records
 * still undelivered when the drain time is over are counted in
 * base.dropped, which the stream reports as stream.missed.
 *
 * With a spool (--spool-dir, --spool-max), records that cannot be delivered
 * go to disk: while the destination is up and keeps up (the queue has room,
 * nothing waits on disk, the oldest record not yet on disk is younger than
 * SINK_NET_SPILL_MS), a record goes to the queue only, and the disk is not
 * touched.  Once one of those stops holding (the destination goes away, is
 * slow, the queue fills, the stream ends, the sink gives up), the records
 * kept in memory only are written to the spool first ("spilled"), in order,
 * and the new ones after them; what the queue (-q records, what is in
 * flight) cannot hold then stays on disk only, and the sender reads it back
 * in order when there is room again.  A record leaves the spool once
 * acknowledged.  A full spool drops the newest records, counted as
 * spool_full.  An agent killed (SIGKILL) while connected may so lose the
 * records of the last SINK_NET_SPILL_MS not yet acknowledged; everything
 * spilled or written during an outage survives it.
 *
 * Locking: n->q.mu guards the state; n->spool_mu guards the spool and is
 * taken before q.mu, never after, so disk I/O never happens under q.mu
 * (acks and sends go on while a batch is written).  The ops are called by
 * the sender thread without q.mu.  The sink_net_up/down/acked/resend calls
 * take q.mu only, so a protocol's own threads (paho's callbacks) may call
 * them at any time; the sender moves the acked position to the spool.
 */
#ifndef SF_SINK_NET_H
#define SF_SINK_NET_H

#include "sink.h"
#include "sink_spool.h"
#include "sinkq.h"

#define SINK_NET_SPILL_MS 500
#define SINK_NET_KICK_MS  10

enum sink_net_state { SINK_NET_DOWN, SINK_NET_CONNECTING, SINK_NET_UP };

/* What a send did with one message. */
enum sink_net_sent {
	SINK_NET_PENDING, /* handed over: sink_net_acked() or _resend() later */
	SINK_NET_DONE, /* delivered */
	SINK_NET_REJECTED, /* will never be taken: its records are dropped */
	SINK_NET_RESEND, /* not taken this time: everything unacked again */
	SINK_NET_DOWN_NOW, /* the destination is away: back off, then again */
};

struct sink_net;
struct sink_net_fill;

/* One message to send, valid during the send call only. */
struct sink_net_msg {
	uint64_t id; /* for sink_net_acked() */
	uint32_t gen; /* the connection it goes out on */
	const char *buf; /* whole records, each ending in '\n' */
	size_t len;
	uint32_t nrec; /* ordinary records (not stream records) in it */
	/* Who wrote its first record: the sink's start (ns since the epoch,
	 * kept across an agent restart by the spool) and the record's number
	 * in it, from 1: a resend has the same pair (idempotent publishing). */
	uint64_t tag, rid;
	/* The pack its records were written with (sink_net_conf.pack): the
	 * sink's own, or an earlier run's for records it left in the spool;
	 * 0: not known (a spool of a version before it was kept). */
	uint32_t pack;
};

struct sink_net_ops {
	/* Optional.  Starts connecting; 0: under way or made, and the
	 * protocol calls sink_net_up() or sink_net_down() when it knows; < 0:
	 * failed at once (the base backs off).  NULL: nothing to connect
	 * (HTTP: every request is its own try). */
	int (*connect)(struct sink_net *n);
	/* One message.  On SINK_NET_DOWN_NOW, why (why_len bytes) may say
	 * why, for stderr. */
	enum sink_net_sent (*send)(struct sink_net *n,
				   const struct sink_net_msg *m, char *why,
				   size_t why_len);
	/* Frees the protocol's part (disconnect, client handle); the sender
	 * thread is stopped.  The base frees the struct itself. */
	void (*close)(struct sink_net *n);
	/* Optional.  Messages are in flight and for SINK_NET_KICK_MS nothing
	 * was acknowledged or sent: the protocol's own thread may sleep with
	 * work to do (MQTT: paho's send thread misses wake-ups), so wake it.
	 * Called by the sender thread without q.mu, at most once per
	 * SINK_NET_KICK_MS without progress. */
	void (*kick)(struct sink_net *n);
};

struct sink_net_conf {
	const char *kind; /* "mqtt": names the spool, with the description */
	const char *dest; /* topic, subject or URL: a later agent replays a
			   * spool left behind to it (sink_leftover.h) */
	uint64_t max_rec; /* records in memory, in flight (-q) */
	uint32_t batch; /* records per message */
	/* 0, or the protocol's batch window (records per protocol message:
	 * NATS --nats-batch): queue messages are cut at multiples of it that
	 * fit in batch (sinkq.h), and what is read back from the spool into
	 * the queue ends at one when the spool has the records (a window read
	 * back whole, as it was sent).  Kept with the records in the spool:
	 * records an earlier run left are cut by its pack, not this one's. */
	uint32_t pack;
	unsigned window; /* messages in flight */
	/* 0, or bytes in flight: a message is sent only when what is in
	 * flight and it fit, or nothing is in flight (MQTT: a write of paho's
	 * that the socket cuts waits up to 1 s to be continued) */
	uint64_t window_bytes;
	uint64_t interval_ns; /* a partial batch waits this long; 0: never */
	unsigned drain_timeout; /* seconds (--drain-timeout) */
	/* The spool (sink_spool.h): NULL dir or 0 bytes: memory only.
	 * spool_dir_given: an unusable directory fails the open (else it
	 * is told and the sink runs memory only). */
	const char *spool_dir;
	uint64_t spool_max, spool_total;
	bool spool_dir_given;
	/* NULL, or the spool to use when it is one of this destination's
	 * (KEY or KEY-N: a replay, sink_leftover.h) */
	const char *spool_key;
};

struct sink_net {
	struct sink base;
	const struct sink_net_ops *ops;
	struct sinkq q; /* q.mu guards all below */
	enum sink_net_state state;
	uint32_t gen; /* connection number: stale acks are told apart */
	unsigned inflight, window;
	uint64_t inflight_bytes, window_bytes; /* 0: no bound */
	uint64_t interval_ns, retry_at, backoff;
	unsigned drain_timeout;
	bool stop, dead, draining, failing, thread_running;
	pthread_t thread;
	pthread_mutex_t spool_mu; /* before q.mu: the spool, fill, marks */
	struct sink_spool *spool; /* NULL: memory only */
	uint64_t spool_unread; /* records on disk only (q.mu) */
	unsigned writing; /* writes between their two locks (q.mu) */
	uint64_t spool_acked; /* the done_mark given to the spool (q.mu) */
	bool spool_saved; /* and its position is on disk (q.mu) */
	/* a record at or before the saved position (q.mu): a later run
	 * replays nothing older (0, 0: not known yet) */
	uint64_t spool_saved_tag, spool_saved_rid;
	/* Records kept in memory only, not on disk yet (q.mu): the queue's
	 * records from message mo_id, byte mo_off (record mo_rid) on. */
	uint64_t mo_id, mo_off, mo_rid;
	bool mo;
	struct sbuf fill; /* records read back, to put into the queue */
	struct sink_net_fill *fillv;
	size_t fill_cap;
	uint64_t *marks; /* per record of a write: its spool mark or 0 */
	size_t marks_cap;
	char *spool_dir, *spool_kind, *spool_dest;
	uint64_t spool_max, spool_total;
	bool spool_dir_given;
	char *spool_want; /* sink_net_conf.spool_key */
	struct sbuf verdict; /* per record of a write: spooled or not */
	uint64_t progress_at; /* monotonic ns of the last ack, send or kick */
	uint64_t kicks; /* ops->kick calls (tests, -v at close) */
	uint64_t connects; /* connections made (status, metrics) */
	char last_error[160]; /* the last reason it went down */
};

struct sf_options;
/* The spool settings from the command line (--spool-dir, --spool-max,
 * $SFAGENT_SPOOL_DIR). */
void sink_net_conf_spool(struct sink_net_conf *c, const struct sf_options *o);
/* A password: the first line of file (option names it for messages), else
 * the environment variable env, else NULL.  Free it with
 * sink_net_free_secret(). */
int sink_net_read_secret(const char *file, const char *option, const char *env,
			 char **out, struct sf_error **err);
void sink_net_free_secret(char *secret);
/* Sets up the base; takes desc ("MQTT ... topic `x`", for messages). */
void sink_net_init(struct sink_net *n, const struct sink_net_ops *ops,
		   const struct sink_net_conf *c, char *desc);
/* Opens the spool (replaying what an earlier run left), then starts the
 * sender thread.  On failure the caller closes the sink. */
int sink_net_start(struct sink_net *n, struct sf_error **err);
/* Connects from the caller's thread (before sink_net_start, to check the
 * destination at open); returns what ops->connect returned. */
int sink_net_connect_now(struct sink_net *n);
/* Waits (up to timeout_ms) for that connection to be made or refused;
 * true when it is up. */
bool sink_net_wait_connected(struct sink_net *n, unsigned timeout_ms);
/* True once the sink is being stopped (a long request may give up). */
bool sink_net_stopping(struct sink_net *n);

/* The spool's KEY of a network sink, or NULL (memory only, not one). */
const char *sink_net_spool_key(struct sink *s);

/* From the protocol, any thread, lock not held. */
void sink_net_up(struct sink_net *n);
/* why: said once on stderr per outage (NULL: a retry failed, quiet). */
void sink_net_down(struct sink_net *n, const char *why);
void sink_net_acked(struct sink_net *n, uint64_t id, uint32_t gen);
/* A send on connection gen failed: send again from the first unacked. */
void sink_net_resend(struct sink_net *n, uint32_t gen);
/* Message id will never be taken: its ordinary records are dropped. */
void sink_net_rejected(struct sink_net *n, uint64_t id, uint32_t gen);

#endif
