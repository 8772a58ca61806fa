// SPDX-License-Identifier: GPL-2.0
/* --tree: the process tree of a stream, from its fork, exec and exit
 * records, with each process's most important events by priority. */
#include "view_int.h"

#include <stdlib.h>
#include <string.h>

#include "filter.h"

#define TOP_EVENTS 3

struct tnode {
	long long pid, ppid;
	char comm[32];
	char argv[512];
	char end[300]; /* "exit 0", "killed by SIGTERM", "" while running */
	struct {
		unsigned prio, times;
		char text[400];
	} top[TOP_EVENTS];
	int ntop;
};

struct view_tree {
	struct tnode *n;
	size_t count, cap;
	unsigned long long events;
};

struct view_tree *view_tree_new(void)
{
	return xzalloc(sizeof(struct view_tree));
}

void view_tree_free(struct view_tree *t)
{
	if (!t)
		return;
	free(t->n);
	free(t);
}

static struct tnode *node(struct view_tree *t, long long pid, long long ppid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->n[i].pid == pid) {
			if (t->n[i].ppid < 0 && ppid >= 0)
				t->n[i].ppid = ppid;
			return &t->n[i];
		}
	if (t->count == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 32;
		t->n = xrealloc(t->n, t->cap * sizeof(*t->n));
	}
	memset(&t->n[t->count], 0, sizeof(t->n[0]));
	t->n[t->count].pid = pid;
	t->n[t->count].ppid = ppid;
	return &t->n[t->count++];
}

static unsigned type_priority(const char *type)
{
	for (unsigned ty = 1; ty < FILTER_MAX_TYPES; ty++) {
		const char *n = view_type_name(ty);

		if (n && !strcmp(n, type))
			return filter_type_priority(ty);
	}
	return 0;
}

/* keeps the TOP_EVENTS highest priorities, the first of equals */
static void top_add(struct tnode *n, unsigned prio, const char *text)
{
	int at = n->ntop;

	for (int i = 0; i < n->ntop; i++)
		if (n->top[i].prio == prio && !strcmp(n->top[i].text, text)) {
			n->top[i].times++;
			return;
		}
	while (at > 0 && n->top[at - 1].prio < prio)
		at--;
	if (at >= TOP_EVENTS)
		return;
	if (n->ntop < TOP_EVENTS)
		n->ntop++;
	memmove(&n->top[at + 1], &n->top[at],
		(size_t)(n->ntop - 1 - at) * sizeof(n->top[0]));
	n->top[at].prio = prio;
	n->top[at].times = 1;
	snprintf(n->top[at].text, sizeof(n->top[at].text), "%s", text);
}

void view_tree_add(struct view_tree *t, const char *type, yajl_val obj,
		   bool quixote, yajl_val qbody)
{
	long long pid = view_num(obj, "pid", -1),
		  ppid = view_num(obj, "ppid", -1);
	const char *comm = json_get_str(obj, quixote ? "process" : "comm");
	char object[300], text[400];
	struct tnode *n;

	if (!strncmp(type, "stream.", 7) || pid < 0)
		return;
	t->events++;
	n = node(t, pid, ppid);
	if (comm)
		snprintf(n->comm, sizeof(n->comm), "%s", comm);
	view_text_object(object, sizeof(object), type, obj, qbody);
	if (!strcmp(type, "process.fork") &&
	    !YAJL_IS_TRUE(json_get(obj, "thread"))) {
		struct tnode *c = node(t, view_num(obj, "child_pid", -1), pid);

		if (!c->comm[0] && comm)
			snprintf(c->comm, sizeof(c->comm), "%s", comm);
	} else if (!strcmp(type, "process.exec")) {
		snprintf(n->argv, sizeof(n->argv), "%s", object);
	} else if (!strcmp(type, "process.exit")) {
		if (!YAJL_IS_TRUE(json_get(obj, "thread")))
			snprintf(n->end, sizeof(n->end), "%s", object);
	} else {
		snprintf(text, sizeof(text), "%s %s", type, object);
		top_add(n, type_priority(type), text);
	}
}

static bool is_node(const struct view_tree *t, long long pid)
{
	for (size_t i = 0; i < t->count; i++)
		if (t->n[i].pid == pid)
			return true;
	return false;
}

static void print_node(const struct view_tree *t, FILE *out, size_t i,
		       int depth)
{
	const struct tnode *n = &t->n[i];
	char line[64];

	if (depth > 64)
		return;
	for (int d = 0; d < depth; d++)
		fputs("  ", out);
	snprintf(line, sizeof(line), "%lld ", n->pid);
	fputs(line, out);
	view_text_put(out, n->comm[0] ? n->comm : "?");
	if (n->argv[0]) {
		fputc(' ', out);
		view_text_put(out, n->argv);
	}
	fputs(" (", out);
	view_text_put(out, n->end[0] ? n->end : "running");
	fputs(")\n", out);
	for (int k = 0; k < n->ntop; k++) {
		for (int d = 0; d <= depth; d++)
			fputs("  ", out);
		fprintf(out, "* %u ", n->top[k].prio);
		view_text_put(out, n->top[k].text);
		if (n->top[k].times > 1)
			fprintf(out, " (x%u)", n->top[k].times);
		fputc('\n', out);
	}
	for (size_t c = 0; c < t->count; c++)
		if (c != i && t->n[c].ppid == n->pid)
			print_node(t, out, c, depth + 1);
}

void view_tree_print(struct view_tree *t, FILE *out, const char *key)
{
	const char *nl = strchr(key, '\n');

	cleanup_free char *workload =
		xstrndup(key, nl ? (size_t)(nl - key) : strlen(key));

	fputs("stream ", out);
	view_text_put(out, workload);
	if (nl && nl[1]) {
		fputs(" container ", out);
		view_text_put(out, nl + 1);
	}
	fprintf(out, ": %zu processes, %llu events\n", t->count, t->events);
	for (size_t i = 0; i < t->count; i++)
		if (!is_node(t, t->n[i].ppid))
			print_node(t, out, i, 1);
}
