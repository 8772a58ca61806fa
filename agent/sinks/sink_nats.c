// SPDX-License-Identifier: GPL-2.0
/*
 * NATS JetStream sink (cnats): the protocol part of a network sink
 * (sink_net.h has the queue, the spool, the thread, backoff and drain).
 *
 * Records are published asynchronously, up to --nats-batch (N) of them per
 * NATS message, newline-separated (1 by default: one JSON object per
 * message).  The base hands over BATCH records at a time (one queue
 * message), and up to WINDOW queue messages are outstanding; a queue
 * message is acknowledged to the base once JetStream acknowledged each of
 * its records, and only then leaves the queue and the spool.
 *
 * Exactly once into the stream: a NATS message's Nats-Msg-Id is
 * EXPORTER.TAG.FIRST-LAST (EXPORTER.TAG.RID for one record): the exporter
 * id, the stream's tag (the time its sink started, ns, kept across an
 * agent restart by the spool) and its records' numbers; what is sent again
 * after a reconnect, a server failover or an agent restart is stored once
 * within the stream's duplicate window, provided it is cut into the same
 * messages.  So cuts are deterministic: the numbers are split into aligned
 * windows of N (window k: kN .. kN+N-1), and a message ends at its
 * window's end or at a recorded cut point.  A message that would end
 * elsewhere (a partial window: nothing more queued now; before a stream
 * record, which goes alone) records its end as a cut point first, in the
 * spool (KEY.cuts, sink_spool.h) before it is published, so that a later
 * run cuts its records the same way.  At full rate windows are full (the
 * queue cuts its messages at window ends: sink_net_conf.pack) and nothing
 * is written.  Records of an earlier run (replayed from the spool) keep
 * the N of the run that wrote them (the spool keeps it in each segment's
 * header: sink_net_conf.pack), whatever this run's --nats-batch is, and
 * are not cut anew at a partial window: where some of a window's records
 * are gone (acked, or lost with the run) the message keeps the id of the
 * whole piece between its cut points, so that what the earlier run stored
 * is not stored again.  A stream record goes alone in them too: that run
 * cut around it if it sent it; if not, the cuts are recorded now.
 *
 * The Nats-Msg-Id is also how an acknowledgement finds its queue message
 * (no header of our own: a header costs a hash map in cnats per message and
 * bytes in the stream).  cnats reconnects by itself (to any server of
 * --nats); its callbacks tell the base, which then sends again all that
 * was not acknowledged.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "lazy_nats.h"
#include "options.h"
#include "sink_net.h"

#define BATCH	     64 /* records per queue message */
#define WINDOW	     32 /* queue messages outstanding */
#define SLOTS	     (WINDOW * 4) /* acks still counted, by queue id */
#define ACK_WAIT_MS  5000
#define CONNECT_MS   2000
#define NATS_SERVERS 16

struct sink_nats {
	struct sink_net net; /* net.q.mu guards nc, js, closing, told */
	natsOptions *opts;
	natsConnection *nc;
	jsCtx *js;
	char *subject, *stream, *stream_subject, *exporter, *password;
	char *msg_id; /* the Nats-Msg-Id being made (sender thread) */
	size_t msg_id_size;
	bool create_stream, closing;
	bool background; /* connected by the sender thread only (-D) */
	bool tls_no_cert; /* TLS without --nats-cert: the hint below */
	bool closed; /* cnats's closed callback ran (atomic) */
	int replicas;
	unsigned batch; /* --nats-batch: records per NATS message */
	/* cut points, in (tag, rid) order (the sender thread): read from the
	 * spool at the first send, dropped once the queue is past them */
	struct sink_spool_cut *cuts;
	size_t ncuts, cuts_cap;
	size_t prune_at; /* ncuts at which to look for cut points to drop */
	uint64_t cuts_added; /* recorded by this run (-d: told at the end) */
	bool cuts_loaded;
	char last_err[256]; /* the last connect failure, for the open */
	/* per queue message sent: the records whose ack is awaited, found
	 * by the record's number (tag, rid) in its Nats-Msg-Id */
	pthread_mutex_t slot_mu;
	struct nats_slot {
		uint64_t id, tag, rid; /* queue message, its first record */
		uint64_t left; /* bit i: record rid + i not acked yet */
		uint32_t gen, nrec;
	} slots[SLOTS];
	unsigned hint; /* the slot the last ack was for */
};

/* Records lo..hi of tag are stored (those of them in one queue message: a
 * NATS message never spans two); true once all of its queue message are,
 * with that message's id and connection.  A bit per record, not a count:
 * an ack from an earlier connection for records sent again clears the same
 * bits (they are stored), never another record's. */
static bool slot_done(struct sink_nats *s, uint64_t tag, uint64_t lo,
		      uint64_t hi, uint64_t *id, uint32_t *gen)
{
	bool done = false;

	pthread_mutex_lock(&s->slot_mu);
	for (unsigned k = 0; k < SLOTS; k++) {
		unsigned i = (s->hint + k) % SLOTS;
		struct nats_slot *sl = &s->slots[i];
		uint64_t a, b, bits;

		if (!sl->left || sl->tag != tag || hi < sl->rid ||
		    lo >= sl->rid + sl->nrec)
			continue;
		s->hint = i;
		a = (lo > sl->rid ? lo : sl->rid) - sl->rid;
		b = (hi < sl->rid + sl->nrec - 1 ? hi
						 : sl->rid + sl->nrec - 1) -
		    sl->rid;
		bits = (b - a == 63 ? ~0ull : (1ull << (b - a + 1)) - 1) << a;
		if (!(sl->left & bits))
			break;
		sl->left &= ~bits;
		done = !sl->left;
		*id = sl->id;
		*gen = sl->gen;
		break;
	}
	pthread_mutex_unlock(&s->slot_mu);
	return done;
}

static void on_disconnected(natsConnection *nc, void *ctx)
{
	struct sink_nats *s = ctx;
	bool closing;

	pthread_mutex_lock(&s->net.q.mu);
	closing = s->closing;
	pthread_mutex_unlock(&s->net.q.mu);
	if (!closing)
		sink_net_down(&s->net, "disconnected from the NATS servers");
}

static void on_reconnected(natsConnection *nc, void *ctx)
{
	struct sink_nats *s = ctx;

	sink_net_up(&s->net);
}

/* cnats's last callback of a connection: the ones before it (disconnected)
 * have run, on cnats's thread, so the sink may be freed once it did. */
static void on_closed(natsConnection *nc, void *ctx)
{
	struct sink_nats *s = ctx;

	__atomic_store_n(&s->closed, true, __ATOMIC_RELEASE);
}

/* Closes nc, and waits (bounded) for its callbacks to be over. */
static void close_connection(struct sink_nats *s, natsConnection *nc)
{
	natsConnection_Close(nc);
	for (int i = 0;
	     i < 400 && !__atomic_load_n(&s->closed, __ATOMIC_ACQUIRE); i++)
		usleep(5000);
	natsConnection_Destroy(nc);
}

static uint64_t parse_u64(const char *p, const char *end, bool *ok)
{
	uint64_t v = 0;

	*ok = p < end;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9') {
			*ok = false;
			return 0;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

/* The tag and the records' numbers from a Nats-Msg-Id "EXPORTER.TAG.RID"
 * or "EXPORTER.TAG.FIRST-LAST" (the exporter id may hold dots: from the
 * end). */
static bool records_of(natsMsg *msg, uint64_t *tag, uint64_t *lo, uint64_t *hi)
{
	const char *v = NULL, *end, *dot, *dot2, *dash;
	bool ok1, ok2, ok3 = true;

	if (natsMsgHeader_Get(msg, "Nats-Msg-Id", &v) != NATS_OK || !v)
		return false;
	end = v + strlen(v);
	dot = strrchr(v, '.');
	if (!dot)
		return false;
	for (dot2 = dot - 1; dot2 >= v && *dot2 != '.'; dot2--)
		;
	if (dot2 < v)
		return false;
	dash = memchr(dot + 1, '-', end - dot - 1);
	*lo = parse_u64(dot + 1, dash ? dash : end, &ok1);
	*hi = dash ? parse_u64(dash + 1, end, &ok3) : *lo;
	*tag = parse_u64(dot2 + 1, dot, &ok2);
	return ok1 && ok2 && ok3 && *lo <= *hi;
}

/* A stream record (stream.start/missed/end): never counted as dropped, and
 * in a message of its own. */
static bool is_stream_record(const char *rec, size_t len)
{
	static const char key[] = "\"type\":\"stream.";

	return memmem(rec, len, key, sizeof(key) - 1);
}

/* The event records (not stream records) of a message's data. */
static uint64_t event_records(const char *p, size_t len)
{
	const char *end = p + len, *nl;
	uint64_t n = 0;

	for (; p < end; p = nl) {
		nl = memchr(p, '\n', end - p);
		nl = nl ? nl + 1 : end;
		n += !is_stream_record(p, nl - p);
	}
	return n;
}

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae,
		   void *ctx)
{
	struct sink_nats *s = ctx;
	uint64_t tag, lo, hi, id = 0;
	uint32_t gen = 0;

	if (!records_of(msg, &tag, &lo, &hi))
		goto out;
	if (pa) {
		if (slot_done(s, tag, lo, hi, &id, &gen))
			sink_net_acked(&s->net, id, gen);
	} else if (pae && (pae->Err == NATS_NO_RESPONDERS ||
			   pae->ErrCode == JSStreamNotFoundErr)) {
		/* nothing stores the subject, or a stream's leader is being
		 * elected: keep the records, retry */
		sink_net_down(
			&s->net,
			"JetStream did not answer for the subject (no stream takes it: create one or give --nats-stream NAME --nats-create-stream; or its leader is being elected)");
	} else if (pae && pae->Err == NATS_TIMEOUT) {
		sink_net_resend(&s->net, gen);
	} else if (pae) {
		/* the server refused it (too large, stream full with discard
		 * new, ...): sending again would not help */
		log_error("%s: JetStream refused a message: %s (error %d)",
			  s->net.base.desc,
			  pae->ErrText ? pae->ErrText
				       : natsStatus_GetText(pae->Err),
			  (int)pae->ErrCode);
		/* its records only: the others of the queue message were
		 * stored */
		if (natsMsg_GetData(msg))
			sink_count_dropped(
				&s->net.base,
				event_records(
					natsMsg_GetData(msg),
					(size_t)natsMsg_GetDataLength(msg)));
		if (slot_done(s, tag, lo, hi, &id, &gen))
			sink_net_acked(&s->net, id, gen);
	}
out:
	natsMsg_Destroy(msg);
}

/* The cause of a failed cnats call: the server's words where it sent
 * some (a JetStream API error's description), else the status's name
 * (which for an API error is only "Error"). */
static const char *st_text(natsStatus st)
{
	const char *e = nats_GetLastError(NULL);

	return e ? e : natsStatus_GetText(st);
}

/* --nats-stream: there, or made with --nats-create-stream. */
static int ensure_stream(struct sink_nats *s, jsCtx *js)
{
	const char *subjects[] = {s->stream_subject};
	jsStreamInfo *si = NULL;
	jsStreamConfig c;
	jsErrCode jerr = 0;
	natsStatus st;

	st = js_GetStreamInfo(&si, js, s->stream, NULL, &jerr);
	if (st == NATS_OK) {
		jsStreamInfo_Destroy(si);
		return 0;
	}
	if (jerr == JSStreamNotFoundErr && !s->create_stream) {
		snprintf(
			s->last_err, sizeof(s->last_err),
			"JetStream stream `%s` does not exist (create it, or add --nats-create-stream)",
			s->stream);
		return -1;
	}
	if (jerr != JSStreamNotFoundErr) {
		snprintf(s->last_err, sizeof(s->last_err),
			 "JetStream stream `%s`: %s (error %d)", s->stream,
			 st_text(st), (int)jerr);
		return -1;
	}
	jsStreamConfig_Init(&c);
	c.Name = s->stream;
	c.Subjects = subjects;
	c.SubjectsLen = 1;
	c.Storage = js_FileStorage;
	c.Replicas = s->replicas;
	st = js_AddStream(&si, js, &c, NULL, &jerr);
	if (st != NATS_OK && jerr != JSStreamNameExistErr) {
		snprintf(
			s->last_err, sizeof(s->last_err),
			"cannot create JetStream stream `%s` for `%s` with %d replicas: %s (error %d)",
			s->stream, s->stream_subject, s->replicas, st_text(st),
			(int)jerr);
		return -1;
	}
	jsStreamInfo_Destroy(si);
	log_info(
		"%s: created JetStream stream `%s` (subjects `%s`, %d replicas)",
		s->net.base.desc, s->stream, s->stream_subject, s->replicas);
	return 0;
}

/* No --nats-stream: JetStream must at least serve the account, or every
 * publish would wait for an ack that never comes (records spooled, the
 * cause untold).  Only the server's "not enabled" answers (or no
 * responder at all to JetStream's API) stop it: a user
 * whose permissions do not reach $JS.API.INFO (least privilege: publish to
 * the subjects, the acks' inbox) gets no answer or a permission error,
 * and is let through as before. */
static int check_account(struct sink_nats *s, jsCtx *js)
{
	jsAccountInfo *ai = NULL;
	jsErrCode jerr = 0;
	jsOptions jo;
	natsStatus st;

	jsOptions_Init(&jo);
	jo.Wait = 1000; /* an unanswered request: let through, soon */
	st = js_GetAccountInfo(&ai, js, &jo, &jerr);
	if (st == NATS_OK) {
		jsAccountInfo_Destroy(ai);
		return 0;
	}
	/* no responders: nothing serves JetStream's API to this account */
	if (jerr != JSNotEnabledForAccountErr && jerr != JSNotEnabledErr &&
	    st != NATS_NO_RESPONDERS) {
		log_debug("%s: JetStream account info: %s (error %d)",
			  s->net.base.desc, st_text(st), (int)jerr);
		return 0;
	}
	snprintf(s->last_err, sizeof(s->last_err),
		 "JetStream: %s (error %d): enable JetStream for this account "
		 "on the server",
		 st_text(st), (int)jerr);
	return -1;
}

/* A connect that failed: at start (-X, -P, -R, -w: sink_nats_open waits
 * for it) the open tells the cause; in the background (-D's container
 * streams) it is told here, once until it works. */
static int fail(struct sink_nats *s)
{
	if (s->background)
		sink_net_down(&s->net, s->last_err);
	return -1;
}

static int nats_connect(struct sink_net *n)
{
	struct sink_nats *s = (struct sink_nats *)n;
	natsConnection *nc = NULL;
	jsCtx *js = NULL;
	jsOptions jo;
	natsStatus st;

	pthread_mutex_lock(&n->q.mu);
	nc = s->nc;
	pthread_mutex_unlock(&n->q.mu);
	if (nc) {
		/* connected still (JetStream did not answer): try again now;
		 * else cnats reconnects by itself and tells */
		if (natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED)
			sink_net_up(n);
		return 0;
	}
	__atomic_store_n(&s->closed, false, __ATOMIC_RELEASE);
	st = natsConnection_Connect(&nc, s->opts);
	if (st != NATS_OK) {
		const char *e = nats_GetLastError(NULL)
					? nats_GetLastError(NULL)
					: natsStatus_GetText(st);

		/* a server that wants a client certificate drops the TLS
		 * connection without a word: cnats says "Expected 'PONG',
		 * got ''" */
		snprintf(s->last_err, sizeof(s->last_err), "%s%s", e,
			 s->tls_no_cert && strstr(e, "PONG")
				 ? " (the server closed the TLS connection: "
				   "does it want a client certificate? "
				   "--nats-cert FILE --nats-key FILE)"
				 : "");
		return fail(s);
	}
	jsOptions_Init(&jo);
	jo.Wait = ACK_WAIT_MS;
	jo.PublishAsync.MaxPending = WINDOW * BATCH * 2;
	jo.PublishAsync.AckHandler = on_ack;
	jo.PublishAsync.AckHandlerClosure = s;
	st = natsConnection_JetStream(&js, nc, &jo);
	if (st != NATS_OK ||
	    (s->stream ? ensure_stream(s, js) : check_account(s, js)) < 0) {
		if (st != NATS_OK)
			snprintf(s->last_err, sizeof(s->last_err),
				 "JetStream: %s", natsStatus_GetText(st));
		jsCtx_Destroy(js);
		/* a connection never put to use: its end is no outage to
		 * tell (on_disconnected), the cause is */
		pthread_mutex_lock(&n->q.mu);
		s->closing = true;
		pthread_mutex_unlock(&n->q.mu);
		close_connection(s, nc);
		pthread_mutex_lock(&n->q.mu);
		s->closing = false;
		pthread_mutex_unlock(&n->q.mu);
		return fail(s);
	}
	pthread_mutex_lock(&n->q.mu);
	s->nc = nc;
	s->js = js;
	pthread_mutex_unlock(&n->q.mu);
	sink_net_up(n);
	return 0;
}

/* v in decimal at p; returns the length (at most 20). */
static size_t put_u64(char *p, uint64_t v)
{
	char t[20];
	size_t n = 0, i;

	do
		t[n++] = (char)('0' + v % 10);
	while (v /= 10);
	for (i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

/* Records lo..hi (some of them, in data) as one NATS message: id holds
 * "EXPORTER.TAG." (plen bytes), the numbers are put after it. */
static natsStatus publish(struct sink_nats *s, char *id, size_t plen,
			  const char *data, size_t len, uint64_t lo,
			  uint64_t hi)
{
	natsMsg *msg = NULL;
	jsPubOptions po;
	natsStatus st;
	size_t k = plen + put_u64(id + plen, lo);

	if (hi != lo) {
		id[k++] = '-';
		k += put_u64(id + k, hi);
	}
	id[k] = 0;
	st = natsMsg_Create(&msg, s->subject, NULL, data, (int)len);
	jsPubOptions_Init(&po);
	po.MsgId = id;
	po.MaxWait = ACK_WAIT_MS;
	if (st == NATS_OK)
		st = js_PublishMsgAsync(s->js, &msg, &po);
	natsMsg_Destroy(msg);
	return st;
}

static int cut_cmp(const struct sink_spool_cut *a, uint64_t tag, uint64_t rid)
{
	if (a->tag != tag)
		return a->tag < tag ? -1 : 1;
	return a->rid < rid ? -1 : a->rid > rid;
}

/* The index of the first cut point at or after (tag, rid). */
static size_t cut_find(const struct sink_nats *s, uint64_t tag, uint64_t rid)
{
	size_t lo = 0, hi = s->ncuts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cut_cmp(&s->cuts[mid], tag, rid) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The cut points an earlier run left in the spool, once. */
static void cuts_load(struct sink_nats *s)
{
	struct sink_net *n = &s->net;
	const struct sink_spool_cut *v;
	size_t k;

	s->cuts_loaded = true;
	if (!n->spool)
		return;
	pthread_mutex_lock(&n->spool_mu);
	k = sink_spool_cuts(n->spool, &v);
	for (size_t i = 0; i < k; i++) {
		size_t at = cut_find(s, v[i].tag, v[i].rid);

		if (at < s->ncuts && !cut_cmp(&s->cuts[at], v[i].tag, v[i].rid))
			continue;
		if (s->ncuts == s->cuts_cap) {
			s->cuts_cap = s->cuts_cap ? s->cuts_cap * 2 : 64;
			s->cuts = xrealloc(s->cuts,
					   s->cuts_cap * sizeof(*s->cuts));
		}
		memmove(s->cuts + at + 1, s->cuts + at,
			(s->ncuts - at) * sizeof(*s->cuts));
		s->cuts[at] = v[i];
		s->ncuts++;
	}
	pthread_mutex_unlock(&n->spool_mu);
	if (s->ncuts)
		log_info("%s: %zu batch cut points from the spool",
			 n->base.desc, s->ncuts);
}

/* Cut points no later run needs are dropped: before what a replay could
 * start with (with a spool: the record at its saved acked position, or
 * when all it holds is acked and saved, the queue's oldest record, as
 * without one), of an older tag or more than a window before it.  The
 * spool's file is rewritten with the rest once it has grown. */
static void cuts_prune(struct sink_nats *s)
{
	struct sink_net *n = &s->net;
	uint64_t tag = 0, rid = 0;
	bool all_acked = true;
	size_t k;

	/* now and then (it takes both locks), not per message */
	if (s->ncuts < s->prune_at)
		return;
	s->prune_at = s->ncuts + 64;
	if (n->spool) {
		pthread_mutex_lock(&n->spool_mu);
		all_acked = !sink_spool_bytes(n->spool) &&
			    sink_spool_ack_saved(n->spool);
		pthread_mutex_unlock(&n->spool_mu);
	}
	pthread_mutex_lock(&n->q.mu);
	if (!all_acked) {
		tag = n->spool_saved_tag;
		rid = n->spool_saved_rid;
	} else if (n->q.count) {
		tag = sinkq_at(&n->q, 0)->tag;
		rid = sinkq_at(&n->q, 0)->rid;
	}
	pthread_mutex_unlock(&n->q.mu);
	if (!tag)
		return;
	/* a window of any run's pack (at most BATCH: --nats-batch 1-64) */
	rid = rid > BATCH ? rid - BATCH : 0;
	k = cut_find(s, tag, rid);
	if (!k)
		return;
	memmove(s->cuts, s->cuts + k, (s->ncuts - k) * sizeof(*s->cuts));
	s->ncuts -= k;
	s->prune_at = s->ncuts + 64;
	if (!n->spool)
		return;
	pthread_mutex_lock(&n->spool_mu);
	if (sink_spool_cuts_written(n->spool) > 4 * s->ncuts + 1024)
		sink_spool_cuts_set(n->spool, s->cuts, s->ncuts);
	pthread_mutex_unlock(&n->spool_mu);
}

/* Records (tag, rid) as a cut point, on disk (with a spool) before the
 * message ending there is published. */
static void cut_add(struct sink_nats *s, uint64_t tag, uint64_t rid)
{
	struct sink_net *n = &s->net;
	size_t at = cut_find(s, tag, rid);

	if (at < s->ncuts && !cut_cmp(&s->cuts[at], tag, rid))
		return;
	if (s->ncuts == s->cuts_cap) {
		s->cuts_cap = s->cuts_cap ? s->cuts_cap * 2 : 64;
		s->cuts = xrealloc(s->cuts, s->cuts_cap * sizeof(*s->cuts));
	}
	memmove(s->cuts + at + 1, s->cuts + at,
		(s->ncuts - at) * sizeof(*s->cuts));
	s->cuts[at] = (struct sink_spool_cut){.tag = tag, .rid = rid};
	s->ncuts++;
	s->cuts_added++;
	if (!n->spool)
		return; /* nothing is replayed after a restart */
	pthread_mutex_lock(&n->spool_mu);
	/* a failure is told: a restart may then store the window twice */
	sink_spool_cut_add(n->spool, tag, rid);
	pthread_mutex_unlock(&n->spool_mu);
}

/* The piece of rid's window (of pack records) that rid is in, between cut
 * points: lo..hi. */
static void piece_of(const struct sink_nats *s, unsigned pack, uint64_t tag,
		     uint64_t rid, uint64_t *lo, uint64_t *hi)
{
	uint64_t wlo = rid - rid % pack, whi = wlo + pack - 1;
	size_t at = cut_find(s, tag, rid);

	*lo = wlo;
	*hi = whi;
	if (at < s->ncuts && s->cuts[at].tag == tag && s->cuts[at].rid < whi)
		*hi = s->cuts[at].rid;
	if (at && s->cuts[at - 1].tag == tag && s->cuts[at - 1].rid >= wlo)
		*lo = s->cuts[at - 1].rid + 1;
	if (!*lo)
		*lo = 1; /* numbers start at 1 */
}

/* The end of the record at p (after its newline). */
static const char *rec_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', end - p);

	return nl ? nl + 1 : end;
}

static enum sink_net_sent nats_send(struct sink_net *n,
				    const struct sink_net_msg *m, char *why,
				    size_t why_len)
{
	struct sink_nats *s = (struct sink_nats *)n;
	const char *p = m->buf, *end = m->buf + m->len;
	bool ours = m->tag == n->q.tag; /* this run's records (not replayed) */
	/* the windows its records were first sent in: replayed records keep
	 * their run's (its --nats-batch, kept in the spool), whatever ours is */
	unsigned pack = m->pack && m->pack <= BATCH ? m->pack : s->batch;
	uint64_t rid = m->rid;
	natsStatus st = NATS_OK;
	uint32_t nrec = 0;
	char *id = s->msg_id;
	int plen;

	for (const char *c = p; c < end && (c = memchr(c, '\n', end - c)); c++)
		nrec++;
	if (!nrec || nrec > BATCH)
		return SINK_NET_REJECTED; /* the base cuts whole records */
	if (!s->cuts_loaded)
		cuts_load(s);
	if (s->ncuts)
		cuts_prune(s);
	/* room for the records' numbers: see nats_open */
	plen = snprintf(id, s->msg_id_size - 42, "%s.%llu.", s->exporter,
			(unsigned long long)m->tag);
	pthread_mutex_lock(&s->slot_mu);
	s->slots[m->id % SLOTS] = (struct nats_slot){
		.id = m->id,
		.tag = m->tag,
		.rid = m->rid,
		.left = nrec == 64 ? ~0ull : (1ull << nrec) - 1,
		.gen = m->gen,
		.nrec = nrec,
	};
	pthread_mutex_unlock(&s->slot_mu);
	/* one message per piece: the records of the queue message with the
	 * same window and cut points */
	while (p < end && st == NATS_OK) {
		const char *start = p, *q = rec_end(p, end);
		uint64_t lo, hi;
		bool alone = pack > 1 && is_stream_record(p, q - p);
		bool before_stream = false;

		/* a stream record goes alone, also one an earlier run left
		 * unsent (its cut points then first recorded now, so a later
		 * run cuts the same; one it sent was cut so by it) */
		if (alone) {
			/* the message before it ends before it, it ends at
			 * it */
			if (rid % pack && p > m->buf)
				cut_add(s, m->tag, rid - 1);
			if ((rid + 1) % pack)
				cut_add(s, m->tag, rid);
		}
		piece_of(s, pack, m->tag, rid, &lo, &hi);
		for (p = q, rid++; p < end && rid <= hi; p = q, rid++) {
			q = rec_end(p, end);
			if (pack > 1 && is_stream_record(p, q - p)) {
				before_stream = true;
				break;
			}
		}
		if ((ours || before_stream) && rid - 1 < hi) {
			/* a partial window (all there is now: this run's
			 * records only, an earlier run's may have been sent
			 * whole), or before a stream record: the same cut
			 * when sent again */
			cut_add(s, m->tag, rid - 1);
			hi = rid - 1;
		}
		/* the records newline-separated, without the last newline (one
		 * bare JSON object per message with --nats-batch 1, as on
		 * MQTT) */
		st = publish(s, id, plen, start, p - start - (p[-1] == '\n'),
			     lo, hi);
	}
	if (st == NATS_OK)
		return SINK_NET_PENDING;
	if (st == NATS_CONNECTION_CLOSED ||
	    st == NATS_CONNECTION_DISCONNECTED ||
	    st == NATS_NOT_YET_CONNECTED) {
		snprintf(why, why_len, "%s", natsStatus_GetText(st));
		return SINK_NET_DOWN_NOW;
	}
	return SINK_NET_RESEND;
}

static void nats_close(struct sink_net *n)
{
	struct sink_nats *s = (struct sink_nats *)n;

	pthread_mutex_lock(&n->q.mu);
	s->closing = true;
	pthread_mutex_unlock(&n->q.mu);
	if (s->batch > 1)
		log_debug("%s: %llu batch cut points recorded", n->base.desc,
			  (unsigned long long)s->cuts_added);
	if (s->js)
		jsCtx_Destroy(s->js);
	if (s->nc)
		close_connection(s, s->nc);
	natsOptions_Destroy(s->opts);
	pthread_mutex_destroy(&s->slot_mu);
	free(s->subject);
	free(s->stream);
	free(s->stream_subject);
	free(s->exporter);
	free(s->msg_id);
	free(s->cuts);
	sink_net_free_secret(s->password);
}

static const struct sink_net_ops nats_net_ops = {
	.connect = nats_connect,
	.send = nats_send,
	.close = nats_close,
};

/* --nats URL[,URL...]: nats:// or tls://, at most NATS_SERVERS. */
static int set_servers(natsOptions *no, const char *urls, bool *tls,
		       struct sf_error **err)
{
	cleanup_free char *copy = xstrdup(urls);
	const char *list[NATS_SERVERS];
	int n = 0;

	for (char *p = strtok(copy, ","); p; p = strtok(NULL, ",")) {
		if (n == NATS_SERVERS)
			return sf_usage(err, "--nats: at most %d servers",
					NATS_SERVERS);
		if (strncmp(p, "nats://", 7) != 0 &&
		    strncmp(p, "tls://", 6) != 0)
			return sf_usage(
				err,
				"bad --nats server `%s`: want nats://HOST:PORT or tls://HOST:PORT",
				p);
		*tls |= strncmp(p, "tls://", 6) == 0;
		list[n++] = p;
	}
	if (!n)
		return sf_usage(err, "--nats needs a server URL");
	if (natsOptions_SetServers(no, list, n) != NATS_OK)
		return sf_usage(err, "bad --nats `%s`: %s", urls,
				nats_GetLastError(NULL));
	return 0;
}

static int set_auth(struct sink_nats *s, const struct sf_options *o, bool tls,
		    struct sf_error **err)
{
	natsOptions *no = s->opts;
	natsStatus st = NATS_OK;

	if (sink_net_read_secret(o->nats_password_file, "--nats-password-file",
				 "SFAGENT_NATS_PASSWORD", &s->password,
				 err) < 0)
		return -1;
	if (s->password && !o->nats_user)
		return sf_usage(err,
				"a NATS password is given but no --nats-user");
	if (o->nats_creds)
		st = natsOptions_SetUserCredentialsFromFiles(no, o->nats_creds,
							     NULL);
	if (st == NATS_OK && o->nats_user)
		st = natsOptions_SetUserInfo(no, o->nats_user, s->password);
	if (st == NATS_OK && tls)
		st = natsOptions_SetSecure(no, true);
	if (st == NATS_OK && o->nats_cafile)
		st = natsOptions_LoadCATrustedCertificates(no, o->nats_cafile);
	if (st == NATS_OK && o->nats_cert)
		st = natsOptions_LoadCertificatesChain(no, o->nats_cert,
						       o->nats_key);
	if (st != NATS_OK)
		return sf_fail(err, 0, "NATS credentials or TLS files: %s",
			       nats_GetLastError(NULL)
				       ? nats_GetLastError(NULL)
				       : natsStatus_GetText(st));
	return 0;
}

static int nats_setup(struct sink_nats *s, const struct sf_options *o,
		      struct sf_error **err)
{
	bool tls = o->nats_cafile || o->nats_cert;

	if (natsOptions_Create(&s->opts) != NATS_OK)
		return sf_fail(err, 0, "NATS client setup failed");
	if (set_servers(s->opts, o->nats_url, &tls, err) < 0 ||
	    set_auth(s, o, tls, err) < 0)
		return -1;
	s->tls_no_cert = tls && !o->nats_cert;
	natsOptions_SetTimeout(s->opts, CONNECT_MS);
	natsOptions_SetMaxReconnect(s->opts, -1);
	natsOptions_SetReconnectWait(s->opts, 100);
	natsOptions_SetPingInterval(s->opts, 2000);
	natsOptions_SetMaxPingsOut(s->opts, 2);
	natsOptions_SetDisconnectedCB(s->opts, on_disconnected, s);
	natsOptions_SetReconnectedCB(s->opts, on_reconnected, s);
	natsOptions_SetClosedCB(s->opts, on_closed, s);
	return 0;
}

/* The subjects a created stream takes: each token with a % becomes *, and
 * a last such token >, so that a daemon container's own subject (its
 * stream's subject and more tokens, docs/hook.md) is taken too. */
static char *stream_subject(const char *tmpl)
{
	struct sbuf b = {0};

	for (const char *t = tmpl; *t;) {
		size_t len = strcspn(t, ".");

		if (memchr(t, '%', len))
			sbuf_putc(&b, '*');
		else
			sbuf_put(&b, t, len);
		t += len;
		if (*t == '.')
			sbuf_putc(&b, *t++);
	}
	if (b.len && b.data[b.len - 1] == '*' &&
	    (b.len == 1 || b.data[b.len - 2] == '.'))
		b.data[b.len - 1] = '>';
	sbuf_putc(&b, 0);
	return b.data;
}

struct sink *sink_nats_open(const struct sf_options *o, const char *subject,
			    const char *exporter, bool wait,
			    struct sf_error **err)
{
	struct sink_net_conf c = {
		.kind = "nats",
		.dest = subject,
		.max_rec = o->queue_size,
		.batch = BATCH,
		/* full queue messages end at window ends: no cut points; the
		 * spool keeps it with the records (restarts with another) */
		.pack = o->nats_batch ? o->nats_batch : 1,
		.window = WINDOW,
		.drain_timeout = o->drain_timeout,
	};
	struct sink_nats *s;

	if (lazy_nats_load(err) < 0)
		return NULL;
	s = xzalloc(sizeof(*s));
	pthread_mutex_init(&s->slot_mu, NULL);
	sink_net_conf_spool(&c, o);
	sink_net_init(&s->net, &nats_net_ops, &c,
		      xasprintf("NATS %s subject `%s`", o->nats_url, subject));
	s->subject = xstrdup(subject);
	s->exporter = xstrdup(exporter);
	/* EXPORTER "." TAG (20 digits) "." FIRST "-" LAST (20 digits) NUL */
	s->msg_id_size = strlen(exporter) + 65;
	s->batch = o->nats_batch ? o->nats_batch : 1;
	s->msg_id = xmalloc(s->msg_id_size);
	s->create_stream = o->nats_create_stream;
	s->background = !wait;
	s->replicas = o->nats_replicas ? o->nats_replicas : 1;
	if (o->nats_stream) {
		s->stream = xstrdup(o->nats_stream);
		s->stream_subject = stream_subject(
			o->nats_subject ? o->nats_subject : SINK_NATS_DEFAULT);
	}
	if (nats_setup(s, o, err) < 0)
		goto fail;
	if (wait && sink_net_connect_now(&s->net) < 0) {
		sf_fail(err, 0,
			"cannot connect to NATS %s: %s (are the servers running and reachable? check --nats, the credentials and the TLS files)",
			o->nats_url, s->last_err);
		goto fail;
	}
	if (sink_net_start(&s->net, err) < 0)
		goto fail;
	return &s->net.base;
fail:
	sink_close(&s->net.base);
	return NULL;
}

static struct sink *open_nats(struct agent *a, struct workload *wl,
			      const char *arg, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	cleanup_free char *subject = NULL;

	if (!o->nats_url) {
		sf_usage(err, "NATS output needs servers: --nats URL");
		return NULL;
	}
	subject = sink_topic_expand_nats(arg		   ? arg
					 : o->nats_subject ? o->nats_subject
							   : SINK_NATS_DEFAULT,
					 a->exporter, wl->name,
					 wl->container_id, err);
	if (!subject)
		return NULL;
	/* the daemon connects in the background, as for MQTT */
	return sink_nats_open(o, subject, a->exporter,
			      o->mode != SF_MODE_DAEMON, err);
}

static bool want_nats(const struct sf_options *o)
{
	return o->nats_url;
}

const struct sink_kind sink_nats_kind = {
	.name = "nats",
	.wanted = want_nats,
	.open = open_nats,
};
