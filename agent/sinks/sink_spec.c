// SPDX-License-Identifier: GPL-2.0
/* Opening sinks by kind, for the one-workload modes and for the daemon. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "agent.h"
#include "sink.h"

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
		/* -o FILE appends, as the daemon's streams do (each stream is
		 * framed by stream.start ... stream.end); a format that is one
		 * document per file (cadets: a JSON array) starts it again */
		.append = !wl->enc->file_prefix,
	};

	return sink_file_open_conf(path, &c, err);
}

static int open_spec(struct agent *a, struct workload *wl, const char *kind,
		     const char *arg, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	struct sink *s = NULL;

	if (wl->nsinks >= SF_MAX_SINKS)
		return sf_usage(err, "workload `%s`: at most %d outputs",
				wl->name, SF_MAX_SINKS);
	if (strcmp(kind, "file") == 0) {
		if (!arg)
			arg = o->output;
		if (!arg)
			return sf_usage(err, "no output file given (-o FILE)");
		s = open_file(a, wl, arg, err);
	} else if (strcmp(kind, "mqtt") == 0) {
		cleanup_free char *topic = NULL, *client_id = NULL;

		if (!o->broker)
			return sf_usage(err,
					"MQTT output needs a broker: -b HOST");
		topic = sink_topic_expand(arg	     ? arg
					  : o->topic ? o->topic
						     : SINK_TOPIC_DEFAULT,
					  a->exporter, wl->name,
					  wl->container_id, err);
		if (!topic)
			return -1;
		/* one client per stream: in daemon mode --mqtt-client-id is a
		 * prefix, as two clients with one id would push each other off
		 * the broker */
		if (o->mqtt_client_id && o->mode == SF_MODE_DAEMON)
			client_id =
				xasprintf("%s-%u", o->mqtt_client_id, wl->slot);
		else if (o->mqtt_client_id)
			client_id = xstrdup(o->mqtt_client_id);
		else
			client_id = xasprintf("sfagent-%.64s-%d-%u",
					      a->exporter, (int)getpid(),
					      wl->slot);
		/* the daemon connects in the background: a registration never
		 * waits for the broker, and a broker that is away when a
		 * container starts costs nothing but queue room */
		if (o->mode == SF_MODE_DAEMON)
			s = sink_mqtt_open_background(o, topic, client_id, err);
		else
			s = sink_mqtt_open(o, topic, client_id, err);
	} else if (strcmp(kind, "http") == 0) {
		if (!arg)
			arg = o->http_url;
		if (!arg)
			return sf_usage(err,
					"HTTP output needs a URL: --http URL");
		s = sink_http_open(o, arg, err);
	} else {
		return sf_usage(err,
				"unknown output `%s`: use file, mqtt or http",
				kind);
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
