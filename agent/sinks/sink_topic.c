// SPDX-License-Identifier: GPL-2.0
/* MQTT topic templates: %h, %w, %c (see sink.h). */
#include <string.h>

#include "sbuf.h"
#include "sink.h"

static void put_value(struct sbuf *b, const char *v)
{
	for (; v && *v; v++) {
		unsigned char c = *v;

		sbuf_putc(b, c == '/' || c == '+' || c == '#' || c < 0x20 ||
					     c == 0x7f
				     ? '_'
				     : c);
	}
}

char *sink_topic_expand(const char *tmpl, const char *exporter,
			const char *workload, const char *container_id,
			struct sf_error **err)
{
	struct sbuf b = {0};

	if (strpbrk(tmpl, "+#")) {
		sf_usage(
			err,
			"MQTT topic `%s` holds a wildcard (+ or #): a topic to publish to must name one topic",
			tmpl);
		return NULL;
	}
	for (const char *p = tmpl; *p; p++) {
		if ((unsigned char)*p < 0x20) {
			sf_usage(err,
				 "MQTT topic `%s` holds a control character",
				 tmpl);
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
			sf_usage(
				err,
				"MQTT topic `%s`: unknown `%%%.1s`: use %%h (exporter), %%w (workload), %%c (container id) or %%%%",
				tmpl, p);
			goto bad;
		}
		if (!*p)
			break;
	}
	if (!b.len || b.len > SINK_TOPIC_MAX) {
		sf_usage(err, "MQTT topic from `%s` is %s (1 to %d bytes)",
			 tmpl, b.len ? "too long" : "empty", SINK_TOPIC_MAX);
		goto bad;
	}
	if (b.data[0] == '$') {
		/* $SYS/...: the broker's own topics, not for clients */
		sf_usage(
			err,
			"MQTT topic from `%s` starts with `$`: such topics are the broker's own",
			tmpl);
		goto bad;
	}
	sbuf_putc(&b, 0);
	return b.data;
bad:
	sbuf_free(&b);
	return NULL;
}
