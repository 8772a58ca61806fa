// SPDX-License-Identifier: GPL-2.0
/* Daemon mode: registrations become streams. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "daemon.h"
#include "json.h"
#include "sink.h"

/* How long a stream outlives its cgroup waiting for the poststop */
#define REAP_GRACE_NS (3 * 1000000000ull)

/* Closing streams are not found: their id is free for a new container. */
static struct workload *find_container(struct daemon *d, const char *id)
{
	for (struct workload *wl = d->a->wl.active; wl; wl = wl->next)
		if (!wl->closing && wl->container_id &&
		    !strcmp(wl->container_id, id))
			return wl;
	return NULL;
}

/* A stream still writing, closing or not, holds its files and topics. */
static bool file_in_use(struct daemon *d, const char *name)
{
	for (struct workload *wl = d->a->wl.active; wl; wl = wl->next) {
		struct daemon_reg *r = d->reg[wl->slot];

		for (int i = 0; r && r->phase != DAEMON_ENDING && i < r->nfiles;
		     i++)
			if (!strcmp(r->files[i], name))
				return true;
	}
	return false;
}

static bool topic_in_use(struct daemon *d, const char *topic)
{
	for (struct workload *wl = d->a->wl.active; wl; wl = wl->next) {
		struct daemon_reg *r = d->reg[wl->slot];

		for (int i = 0;
		     r && r->phase != DAEMON_ENDING && i < r->ntopics; i++)
			if (!strcmp(r->topics[i], topic))
				return true;
	}
	return false;
}

/* Kubernetes annotations as the CRI runtimes spell them. */
static const struct {
	const char *field;
	const char *keys[3];
} k8s_fields[] = {
	{"pod_name",
	 {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name"}},
	{"pod_namespace",
	 {"io.kubernetes.cri.sandbox-namespace",
	  "io.kubernetes.pod.namespace"}},
	{"pod_uid", {"io.kubernetes.cri.sandbox-uid", "io.kubernetes.pod.uid"}},
	{"container_name",
	 {"io.kubernetes.cri.container-name", "io.kubernetes.container.name"}},
	{"image",
	 {"io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName",
	  "io.kubernetes.container.image"}},
};

static void gen_kv(yajl_gen g, const char *k, const char *v)
{
	json_gen_str(g, k);
	json_gen_str(g, v);
}

char *daemon_meta(const struct sf_msg *req)
{
	static const char *const copied[] = {
		"hostname", "args",	   "cwd",
		"root",	    "annotations", "annotations_dropped"};
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	cleanup_yajl_val yajl_val meta = NULL;
	yajl_val ann;
	bool k8s = false;

	if (req->meta_json)
		meta = json_parse(req->meta_json, "meta", NULL);
	yajl_gen_map_open(g);
	gen_kv(g, "container_id", req->container_id);
	gen_kv(g, "workload", req->workload);
	gen_kv(g, "bundle", req->bundle);
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		yajl_val v = json_get(meta, copied[i]);

		if (v) {
			json_gen_str(g, copied[i]);
			json_gen_tree(g, v);
		}
	}
	ann = json_get(meta, "annotations");
	for (size_t i = 0; i < sizeof(k8s_fields) / sizeof(k8s_fields[0]);
	     i++) {
		const char *v = NULL;

		for (int k = 0; k < 3 && k8s_fields[i].keys[k] && !v; k++)
			v = json_get_str(ann, k8s_fields[i].keys[k]);
		if (!v)
			continue;
		if (!k8s) {
			json_gen_str(g, "kubernetes");
			yajl_gen_map_open(g);
			k8s = true;
		}
		gen_kv(g, k8s_fields[i].field, v);
	}
	if (k8s)
		yajl_gen_map_close(g);
	gen_kv(g, "cgroup_path", req->cgroup_path);
	json_gen_str(g, "cgroup_id");
	yajl_gen_integer(g, (long long)req->cgroup_id);
	json_gen_str(g, "pid");
	yajl_gen_integer(g, req->pid);
	yajl_gen_map_close(g);
	return json_gen_take(g, NULL);
}

/*
 * <workload>.jsonl, or <workload>.<container id>.jsonl while another running
 * container's stream has the first; anything but [A-Za-z0-9._-] made '_',
 * never hidden.  Formats that frame a whole file (cadets: one JSON array)
 * cannot append a stream to another: <workload>.<container id>.json, and
 * with a time suffix when that exists (a stream resumed after a restart).
 */
static char *default_file_name(const char *workload, const char *id,
			       const struct encoder *enc, bool again)
{
	char *n = enc->file_prefix
			  ? (again ? xasprintf("%s.%.64s.%lld.json", workload,
					       id, (long long)time(NULL))
				   : xasprintf("%s.%.64s.json", workload, id))
		  : id ? xasprintf("%s.%.64s.jsonl", workload, id)
		       : xasprintf("%s.jsonl", workload);

	for (char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
		      *p == '-'))
			*p = '_';
	if (n[0] == '.')
		n[0] = '_';
	return n;
}

/*
 * Opens name inside the output directory only: relative to its fd, no
 * symlink followed, regular files only.  *created tells whether it is new.
 */
static struct sink *open_file_sink(struct daemon *d, struct workload *wl,
				   const char *name, bool *created,
				   struct sf_error **err)
{
	struct sink_file_conf c = {
		/* -G, --max-size, --max-files: each stream's file rotates */
		.rotate_secs = d->o->rotate_secs,
		.max_size = d->o->max_size,
		.max_files = d->o->max_files,
		.prefix = wl->enc->file_prefix,
		.separator = wl->enc->file_separator,
		.suffix = wl->enc->file_suffix,
	};
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
	struct stat st;
	int fd;

	/* checked by the protocol already; again here, where it matters */
	if (!sf_plain_file_name(name, SF_EXPORT_NAME_MAX + 8)) {
		sf_usage(err, "output file name `%.100s` is not a plain name",
			 name);
		return NULL;
	}
	fd = openat(d->out_dirfd, name, flags | O_CREAT | O_EXCL, 0640);
	*created = fd >= 0;
	if (fd < 0 && errno == EEXIST && c.prefix) {
		sf_fail(err, EEXIST,
			"format %s writes one JSON array per file, and `%s` in `%s` holds one already: choose a new " ANN_EXPORT
			"=file:NAME",
			wl->enc->name, name, d->o->output_dir);
		return NULL;
	}
	if (fd < 0 && errno == EEXIST)
		fd = openat(d->out_dirfd, name, flags);
	if (fd < 0) {
		sf_fail(err, errno, "open output file `%s` in `%s`", name,
			d->o->output_dir);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		sf_fail(err, 0, "output `%s` in `%s` is not a regular file",
			name, d->o->output_dir);
		return NULL;
	}
	fcntl(fd, F_SETFL, O_WRONLY | O_APPEND);
	return sink_file_openat(
		d->out_dirfd, name, fd,
		xasprintf("file `%s/%s`", d->o->output_dir, name), &c, err);
}

/* '%' doubled: an expanded topic handed to sink_open_spec, which expands. */
static char *topic_literal(const char *topic)
{
	char *out = xmalloc(2 * strlen(topic) + 1), *p = out;

	for (; *topic; topic++) {
		*p++ = *topic;
		if (*topic == '%')
			*p++ = '%';
	}
	*p = 0;
	return out;
}

/*
 * mqtt: the daemon's template (-t, default sfagent/%h/%w); while another
 * running stream publishes there (two replicas of one workload), the
 * container id is added as one more level.  mqtt:TOPIC: that topic (a
 * template too), refused while another stream publishes there.  Values
 * substituted cannot add levels or wildcards (sink_topic_expand).
 */
static int open_mqtt(struct daemon *d, struct workload *wl,
		     struct daemon_reg *r, const struct sf_export *e,
		     const struct sf_msg *req, struct sf_error **err)
{
	const struct sf_options *o = d->o;
	const char *tmpl = e->arg     ? e->arg
			   : o->topic ? o->topic
				      : SINK_TOPIC_DEFAULT;
	cleanup_free char *topic = NULL, *lit = NULL;

	if (!o->broker)
		return sf_usage(
			err, ANN_EXPORT
			" asks for mqtt but the agent has no broker: start it with -b HOST, or export to a file");
	topic = sink_topic_expand(tmpl, d->a->exporter, req->workload,
				  req->container_id, err);
	if (!topic)
		return sf_error_wrap(err, ANN_EXPORT);
	for (int k = 0; k < r->ntopics; k++)
		if (!strcmp(r->topics[k], topic))
			return 0; /* listed twice */
	if (topic_in_use(d, topic)) {
		cleanup_free char *t2 = NULL, *esc = NULL;

		if (e->arg)
			return sf_fail(
				err, 0,
				"MQTT topic `%s` is in use by another running container's stream: choose another " ANN_EXPORT
				"=mqtt:TOPIC",
				topic);
		esc = topic_literal(topic);
		t2 = xasprintf("%s/%%c", esc);
		free(topic);
		topic = sink_topic_expand(t2, d->a->exporter, req->workload,
					  req->container_id, err);
		if (!topic)
			return -1;
		if (topic_in_use(d, topic))
			return sf_fail(err, 0, "MQTT topic `%s` is in use",
				       topic);
	}
	lit = topic_literal(topic);
	if (sink_open_spec(d->a, wl, "mqtt", lit, err) < 0)
		return -1;
	r->topics[r->ntopics++] = steal_pointer(&topic);
	return 0;
}

static int open_sinks(struct daemon *d, struct workload *wl,
		      struct daemon_reg *r, const struct sf_msg *req,
		      bool created[], struct sf_error **err)
{
	struct sf_export_list l;
	int ret = -1;

	if (sf_export_parse(req->export_spec, &l, err) < 0)
		return -1;
	/* network sinks first: one that fails leaves no file behind */
	for (int i = 0; i < l.n; i++) {
		const struct sf_export *e = &l.e[i];

		if (e->kind == SF_EXPORT_MQTT &&
		    open_mqtt(d, wl, r, e, req, err) < 0)
			goto out;
		if (e->kind != SF_EXPORT_HTTP || r->http)
			continue;
		if (e->arg) {
			/* the agent's headers may hold credentials */
			sf_usage(
				err, ANN_EXPORT
				" `http:URL`: a container cannot choose the collector: write `http` (the agent's --http URL)");
			goto out;
		}
		if (!d->o->http_url) {
			sf_usage(
				err, ANN_EXPORT
				" asks for http but the agent has no collector: start it with --http URL, or export to a file");
			goto out;
		}
		if (sink_open_spec(d->a, wl, "http", NULL, err) < 0)
			goto out;
		r->http = true;
	}
	for (int i = 0; i < l.n; i++) {
		const struct sf_export *e = &l.e[i];
		cleanup_free char *name = NULL;
		struct sink *s;
		bool dup = false;

		if (e->kind != SF_EXPORT_FILE)
			continue;
		name = e->arg ? xstrdup(e->arg)
			      : default_file_name(req->workload,
						  wl->enc->file_prefix
							  ? req->container_id
							  : NULL,
						  wl->enc, false);
		if (!e->arg && file_in_use(d, name)) {
			free(name);
			name = default_file_name(req->workload,
						 req->container_id, wl->enc,
						 false);
		}
		if (!e->arg && wl->enc->file_prefix &&
		    faccessat(d->out_dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) ==
			    0) {
			free(name);
			name = default_file_name(req->workload,
						 req->container_id, wl->enc,
						 true);
		}
		for (int k = 0; k < r->nfiles; k++)
			dup |= !strcmp(r->files[k], name);
		if (dup)
			continue;
		if (file_in_use(d, name)) {
			sf_fail(err, 0,
				"output file `%s` is in use by another running container's stream: choose another " ANN_EXPORT
				"=file:NAME",
				name);
			goto out;
		}
		s = open_file_sink(d, wl, name, &created[r->nfiles], err);
		if (!s) {
			if (created[r->nfiles])
				unlinkat(d->out_dirfd, name, 0);
			goto out;
		}
		wl->sinks[wl->nsinks++] = s;
		r->files[r->nfiles++] = steal_pointer(&name);
	}
	ret = 0;
out:
	sf_export_list_free(&l);
	return ret;
}

/* The cgroup must be the one named, below the root, and not hold the agent. */
static int check_cgroup(struct daemon *d, const struct sf_msg *req,
			struct sf_error **err)
{
	cleanup_free char *dir = xasprintf("%s%s", d->cg_mnt, req->cgroup_path);
	size_t n = strlen(req->cgroup_path);
	struct stat st;

	if (stat(dir, &st) < 0)
		return sf_fail(err, errno, "cgroup `%s`", req->cgroup_path);
	if (!S_ISDIR(st.st_mode) || st.st_ino != req->cgroup_id)
		return sf_usage(err, "cgroup `%s` does not have id %llu",
				req->cgroup_path,
				(unsigned long long)req->cgroup_id);
	if (!strncmp(d->self_cgroup, req->cgroup_path, n) &&
	    (d->self_cgroup[n] == 0 || d->self_cgroup[n] == '/'))
		return sf_usage(
			err,
			"cgroup `%s` holds the agent itself: refusing to track it",
			req->cgroup_path);
	return 0;
}

static void emit_restart_gap(struct daemon *d, struct workload *wl)
{
	/* How much was missed is unknown: the probes were gone with the agent. */
	wl->enc->stream_missed(&wl->out, wl, ++wl->seq, sf_now_ns(), 0,
			       "agent_restart");
	stream_flush(d->a, wl);
}

int daemon_register(struct daemon *d, const struct sf_msg *req, bool resumed,
		    struct sf_error **err)
{
	struct workload *wl = find_container(d, req->container_id);
	struct daemon_reg *r;
	bool created[SF_EXPORT_MAX] = {0};
	bool ok;

	if (wl) {
		if (wl->cgid == req->cgroup_id)
			return 0; /* a retried or repeated hook */
		return sf_usage(
			err,
			"container `%s` is already registered with another cgroup",
			req->container_id);
	}
	if (check_cgroup(d, req, err) < 0)
		return -1;
	wl = wl_table_find_cgid(&d->a->wl, req->cgroup_id);
	if (wl && !wl->closing)
		return sf_usage(
			err,
			"cgroup `%s` is already tracked for container `%s`",
			req->cgroup_path,
			wl->container_id ? wl->container_id : wl->name);
	wl = agent_workload_new(d->a, req->workload, err);
	if (!wl)
		return -1;
	if (req->format) {
		/* checked by the protocol; the table is the agent's */
		wl->enc = encoder_find(req->format);
		if (!wl->enc) {
			wl_table_remove(&d->a->wl, wl);
			return sf_usage(
				err,
				ANN_FORMAT
				" `%s` is not a format of this agent: use %s",
				req->format, encoder_names());
		}
	}
	r = xzalloc(sizeof(*r));
	wl->container_id = xstrdup(req->container_id);
	wl->cgid = req->cgroup_id;
	wl->cgroup_path = xstrdup(req->cgroup_path);
	wl->meta_json = daemon_meta(req);
	ok = open_sinks(d, wl, r, req, created, err) == 0;
	if (ok) {
		/* before the cgroup is tracked: its first events count too */
		r->budget = budget_new(d->o, &d->budget_dir, wl);
		wl->budget = r->budget;
		ok = stream_begin(d->a, wl, resumed, err) == 0;
	}
	if (!ok) {
		/* nothing half-created: files this registration made go too */
		for (int i = 0; i < r->nfiles; i++)
			if (created[i])
				unlinkat(d->out_dirfd, r->files[i], 0);
		wl->budget = NULL;
		wl->cgid = 0;
		wl_table_remove(&d->a->wl, wl);
		daemon_reg_free(r);
		return -1;
	}
	d->reg[wl->slot] = r;
	if (resumed)
		emit_restart_gap(d, wl);
	log_info("container `%s` registered: workload `%s`, cgroup `%s`%s",
		 req->container_id, req->workload, req->cgroup_path,
		 resumed ? " (resumed)" : "");
	return 0;
}

/* How long an UNREGISTER waits for network sinks before draining them in
 * the background: a broker nearby acknowledges in milliseconds. */
#define CLOSE_GRACE_NS (100 * 1000000ull)

static void finish(struct daemon *d, struct workload *wl)
{
	daemon_close(d, wl, CLOSE_GRACE_NS);
}

void daemon_unregister(struct daemon *d, const char *container_id)
{
	struct workload *wl = find_container(d, container_id);

	if (!wl) {
		log_debug("unregister `%s`: not registered", container_id);
		return;
	}
	log_info("container `%s` unregistered", container_id);
	finish(d, wl);
}

/* Every stream drains at once, so the wait is one drain timeout in all. */
void daemon_finish_all(struct daemon *d)
{
	struct workload *wl, *next;

	for (wl = d->a->wl.active; wl; wl = next) {
		next = wl->next; /* daemon_close may free wl */
		if (!wl->closing)
			daemon_close(d, wl, 0);
	}
	while (d->a->wl.active) {
		daemon_close_poll(d);
		if (d->a->wl.active)
			nanosleep(&(struct timespec){.tv_nsec = 5000000}, NULL);
	}
	daemon_close_wait();
}

void daemon_reap(struct daemon *d)
{
	uint64_t now = sf_monotonic_ns();
	struct workload *wl, *next;

	for (wl = d->a->wl.active; wl; wl = next) {
		cleanup_free char *dir =
			xasprintf("%s%s", d->cg_mnt, wl->cgroup_path);
		struct daemon_reg *r = d->reg[wl->slot];
		struct stat st;

		next = wl->next;
		if (!r || wl->closing)
			continue;
		if (stat(dir, &st) == 0 && st.st_ino == wl->cgid) {
			r->gone_since = 0;
			continue;
		}
		/* runc removes the cgroup just before it runs poststop: give
		 * the UNREGISTER time to arrive first */
		if (!r->gone_since) {
			r->gone_since = now;
			continue;
		}
		if (now - r->gone_since < REAP_GRACE_NS)
			continue;
		/* No poststop came (hook not configured for it, runtime crash):
		 * the cgroup is gone, so is every process that could add to it. */
		log_warn(
			"container `%s`: cgroup `%s` is gone but no poststop came: ending its stream",
			wl->container_id, wl->cgroup_path);
		finish(d, wl);
	}
}
