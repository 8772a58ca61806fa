// SPDX-License-Identifier: GPL-2.0
/*
 * HTTP sink (libcurl): the protocol part of a network sink (sink_net.h has
 * the queue, the thread, backoff and drain).  It POSTs batches of JSON lines
 * (application/x-ndjson), one request at a time, so a slow or absent
 * collector never blocks the ring-buffer consumer.
 *
 * A batch goes out when it holds --http-batch records or its first record is
 * --http-interval ms old.  5xx, 408, 429 and connection errors are retried
 * with backoff (the batch stays queued, so nothing is lost while the backlog
 * fits the queue); any other non-2xx answer will not succeed on retry: it is
 * told on stderr (once per status) and its records are counted as dropped.
 */
#include <errno.h>
#include <string.h>

#include "agent.h"
#include "lazy_curl.h"
#include "options.h"
#include "sink_net.h"

struct sink_http {
	struct sink_net net;
	CURL *curl;
	struct curl_slist *headers;
	char *url;
	long rejected_status; /* last 4xx told on stderr (sender thread) */
	char answer[256]; /* start of the collector's answer, for messages */
	size_t answer_len;
};

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

	return sink_net_stopping(&h->net) ? 1 : 0;
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

static enum sink_net_sent http_send(struct sink_net *n,
				    const struct sink_net_msg *m, char *why,
				    size_t why_len)
{
	struct sink_http *h = (struct sink_http *)n;
	CURLcode cerr;
	long status = post(h, m->buf, m->len, &cerr);

	if (status >= 200 && status < 300)
		return SINK_NET_DONE;
	if (retryable(status)) {
		if (status)
			snprintf(why, why_len, "answered %ld", status);
		else
			snprintf(why, why_len, "%s", curl_easy_strerror(cerr));
		return SINK_NET_DOWN_NOW;
	}
	if (status != h->rejected_status)
		log_error(
			"%s answered %ld: %u records dropped, not retried%s%s (check the URL and --http-header); further rejections are counted as missed",
			n->base.desc, status, m->nrec,
			h->answer_len ? ": " : "", h->answer);
	h->rejected_status = status;
	return SINK_NET_REJECTED;
}

static void http_close(struct sink_net *n)
{
	struct sink_http *h = (struct sink_http *)n;

	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->headers);
	free(h->url);
}

static const struct sink_net_ops http_net_ops = {
	.send = http_send,
	.close = http_close,
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

static int http_setup(struct sink_http *h, const struct sf_options *o,
		      struct sf_error **err)
{
	h->curl = curl_easy_init();
	if (!h->curl)
		return sf_fail(err, 0, "libcurl initialisation failed");
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
	return 0;
}

struct sink *sink_http_open(const struct sf_options *o, const char *url,
			    struct sf_error **err)
{
	struct sink_net_conf c = {
		.max_rec = o->queue_size,
		.batch = o->http_batch,
		.window = 1,
		.interval_ns = o->http_interval_ms * 1000000ull,
		.drain_timeout = o->drain_timeout,
		.kind = "http",
		.dest = url,
	};
	struct sink_http *h;

	if (lazy_curl_load(err) < 0)
		return NULL;
	pthread_once(&curl_once, curl_init_once);
	if (check_url(url, err) < 0)
		return NULL;
	if (o->http_cafile && access(o->http_cafile, R_OK) < 0) {
		sf_fail(err, errno, "cannot read --http-cafile `%s`",
			o->http_cafile);
		return NULL;
	}
	h = xzalloc(sizeof(*h));
	sink_net_conf_spool(&c, o);
	sink_net_init(&h->net, &http_net_ops, &c,
		      xasprintf("HTTP collector %s", url));
	h->url = xstrdup(url);
	if (http_setup(h, o, err) < 0 || sink_net_start(&h->net, err) < 0) {
		sink_close(&h->net.base);
		return NULL;
	}
	return &h->net.base;
}

static struct sink *open_http(struct agent *a, struct workload *wl,
			      const char *arg, struct sf_error **err)
{
	if (!arg)
		arg = a->opt->http_url;
	if (!arg) {
		sf_usage(err, "HTTP output needs a URL: --http URL");
		return NULL;
	}
	return sink_http_open(a->opt, arg, err);
}

static bool want_http(const struct sf_options *o)
{
	return o->http_url;
}

const struct sink_kind sink_http_kind = {
	.name = "http",
	.wanted = want_http,
	.open = open_http,
};
