// SPDX-License-Identifier: GPL-2.0
/*
 * --inject-hook's rewrite of config.json: parse(inject(x)) keeps x (every
 * key, in order, every value as written) plus the two hooks; the rewrite of
 * the rewrite says "already present".
 */
#include "fuzz.h"
#include "json.h"
#include "run_inject.h"

static char *gen(yajl_val v)
{
	cleanup_yajl_gen yajl_gen g = json_gen_new();

	fuzz_assert(json_gen_tree(g, v) == yajl_gen_status_ok);
	return json_gen_take(g, NULL);
}

static void check_same(yajl_val a, yajl_val b)
{
	char *x = gen(a), *y = gen(b);

	fuzz_assert(!strcmp(x, y));
	free(x);
	free(y);
}

static int has(yajl_val stage, const char *hook)
{
	for (size_t i = 0; YAJL_IS_ARRAY(stage) && i < stage->u.array.len;
	     i++) {
		const char *p = json_get_str(stage->u.array.values[i], "path");

		if (p && !strcmp(p, hook))
			return 1;
	}
	return 0;
}

/* hooks: every other key kept, each stage's old entries first, in order */
static void check_hooks(yajl_val old, yajl_val new, const char *hook)
{
	fuzz_assert(YAJL_IS_OBJECT(new));
	fuzz_assert(has(json_get(new, "prestart"), hook) &&
		    has(json_get(new, "poststop"), hook));
	for (size_t i = 0; YAJL_IS_OBJECT(old) && i < old->u.object.len; i++) {
		const char *k = old->u.object.keys[i];
		yajl_val o = old->u.object.values[i], n = json_get(new, k);

		fuzz_assert(n);
		if (strcmp(k, "prestart") && strcmp(k, "poststop")) {
			check_same(o, n);
			continue;
		}
		for (size_t j = 0; YAJL_IS_ARRAY(o) && j < o->u.array.len; j++)
			check_same(o->u.array.values[j], n->u.array.values[j]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct run_inject in = {.hook = "/fuzz/sfhook",
				      .socket = "/fuzz/s.sock"};
	struct sf_error *err = NULL;
	yajl_val x, y;
	char *buf = fuzz_str(data, size), *text, *again;
	bool present;
	size_t k = 0;

	text = run_inject_text(buf, "config.json", &in, &present, &err);
	fuzz_check_error(err);
	sf_error_free(err);
	err = NULL;
	if (!text) {
		free(buf);
		return 0;
	}
	x = json_parse(buf, "x", NULL);
	y = json_parse(text, "inject(x)", &err);
	fuzz_assert(x && y && YAJL_IS_OBJECT(y));
	for (size_t i = 0; i < x->u.object.len; i++, k++) {
		const char *key = x->u.object.keys[i];

		fuzz_assert(k < y->u.object.len &&
			    !strcmp(key, y->u.object.keys[k]));
		if (!strcmp(key, "hooks"))
			check_hooks(x->u.object.values[i],
				    y->u.object.values[k], in.hook);
		else
			check_same(x->u.object.values[i],
				   y->u.object.values[k]);
	}
	if (!json_get(x, "hooks")) {
		fuzz_assert(k + 1 == y->u.object.len &&
			    !strcmp(y->u.object.keys[k], "hooks"));
		check_hooks(NULL, y->u.object.values[k], in.hook);
	}
	again = run_inject_text(text, "config.json", &in, &present, &err);
	fuzz_assert(!again && present);
	yajl_tree_free(x);
	yajl_tree_free(y);
	free(text);
	free(buf);
	return 0;
}
