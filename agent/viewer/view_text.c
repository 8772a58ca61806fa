// SPDX-License-Identifier: GPL-2.0
#include "view_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

void view_text_time(char *buf, size_t n, long long ns)
{
	time_t s = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ns % 1000000000);
}

/* A key's value as text: strings as they are, numbers, argv joined. */
static void value_text(char *buf, size_t n, yajl_val v)
{
	buf[0] = 0;
	if (YAJL_IS_STRING(v)) {
		snprintf(buf, n, "%s", YAJL_GET_STRING(v));
	} else if (YAJL_IS_NUMBER(v)) {
		snprintf(buf, n, "%s", YAJL_GET_NUMBER(v));
	} else if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		snprintf(buf, n, "%s", YAJL_IS_TRUE(v) ? "true" : "false");
	} else if (YAJL_IS_ARRAY(v)) {
		size_t o = 0;

		for (size_t i = 0; i < v->u.array.len && o + 1 < n; i++) {
			int k = snprintf(buf + o, n - o, "%s", i ? " " : "");

			o += (size_t)k;
			value_text(buf + o, n - o, v->u.array.values[i]);
			o += strlen(buf + o);
		}
	}
}

static const char *str(yajl_val o, const char *k)
{
	return json_get_str(o, k);
}

long long view_num(yajl_val o, const char *k, long long dflt)
{
	yajl_val v = json_get(o, k);

	if (YAJL_IS_INTEGER(v))
		return YAJL_GET_INTEGER(v);
	if (YAJL_IS_STRING(v))
		return strtoll(v->u.string, NULL, 10);
	return dflt;
}

static const char *find_key(yajl_val o, const char *key, int depth)
{
	if (!YAJL_IS_OBJECT(o) || depth > 8)
		return NULL;
	for (size_t i = 0; i < o->u.object.len; i++) {
		const char *r;

		if (!strcmp(o->u.object.keys[i], key) &&
		    YAJL_IS_STRING(o->u.object.values[i]))
			return YAJL_GET_STRING(o->u.object.values[i]);
		r = find_key(o->u.object.values[i], key, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

void view_text_object(char *buf, size_t n, const char *type, yajl_val obj,
		      yajl_val qbody)
{
	char argv[1024];
	const char *p;

	buf[0] = 0;
	if (qbody) {
		p = find_key(qbody, "pathname", 0);
		snprintf(buf, n, "%s", p ? p : "");
		return;
	}
	if (!strcmp(type, "process.exec")) {
		value_text(argv, sizeof(argv), json_get(obj, "argv"));
		snprintf(buf, n, "%s [%s]", str(obj, "filename") ?: "", argv);
	} else if (!strcmp(type, "process.fork")) {
		snprintf(buf, n, "child %lld", view_num(obj, "child_pid", 0));
	} else if (!strcmp(type, "process.exit")) {
		if (str(obj, "sig"))
			snprintf(buf, n, "killed by %s", str(obj, "sig"));
		else
			snprintf(buf, n, "exit %lld",
				 view_num(obj, "exit_code", 0));
	} else if ((p = str(obj, "path"))) {
		if (str(obj, "newpath"))
			snprintf(buf, n, "%s -> %s", p, str(obj, "newpath"));
		else
			snprintf(buf, n, "%s", p);
	} else if ((p = str(obj, "addr"))) {
		if (json_get(obj, "port"))
			snprintf(buf, n, "%s:%lld", p,
				 view_num(obj, "port", 0));
		else
			snprintf(buf, n, "%s", p);
	} else if (json_get(obj, "target_pid")) {
		snprintf(buf, n, "%s to %lld", str(obj, "sig") ?: "",
			 view_num(obj, "target_pid", 0));
	} else if ((p = str(obj, "cap_name"))) {
		snprintf(buf, n, "%s", p);
	} else if (!strcmp(type, "stream.missed")) {
		snprintf(buf, n, "%lld missed (%s)", view_num(obj, "count", 0),
			 str(obj, "reason") ?: "");
	} else if (!strcmp(type, "stream.end")) {
		snprintf(buf, n, "events %lld, missed %lld",
			 view_num(obj, "events", 0),
			 view_num(obj, "missed", 0));
	} else if (!strcmp(type, "stream.start")) {
		snprintf(buf, n, "mode %s, exporter %s", str(obj, "mode") ?: "",
			 str(obj, "exporter") ?: "");
	} else if ((p = str(obj, "family"))) {
		snprintf(buf, n, "%s", p);
	} else {
		/* the newer classes (docs/events.md): their main key */
		static const char *const keys[] = {
			"target", "new_root",  "name",	"request", "cmd",
			"fstype", "type_name", "flags", NULL,
		};

		for (int i = 0; keys[i]; i++)
			if ((p = str(obj, keys[i]))) {
				snprintf(buf, n, "%s", p);
				break;
			}
	}
}

/* @key of the template: computed or the record's own */
static void placeholder(char *buf, size_t n, const char *key, const char *type,
			yajl_val obj, yajl_val qbody, bool quixote)
{
	if (!strcmp(key, "time"))
		view_text_time(buf, n, view_num(obj, "ts", 0));
	else if (!strcmp(key, "type"))
		snprintf(buf, n, "%s", type);
	else if (!strcmp(key, "object"))
		view_text_object(buf, n, type, obj, qbody);
	else if (quixote && !strcmp(key, "comm"))
		snprintf(buf, n, "%s", str(obj, "process") ?: "");
	else
		value_text(buf, n, json_get(obj, key));
}

void view_text_put(FILE *out, const char *s)
{
	/* the container chose these bytes: no terminal escapes, no fake
	 * lines */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\')
			fprintf(out, "\\x%02x", c);
		else
			fputc(c, out);
	}
}

#define DEFAULT_TEMPLATE "@time @workload @pid @comm @type @object @ret"

static void text_line(FILE *out, const char *template, const char *type,
		      yajl_val obj, yajl_val qbody, bool quixote)
{
	const char *t = template ? template : DEFAULT_TEMPLATE;
	char val[2048], key[64];

	while (*t) {
		size_t k = 0;

		if (*t != '@') {
			fputc(*t++, out);
			continue;
		}
		t++;
		while ((t[k] >= 'a' && t[k] <= 'z') || t[k] == '_' ||
		       (t[k] >= '0' && t[k] <= '9'))
			k++;
		if (!k) {
			fputc('@', out);
			continue;
		}
		snprintf(key, sizeof(key), "%.*s", (int)k, t);
		t += k;
		placeholder(val, sizeof(val), key, type, obj, qbody, quixote);
		if (!template && !strcmp(key, "ret")) {
			if (val[0])
				fputs("ret=", out);
			view_text_put(out, val);
		} else {
			view_text_put(out, val[0] ? val : "-");
		}
	}
}

void view_text_line(FILE *out, const char *template, const char *type,
		    yajl_val obj, yajl_val qbody, bool quixote)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	if (!m)
		abort();
	text_line(m, template, type, obj, qbody, quixote);
	fclose(m);
	while (len && buf[len - 1] == ' ')
		len--;
	fwrite(buf, 1, len, out);
	fputc('\n', out);
	free(buf);
}
