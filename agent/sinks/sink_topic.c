// SPDX-License-Identifier: GPL-2.0
/* MQTT topic and NATS subject templates: %h, %w, %c (see sink.h). */
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

static void put_token_value(struct sbuf *b, const char *v)
{
	for (; v && *v; v++) {
		unsigned char c = *v;

		sbuf_putc(b, c == '.' || c == '*' || c == '>' || c <= ' ' ||
					     c == 0x7f
				     ? '_'
				     : c);
	}
}

char *sink_topic_expand_nats(const char *tmpl, const char *exporter,
			     const char *workload, const char *container_id,
			     struct sf_error **err)
{
	struct sbuf b = {0};

	if (!*tmpl || strpbrk(tmpl, "*> \t") || tmpl[0] == '.' ||
	    tmpl[strlen(tmpl) - 1] == '.' || strstr(tmpl, "..")) {
		sf_usage(
			err,
			"bad NATS subject `%s`: a subject to publish to has no wildcards (* >), no spaces and no empty tokens (`..`, a leading or trailing `.`)",
			tmpl);
		return NULL;
	}
	for (const char *p = tmpl; *p; p++) {
		if (*p != '%') {
			if ((unsigned char)*p < 0x20)
				goto bad_char;
			sbuf_putc(&b, *p);
			continue;
		}
		p++;
		if (*p == 'h')
			put_token_value(&b, exporter);
		else if (*p == 'w')
			put_token_value(&b, workload);
		else if (*p == 'c')
			put_token_value(&b, container_id);
		else if (*p == '%')
			sbuf_putc(&b, '%');
		else {
			sf_usage(
				err,
				"NATS subject `%s`: unknown `%%%.1s`: use %%h (exporter), %%w (workload), %%c (container id) or %%%%",
				tmpl, p);
			goto out;
		}
	}
	sbuf_putc(&b, 0);
	if (b.len - 1 > SINK_TOPIC_MAX || strstr(b.data, "..") ||
	    b.data[b.len - 2] == '.' || b.data[0] == '.') {
		sf_usage(
			err,
			"NATS subject from `%s` is empty in a token or longer than %d bytes (a value substituted is empty?)",
			tmpl, SINK_TOPIC_MAX);
		goto out;
	}
	return b.data;
bad_char:
	sf_usage(err, "NATS subject `%s` holds a control character", tmpl);
	goto out;
out:
	sbuf_free(&b);
	return NULL;
}
