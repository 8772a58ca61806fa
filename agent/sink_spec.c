// SPDX-License-Identifier: GPL-2.0
/* Opening sinks by kind, for the one-workload modes and for the daemon. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "agent.h"
#include "sink.h"

static void put_value(struct sbuf *b, const char *v)
{
	for (; v && *v; v++) {
		unsigned char c = *v;

		sbuf_putc(b, c == '/' || c == '+' || c == '#' || c < 0x20 || c == 0x7f ?
				     '_' :
				     c);
	}
}

char *sink_topic_expand(const char *tmpl, const char *exporter,
			const char *workload, const char *container_id,
			struct sf_error **err)
{
	struct sbuf b = { 0 };

	if (strpbrk(tmpl, "+#")) {
		sf_usage(err, "MQTT topic `%s` holds a wildcard (+ or #): a topic to "
			      "publish to must name one topic",
			 tmpl);
		return NULL;
	}
	for (const char *p = tmpl; *p; p++) {
		if ((unsigned char)*p < 0x20) {
			sf_usage(err, "MQTT topic `%s` holds a control character", tmpl);
			goto bad;
		}
		if (*p != '%') {
			sbuf_putc(&b, *p);
			continue;
		}
		switch (*++p) {
		case 'h':
			put_value(&b, exporter);
			break;
		case 'w':
			put_value(&b, workload);
			break;
		case 'c':
			put_value(&b, container_id);
			break;
		case '%':
			sbuf_putc(&b, '%');
			break;
		default:
			sf_usage(err, "MQTT topic `%s`: unknown `%%%.1s`: use %%h (exporter), "
				      "%%w (workload), %%c (container id) or %%%%",
				 tmpl, p);
			goto bad;
		}
		if (!*p)
			break;
	}
	if (!b.len || b.len > SINK_TOPIC_MAX) {
		sf_usage(err, "MQTT topic from `%s` is %s (1 to %d bytes)", tmpl,
			 b.len ? "too long" : "empty", SINK_TOPIC_MAX);
		goto bad;
	}
	sbuf_putc(&b, 0);
	return b.data;
bad:
	sbuf_free(&b);
	return NULL;
}

static struct sink *open_file(struct agent *a, struct workload *wl,
			      const char *path, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	struct sink_file_conf c = {
		.rotate_secs = o->rotate_secs,
		.max_size = o->max_size,
		.max_files = o->max_files,
		.prefix = wl->enc->file_prefix,
		.separator = wl->enc->file_separator,
		.suffix = wl->enc->file_suffix,
	};

	return sink_file_open_conf(path, &c, err);
}

static int open_spec(struct agent *a, struct workload *wl, const char *kind,
		     const char *arg, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	struct sink *s = NULL;

	if (wl->nsinks >= SF_MAX_SINKS)
		return sf_usage(err, "workload `%s`: at most %d outputs", wl->name,
				SF_MAX_SINKS);
	if (strcmp(kind, "file") == 0) {
		if (!arg)
			arg = o->output;
		if (!arg)
			return sf_usage(err, "no output file given (-o FILE)");
		s = open_file(a, wl, arg, err);
	} else if (strcmp(kind, "mqtt") == 0) {
		cleanup_free char *topic = NULL, *client_id = NULL;

		if (!o->broker)
			return sf_usage(err, "MQTT output needs a broker: -b HOST");
		topic = sink_topic_expand(arg ? arg : o->topic ? o->topic : SINK_TOPIC_DEFAULT,
					  a->exporter, wl->name, wl->container_id, err);
		if (!topic)
			return -1;
		client_id = o->mqtt_client_id ?
				    xstrdup(o->mqtt_client_id) :
				    xasprintf("sfagent-%.64s-%d-%u", a->exporter,
					      (int)getpid(), wl->slot);
		s = sink_mqtt_open(o, topic, client_id, err);
	} else if (strcmp(kind, "http") == 0) {
		if (!arg)
			arg = o->http_url;
		if (!arg)
			return sf_usage(err, "HTTP output needs a URL: --http URL");
		s = sink_http_open(o, arg, err);
	} else {
		return sf_usage(err, "unknown output `%s`: use file, mqtt or http", kind);
	}
	if (!s)
		return sf_error_wrap(err, "workload `%s`", wl->name);
	wl->sinks[wl->nsinks++] = s;
	return 0;
}

int sink_open_spec(struct agent *a, struct workload *wl, const char *kind,
		   const char *arg, struct sf_error **err)
{
	sigset_t all, old;
	int r;

	/* Threads the sinks start (theirs and paho's) inherit this mask: the
	 * process's signals must reach the main loop's signalfd, not them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = open_spec(a, wl, kind, arg, err);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return r;
}
