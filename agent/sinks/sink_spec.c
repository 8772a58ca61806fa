// SPDX-License-Identifier: GPL-2.0
/* Opening sinks by kind, for the one-workload modes and for the daemon. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "agent.h"
#include "sink.h"

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
		/* -o FILE appends, as the daemon's streams do (each stream is
		 * framed by stream.start ... stream.end); a format that is one
		 * document per file (cadets: a JSON array) starts it again */
		.append = !wl->enc->file_prefix,
		.new_file = encoder_new_file_fn(wl->enc),
		.new_file_ctx = wl,
		.count_records = wl->enc->ops->count_records,
	};

	if (!arg)
		arg = o->output;
	if (!arg) {
		sf_usage(err, "no output file given (-o FILE)");
		return NULL;
	}
	return sink_file_open_conf(arg, &c, err);
}

static bool want_file(const struct sf_options *o)
{
	return o->output;
}

static const struct sink_kind file_kind = {
	.name = "file",
	.wanted = want_file,
	.open = open_file,
};

/*
 * The sink kinds.  The order is the order sinks open in from the command
 * line: network sinks first, so one that fails leaves no file behind.
 */
extern const struct sink_kind sink_mqtt_kind, sink_http_kind, sink_nats_kind;
static const struct sink_kind *const kinds[] = {
	&sink_mqtt_kind,
	&sink_http_kind,
	&sink_nats_kind,
	&file_kind,
};

#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

static int open_spec(struct agent *a, struct workload *wl, const char *kind,
		     const char *arg, struct sf_error **err)
{
	const struct sink_kind *k = NULL;
	struct sink *s;

	for (size_t i = 0; i < NKINDS && !k; i++)
		if (strcmp(kinds[i]->name, kind) == 0)
			k = kinds[i];
	if (!k) {
		char names[128] = "";

		for (size_t i = 0; i < NKINDS; i++)
			snprintf(names + strlen(names),
				 sizeof(names) - strlen(names), "%s%s",
				 i ? ", " : "", kinds[i]->name);
		return sf_usage(err, "unknown output `%s`: use one of %s", kind,
				names);
	}
	if (wl->nsinks >= SF_MAX_SINKS)
		return sf_usage(err, "workload `%s`: at most %d outputs",
				wl->name, SF_MAX_SINKS);
	s = k->open(a, wl, arg, err);
	if (!s)
		return sf_error_wrap(err, "workload `%s`", wl->name);
	s->kind = k->name;
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
		if (kinds[i]->wanted(a->opt) &&
		    sink_open_spec(a, wl, kinds[i]->name, NULL, err) < 0)
			return -1;
	return 0;
}
