// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP sink (libcurl): POSTs batches of JSON lines (application/x-ndjson)
 * from a thread of its own; the ring-buffer consumer only appends to the
 * bounded queue (sinkq.h), so a slow or absent collector never blocks it.
 *
 * A batch goes out when it holds --http-batch records or its first record is
 * --http-interval ms old.  5xx, 408, 429 and connection errors are retried
 * with backoff (the batch stays queued, so nothing is lost while the backlog
 * fits the queue); any other non-2xx answer will not succeed on retry: it is
 * told on stderr (once per status) and its records are counted as dropped.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "options.h"
#include "sink.h"
#include "sinkq.h"

#define BACKOFF_MIN_NS (100 * 1000000ull)
#define BACKOFF_MAX_NS (5 * 1000000000ull)

struct sink_http {
	struct sink base;
	struct sinkq q; /* q.mu guards the state below */
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	uint64_t interval_ns;
	uint64_t retry_at, backoff;
	bool stop, dead, draining, thread_running, failing;
	long rejected_status; /* last 4xx told on stderr */
	pthread_t thread;
	unsigned drain_timeout;
	char answer[256]; /* start of the collector's answer, for messages */
	size_t answer_len;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void wait_until(struct sink_http *h, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = deadline_ns / 1000000000ull,
		.tv_nsec = deadline_ns % 1000000000ull,
	};

	pthread_cond_timedwait(&h->q.cv, &h->q.mu, &ts);
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct sink_http *h = ctx;
	size_t len = size * n, room = sizeof(h->answer) - 1 - h->answer_len;

	if (room) {
		memcpy(h->answer + h->answer_len, p, len < room ? len : room);
		h->answer_len += len < room ? len : room;
	}
	return len;
}

/* A POST under way gives up when the sink stops (end of the drain time). */
static int on_progress(void *ctx, curl_off_t dt, curl_off_t dn, curl_off_t ut,
		       curl_off_t un)
{
	struct sink_http *h = ctx;

	return __atomic_load_n(&h->stop, __ATOMIC_RELAXED) ? 1 : 0;
}

/* POST one batch.  Returns the HTTP status, or 0 with *cerr set. */
static long post(struct sink_http *h, const char *data, size_t len,
		 CURLcode *cerr)
{
	long status = 0;

	h->answer_len = 0;
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data);
	curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	*cerr = curl_easy_perform(h->curl);
	if (*cerr == CURLE_OK)
		curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
	h->answer[h->answer_len] = 0;
	for (char *p = h->answer; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return status;
}

static bool retryable(long status)
{
	return status == 0 || status >= 500 || status == 408 || status == 429;
}

static void *http_thread(void *arg)
{
	struct sink_http *h = arg;

	pthread_mutex_lock(&h->q.mu);
	while (!h->stop) {
		uint64_t now = mono_ns(), id;
		struct sinkq_msg *m;
		CURLcode cerr;
		const char *data;
		size_t len;
		uint32_t nrec;
		long status;

		if (!h->q.count) {
			wait_until(h, now + 100 * 1000000ull);
			continue;
		}
		m = sinkq_at(&h->q, 0);
		if (m->nrec < h->q.batch && h->q.count == 1 && !h->draining &&
		    now - m->born < h->interval_ns) {
			wait_until(h, m->born + h->interval_ns);
			continue;
		}
		if (now < h->retry_at) {
			wait_until(h, h->retry_at);
			continue;
		}
		m = sinkq_take(&h->q); /* the head: SENT, so nothing is added */
		data = m->buf.data;
		len = m->buf.len;
		id = m->id;
		/* a rejected stream record is not counted: it would only be
		 * reported again, and rejected again */
		nrec = m->nrec - m->nctl;
		pthread_mutex_unlock(&h->q.mu);
		/* the message stays put: only this thread acknowledges it */
		status = post(h, data, len, &cerr);
		pthread_mutex_lock(&h->q.mu);
		if (status >= 200 && status < 300) {
			if (h->failing)
				log_warn("%s: delivering again", h->base.desc);
			h->failing = false;
			h->backoff = BACKOFF_MIN_NS;
			h->retry_at = 0;
			sinkq_ack(&h->q, id);
		} else if (!retryable(status)) {
			if (status != h->rejected_status)
				log_error(
					"%s answered %ld: %u records dropped, not retried%s%s (check the URL and --http-header); further rejections are counted as missed",
					h->base.desc, status, nrec,
					h->answer_len ? ": " : "", h->answer);
			h->rejected_status = status;
			sink_count_dropped(&h->base, nrec);
			sinkq_ack(&h->q, id);
		} else {
			if (!h->failing) {
				if (status)
					log_warn(
						"%s answered %ld; retrying with backoff, keeping up to %llu records",
						h->base.desc, status,
						(unsigned long long)
							h->q.max_rec);
				else
					log_warn(
						"%s: %s; retrying with backoff, keeping up to %llu records",
						h->base.desc,
						curl_easy_strerror(cerr),
						(unsigned long long)
							h->q.max_rec);
			}
			h->failing = true;
			sinkq_rewind(&h->q);
			h->retry_at = mono_ns() + h->backoff;
			h->backoff = h->backoff * 2 > BACKOFF_MAX_NS
					     ? BACKOFF_MAX_NS
					     : h->backoff * 2;
		}
	}
	pthread_mutex_unlock(&h->q.mu);
	return NULL;
}

static void stop_thread(struct sink_http *h)
{
	if (!h->thread_running)
		return;
	pthread_mutex_lock(&h->q.mu);
	__atomic_store_n(&h->stop, true, __ATOMIC_RELAXED);
	pthread_cond_broadcast(&h->q.cv);
	pthread_mutex_unlock(&h->q.mu);
	pthread_join(h->thread, NULL);
	h->thread_running = false;
}

static int http_write(struct sink *s, const char *buf, size_t len,
		      struct sf_error **err)
{
	struct sink_http *h = (struct sink_http *)s;
	uint64_t n = sinkq_push(&h->q, buf, len, false);

	if (n)
		sink_count_dropped(s, n);
	return 0;
}

static int http_write_control(struct sink *s, const char *buf, size_t len,
			      struct sf_error **err)
{
	struct sink_http *h = (struct sink_http *)s;

	sinkq_push(&h->q, buf, len, true);
	return 0;
}

static void give_up(struct sink_http *h);

static int http_flush(struct sink *s, struct sf_error **err)
{
	struct sink_http *h = (struct sink_http *)s;
	uint64_t deadline = mono_ns() + h->drain_timeout * 1000000000ull;

	pthread_mutex_lock(&h->q.mu);
	h->draining = true;
	pthread_cond_broadcast(&h->q.cv);
	while (h->q.count && !h->dead && mono_ns() < deadline)
		wait_until(h, deadline);
	h->draining = false;
	if (!h->q.count) {
		pthread_mutex_unlock(&h->q.mu);
		return 0;
	}
	pthread_mutex_unlock(&h->q.mu);
	give_up(h);
	return 0;
}

static void give_up(struct sink_http *h)
{
	uint64_t lost;

	/* a POST may be under way: stop the thread before emptying the queue */
	stop_thread(h);
	pthread_mutex_lock(&h->q.mu);
	lost = sinkq_discard(&h->q);
	h->dead = true;
	pthread_mutex_unlock(&h->q.mu);
	if (!lost)
		return;
	sink_count_dropped(&h->base, lost);
	log_error(
		"%s: %llu records not delivered within %us: counted as missed",
		h->base.desc, (unsigned long long)lost, h->drain_timeout);
}

static uint64_t http_drain(struct sink *s, bool give)
{
	struct sink_http *h = (struct sink_http *)s;
	uint64_t n;

	if (give) {
		give_up(h);
		return 0;
	}
	pthread_mutex_lock(&h->q.mu);
	/* the stream is ending: no partial batch waits for --http-interval */
	if (!h->draining) {
		h->draining = true;
		pthread_cond_broadcast(&h->q.cv);
	}
	n = h->q.nrec;
	pthread_mutex_unlock(&h->q.mu);
	return n;
}

static void http_close(struct sink *s)
{
	struct sink_http *h = (struct sink_http *)s;

	stop_thread(h);
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	sinkq_fini(&h->q);
	free(h->url);
	free(s->desc);
	free(h);
}

static bool http_congested(struct sink *s)
{
	struct sink_http *h = (struct sink_http *)s;
	bool c;

	pthread_mutex_lock(&h->q.mu);
	c = !h->dead && (h->failing || h->q.nrec >= h->q.max_rec);
	pthread_mutex_unlock(&h->q.mu);
	return c;
}

static const struct sink_ops http_ops = {
	.name = "http",
	.write = http_write,
	.write_control = http_write_control,
	.flush = http_flush,
	.close = http_close,
	.drain = http_drain,
	.congested = http_congested,
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int check_url(const char *url, struct sf_error **err)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int r = 0;

	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0))
		r = sf_usage(
			err,
			"bad --http URL `%s`: want http://HOST[:PORT]/PATH or https://...",
			url);
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

struct sink *sink_http_open(const struct sf_options *o, const char *url,
			    struct sf_error **err)
{
	struct sink_http *h;

	pthread_once(&curl_once, curl_init_once);
	if (check_url(url, err) < 0)
		return NULL;
	if (o->http_cafile && access(o->http_cafile, R_OK) < 0) {
		sf_fail(err, errno, "cannot read --http-cafile `%s`",
			o->http_cafile);
		return NULL;
	}
	h = xzalloc(sizeof(*h));
	h->base.ops = &http_ops;
	h->base.desc = xasprintf("HTTP collector %s", url);
	h->url = xstrdup(url);
	h->interval_ns = o->http_interval_ms * 1000000ull;
	h->backoff = BACKOFF_MIN_NS;
	h->drain_timeout = o->drain_timeout;
	sinkq_init(&h->q, o->queue_size, o->http_batch);
	h->curl = curl_easy_init();
	if (!h->curl) {
		sf_fail(err, 0, "libcurl initialisation failed");
		goto fail;
	}
	h->headers =
		curl_slist_append(NULL, "Content-Type: application/x-ndjson");
	h->headers = curl_slist_append(h->headers, "Expect:");
	for (int i = 0; i < o->http_nheaders; i++)
		h->headers = curl_slist_append(h->headers, o->http_headers[i]);
	curl_easy_setopt(h->curl, CURLOPT_URL, h->url);
	curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, h->headers);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
	curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "sfagent/" SF_VERSION);
	if (o->http_cafile)
		curl_easy_setopt(h->curl, CURLOPT_CAINFO, o->http_cafile);
	if (pthread_create(&h->thread, NULL, http_thread, h) != 0) {
		sf_fail(err, errno, "HTTP sender thread");
		goto fail;
	}
	h->thread_running = true;
	return &h->base;
fail:
	http_close(&h->base);
	return NULL;
}
