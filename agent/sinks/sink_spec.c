// SPDX-License-Identifier: GPL-2.0
/* Opening sinks by kind, for the one-workload modes and for the daemon. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "agent.h"
#include "sink.h"

static struct sink *open_mqtt(struct agent *a, struct workload *wl,
			      const char *arg, struct sf_error **err)
{
	const struct sf_options *o = a->opt;
	cleanup_free char *topic = NULL, *client_id = NULL;

	if (!o->broker) {
		sf_usage(err, "MQTT output needs a broker: -b HOST");
		return NULL;
	}
	topic = sink_topic_expand(arg	     ? arg
				  : o->topic ? o->topic
					     : SINK_TOPIC_DEFAULT,
				  a->exporter, wl->name, wl->container_id, err);
	if (!topic)
		return NULL;
	/* one client per stream: in daemon mode --mqtt-client-id is a prefix,
	 * as two clients with one id would push each other off the broker */
	if (o->mqtt_client_id && o->mode == SF_MODE_DAEMON)
		client_id = xasprintf("%s-%u", o->mqtt_client_id, wl->slot);
	else if (o->mqtt_client_id)
		client_id = xstrdup(o->mqtt_client_id);
	else
		client_id = xasprintf("sfagent-%.64s-%d-%u", a->exporter,
				      (int)getpid(), wl->slot);
	/* the daemon connects in the background: a registration never waits
	 * for the broker, and a broker that is away when a container starts
	 * costs nothing but queue room */
	if (o->mode == SF_MODE_DAEMON)
		return sink_mqtt_open_background(o, topic, client_id, err);
	return sink_mqtt_open(o, topic, client_id, err);
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

static struct sink *open_file(struct agent *a, struct workload *wl,
			      const char *arg, struct sf_error **err)
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

	if (!arg)
		arg = o->output;
	if (!arg) {
		sf_usage(err, "no output file given (-o FILE)");
		return NULL;
	}
	return sink_file_open_conf(arg, &c, err);
}

static bool want_mqtt(const struct sf_options *o)
{
	return o->broker;
}

static bool want_http(const struct sf_options *o)
{
	return o->http_url;
}

static bool want_file(const struct sf_options *o)
{
	return o->output;
}

/*
 * The sink kinds, one row each: its name (in messages and export specs),
 * whether the command line asks for it, and how to open it.  The order is
 * the order sinks open in from the command line: network sinks first, so
 * one that fails leaves no file behind.
 */
static const struct sink_kind {
	const char *name;
	bool (*wanted)(const struct sf_options *o);
	struct sink *(*open)(struct agent *a, struct workload *wl,
			     const char *arg, struct sf_error **err);
} kinds[] = {
	{"mqtt", want_mqtt, open_mqtt},
	{"http", want_http, open_http},
	{"file", want_file, open_file},
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int open_spec(struct agent *a, struct workload *wl, const char *kind,
		     const char *arg, struct sf_error **err)
{
	const struct sink_kind *k = NULL;
	struct sink *s;

	for (size_t i = 0; i < NKINDS && !k; i++)
		if (strcmp(kinds[i].name, kind) == 0)
			k = &kinds[i];
	if (!k) {
		char names[128] = "";

		for (size_t i = 0; i < NKINDS; i++)
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", kinds[i].name);
		return sf_usage(err, "unknown output `%s`: use one of %s", kind,
				names);
	}
	if (wl->nsinks >= SF_MAX_SINKS)
		return sf_usage(err, "workload `%s`: at most %d outputs",
				wl->name, SF_MAX_SINKS);
	s = k->open(a, wl, arg, err);
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

int sink_open_from_options(struct agent *a, struct workload *wl,
			   struct sf_error **err)
{
	for (size_t i = 0; i < NKINDS; i++)
		if (kinds[i].wanted(a->opt) &&
		    sink_open_spec(a, wl, kinds[i].name, NULL, err) < 0)
			return -1;
	return 0;
}
