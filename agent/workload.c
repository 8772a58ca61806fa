// SPDX-License-Identifier: GPL-2.0
#include "workload.h"
#include "seccomp_record.h"

#include "filter_wl.h"
#include "sink.h"

struct workload *wl_table_add(struct wl_table *t, const char *name)
{
	struct workload *wl;
	uint32_t i, slot = 0;

	/* slot 0 means "not tracked" to the BPF side */
	for (i = 0; i < SF_MAX_SLOTS - 1; i++) {
		uint32_t s = 1 + (t->hint + i) % (SF_MAX_SLOTS - 1);

		if (!t->slots[s]) {
			slot = s;
			break;
		}
	}
	if (!slot)
		return NULL;
	/* Rotate through slots so a just-freed slot is not reused at once:
	 * late events of a removed workload then land nowhere rather than in a
	 * new stream. */
	t->hint = slot;
	wl = xzalloc(sizeof(*wl));
	wl->slot = slot;
	wl->name = xstrdup(name);
	wl->enc = encoder_find(SF_FORMAT_DEFAULT);
	wl->next = t->active;
	t->active = wl;
	t->slots[slot] = wl;
	t->count++;
	return wl;
}

struct workload *wl_table_find_cgid(struct wl_table *t, uint64_t cgid)
{
	for (struct workload *wl = t->active; wl; wl = wl->next)
		if (wl->cgid == cgid)
			return wl;
	return NULL;
}

void wl_table_remove(struct wl_table *t, struct workload *wl)
{
	struct workload **pp;

	for (pp = &t->active; *pp; pp = &(*pp)->next) {
		if (*pp == wl) {
			*pp = wl->next;
			break;
		}
	}
	t->slots[wl->slot] = NULL;
	t->count--;
	for (int i = 0; i < wl->nsinks; i++)
		sink_close(wl->sinks[i]);
	if (wl->enc && wl->enc->ops->release)
		wl->enc->ops->release(wl);
	sbuf_free(&wl->out);
	filter_wl_free(wl->filter);
	filter_free(wl->filter_own);
	free(wl->name);
	free(wl->container_id);
	free(wl->meta_json);
	free(wl->cgroup_path);
	seccomp_record_free(wl->seccomp);
	free(wl);
}

void wl_table_clear(struct wl_table *t)
{
	while (t->active)
		wl_table_remove(t, t->active);
}
