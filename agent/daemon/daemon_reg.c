// SPDX-License-Identifier: GPL-2.0
/* Daemon mode: registrations become streams. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>

#include "daemon.h"
#include "seccomp_record.h"
#include "watch.h"
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

static yajl_gen_status gen_kv(yajl_gen g, const char *k, const char *v)
{
	return json_gen_str(g, k) | json_gen_str(g, v);
}

/* The annotations object as key/value pointers (no copies). */
static size_t ann_kv(yajl_val ann, struct oci_kv **out)
{
	size_t n = YAJL_IS_OBJECT(ann) ? ann->u.object.len : 0, k = 0;

	*out = xzalloc((n ? n : 1) * sizeof(**out));
	for (size_t i = 0; i < n; i++)
		if (YAJL_IS_STRING(ann->u.object.values[i])) {
			(*out)[k].key = (char *)ann->u.object.keys[i];
			(*out)[k++].value =
				YAJL_GET_STRING(ann->u.object.values[i]);
		}
	return k;
}

/* Who chose the workload name: "annotation" (the pod, with
 * io.sfagent.workload), "kubernetes" (the runtime's own keys) or
 * "container_id".  Unknown (annotations dropped) counts as the pod's. */
static const char *workload_source(const struct sf_msg *req,
				   const struct oci_kv *kv, size_t n)
{
	const char *w_ann = oci_kv_get(kv, n, ANN_WORKLOAD);
	const char *w_k8s =
		sf_k8s_field(kv, n, sf_k8s_runtime_of(kv, n), "container_name");

	if (w_ann && !strcmp(w_ann, req->workload))
		return "annotation";
	if (w_k8s && !strcmp(w_k8s, req->workload))
		return "kubernetes";
	if (!strncmp(req->container_id, req->workload, SF_WORKLOAD_MAX) &&
	    strlen(req->workload) ==
		    strnlen(req->container_id, SF_WORKLOAD_MAX))
		return "container_id";
	return "annotation";
}

/*
 * The workload part of a stream's default names (files, %w in topics and
 * subjects): the name itself when the runtime chose it, <workload>.<container
 * id> when the pod asserted it, so that a pod claiming another workload's
 * name never joins that workload's file or topic, running or not.
 */
static char *stream_name(const struct sf_msg *req, bool *pod_named)
{
	cleanup_yajl_val yajl_val meta =
		req->meta_json ? json_parse(req->meta_json, "meta", NULL)
			       : NULL;
	cleanup_free struct oci_kv *kv = NULL;
	size_t n = ann_kv(json_get(meta, "annotations"), &kv);

	/* a pod asserting its own container id claims nothing */
	*pod_named = !strcmp(workload_source(req, kv, n), "annotation") &&
		     strcmp(req->workload, req->container_id);
	if (!*pod_named)
		return xstrdup(req->workload);
	return xasprintf("%s.%s", req->workload, req->container_id);
}

/*
 * Where the metadata came from.  "kubernetes" only from the keys the runtime
 * sets itself (lib/oci.h), with "kubernetes_runtime"; "workload_source" says
 * whether the pod chose the workload name (annotation) or the runtime did
 * (kubernetes, container_id); "pod_asserted" lists the meta keys whose values
 * the pod chose: nothing there is identity.
 */
static yajl_gen_status gen_provenance(yajl_gen g, const struct sf_msg *req,
				      yajl_val ann, yajl_val meta)
{
	static const char *const pod_keys[] = {"hostname", "args", "cwd",
					       "annotations"};
	cleanup_free struct oci_kv *kv = NULL;
	size_t n = ann_kv(ann, &kv);
	enum sf_k8s_runtime rt = sf_k8s_runtime_of(kv, n);
	const char *src;
	yajl_gen_status st = yajl_gen_status_ok;
	bool k8s = false;

	for (size_t i = 0; sf_k8s_field_name(i); i++) {
		const char *v = sf_k8s_field(kv, n, rt, sf_k8s_field_name(i));

		if (!v)
			continue;
		if (!k8s) {
			st |= json_gen_str(g, "kubernetes");
			st |= yajl_gen_map_open(g);
			k8s = true;
		}
		st |= gen_kv(g, sf_k8s_field_name(i), v);
	}
	if (k8s) {
		st |= yajl_gen_map_close(g);
		st |= gen_kv(g, "kubernetes_runtime", sf_k8s_runtime_name(rt));
	}
	src = workload_source(req, kv, n);
	st |= gen_kv(g, "workload_source", src);
	st |= json_gen_str(g, "pod_asserted");
	st |= yajl_gen_array_open(g);
	if (!strcmp(src, "annotation"))
		st |= json_gen_str(g, "workload");
	for (size_t i = 0; i < sizeof(pod_keys) / sizeof(pod_keys[0]); i++)
		if (json_get(meta, pod_keys[i]))
			st |= json_gen_str(g, pod_keys[i]);
	return st | yajl_gen_array_close(g);
}

static char *meta_gen(const struct sf_msg *req, const struct export_notes *nt,
		      bool copy)
{
	static const char *const copied[] = {
		"hostname", "args", "args_truncated", "fields_truncated",
		"cwd",	    "root", "annotations",    "annotations_dropped"};
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	cleanup_yajl_val yajl_val meta = NULL;
	yajl_gen_status st;

	if (req->meta_json && copy)
		meta = json_parse(req->meta_json, "meta", NULL);
	st = yajl_gen_map_open(g);
	st |= gen_kv(g, "container_id", req->container_id);
	st |= gen_kv(g, "workload", req->workload);
	st |= gen_kv(g, "bundle", req->bundle);
	for (size_t i = 0; i < sizeof(copied) / sizeof(copied[0]); i++) {
		yajl_val v = json_get(meta, copied[i]);

		if (v) {
			st |= json_gen_str(g, copied[i]);
			st |= json_gen_tree(g, v);
		}
	}
	st |= gen_provenance(g, req, json_get(meta, "annotations"), meta);
	if (!copy) {
		st |= json_gen_str(g, "meta_dropped");
		st |= yajl_gen_bool(g, 1);
	}
	if (nt && nt->n) {
		st |= json_gen_str(g, "export_notes");
		st |= yajl_gen_array_open(g);
		for (int i = 0; i < nt->n; i++)
			st |= json_gen_str(g, nt->m[i]);
		st |= yajl_gen_array_close(g);
	}
	st |= gen_kv(g, "cgroup_path", req->cgroup_path);
	st |= json_gen_str(g, "cgroup_id");
	st |= yajl_gen_integer(g, (long long)req->cgroup_id);
	st |= json_gen_str(g, "pid");
	st |= yajl_gen_integer(g, req->pid);
	st |= yajl_gen_map_close(g);
	if (st != yajl_gen_status_ok) {
		log_warn(
			"container `%s`: its metadata cannot be written (%s): stream.start says meta_dropped",
			req->container_id, json_gen_status_str(st));
		return NULL;
	}
	return json_gen_take(g, NULL);
}

/* The hook's metadata as received; when it cannot be written back, what the
 * agent knows itself, with "meta_dropped" (never a silent loss). */
char *daemon_meta(const struct sf_msg *req, const struct export_notes *nt)
{
	char *m = meta_gen(req, nt, true);

	if (!m)
		m = meta_gen(req, nt, false);
	if (!m)
		abort(); /* only the agent's own checked fields are left */
	return m;
}

/*
 * <workload>.jsonl, or <workload>.<container id>.jsonl when the pod asserted
 * the workload name (stream_name) or while another running container's
 * stream has the first; anything but [A-Za-z0-9._-] made '_',
 * never hidden.  Formats that frame a whole file (cadets: one JSON array)
 * cannot append a stream to another: <workload>.<container id>.json, and
 * with a time suffix when that exists (a stream resumed after a restart).
 */
/* The workload part of a default name: the whole name stays within the
 * limit open_file_sink checks (a 128-byte workload, a 64-byte id and a time
 * suffix did not, and such a container went untracked). */
#define NAME_WORKLOAD_MAX 100

static char *default_file_name(const char *workload, const char *id,
			       const struct encoder *enc, bool again)
{
	int w = NAME_WORKLOAD_MAX;
	/* one document per file: JSON (cadets), or Avro (sysflow) */
	const char *ext = enc->ops->new_file ? "avro" : "json";
	char *n =
		enc->file_prefix
			? (again ? xasprintf("%.*s.%.64s.%lld.%s", w, workload,
					     id, (long long)time(NULL), ext)
				 : xasprintf("%.*s.%.64s.%s", w, workload, id,
					     ext))
		: id ? xasprintf("%.*s.%.64s.jsonl", w, workload, id)
		     : xasprintf("%.*s.jsonl", w, workload);

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
/*
 * Whether an existing file is the stream's own: its owner mark
 * (SINK_FILE_OWNER, written by the file sink on every file it opens) is the
 * stream's name.  A file without a mark (another agent version's, the
 * operator's, or on a file system without user xattrs) is nobody's.
 */
static bool file_is_owned_by(int fd, const char *owner)
{
	char buf[512];
	ssize_t n = fgetxattr(fd, SINK_FILE_OWNER, buf, sizeof(buf));

	return n >= 0 && (size_t)n == strlen(owner) && !memcmp(buf, owner, n);
}

/* explicit: a file:NAME the container chose, which may append only to a
 * file of its own stream (owner: the stream's name, docs/hook.md) */
static struct sink *open_file_sink(struct daemon *d, struct workload *wl,
				   const char *name, const char *owner,
				   bool explicit, bool *created,
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
		.new_file = encoder_new_file_fn(wl->enc),
		.new_file_ctx = wl,
		.count_records = wl->enc->ops->count_records,
		.owner = owner,
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
	/* a hard link planted in the directory would have the stream written
	 * into a file elsewhere */
	if (st.st_nlink > 1) {
		close(fd);
		sf_fail(err, 0,
			"output `%s` in `%s` has %ju hard links: refusing to write through it (remove it)",
			name, d->o->output_dir, (uintmax_t)st.st_nlink);
		return NULL;
	}
	/* another stream's file: a pod naming it must not join that stream */
	if (explicit && !*created && !file_is_owned_by(fd, owner)) {
		close(fd);
		sf_fail(err, 0,
			"output file `%s` in `%s` belongs to another stream (or has no owner mark): choose another " ANN_EXPORT
			"=file:NAME",
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
 * %w is the stream name (r->name: <workload>.<container id> when the pod
 * asserted the workload name).
 * mqtt: the daemon's template (-t, default sfagent/%h/%w); while another
 * running stream publishes there (two replicas of one workload), the
 * container id is added as one more level.  mqtt:TOPIC: ROOT/%w/%c/TOPIC
 * (--topic-root, default sfagent/%h; TOPIC is a template too), refused
 * (the default file instead) while another stream publishes there.  Values
 * substituted cannot add levels or wildcards (sink_topic_expand).
 */
static int open_mqtt(struct daemon *d, struct workload *wl,
		     struct daemon_reg *r, const struct sf_export *e,
		     const struct sf_msg *req, struct sf_error **err)
{
	const struct sf_options *o = d->o;
	cleanup_free char *topic = NULL, *lit = NULL, *own = NULL;
	const char *tmpl = o->topic ? o->topic : SINK_TOPIC_DEFAULT;

	/* a container's own topic is below the agent's root and its own
	 * workload and container id: it can add levels, never leave them
	 * (another node's, another stream's or an unrelated topic) */
	if (e->arg) {
		own = xasprintf("%s/%%w/%%c/%s",
				o->topic_root ? o->topic_root
					      : SINK_TOPIC_ROOT_DEFAULT,
				e->arg);
		tmpl = own;
	}

	if (!o->broker)
		return sf_usage(
			err, ANN_EXPORT
			" asks for mqtt but the agent has no broker: start it with -b HOST, or export to a file");
	topic = sink_topic_expand(tmpl, d->a->exporter, r->name,
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
		topic = sink_topic_expand(t2, d->a->exporter, r->name,
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

/* An export this agent cannot serve: said in stream.start and in the log,
 * and the stream goes to the default file instead (the container stays
 * watched: what a pod asks for never opts it out). */
static void export_fallback(struct daemon_reg *r, struct export_notes *nt,
			    const struct sf_msg *req, const struct sf_export *e,
			    struct sf_error **err)
{
	char *note = xasprintf(
		"export `%s%s%.100s` cannot be served (%s): the stream goes to the agent's default file instead",
		sf_export_kind_name(e->kind), e->arg ? ":" : "",
		e->arg ? e->arg : "", *err ? (*err)->msg : "?");

	log_warn("container `%s`: %s", req->container_id, note);
	sf_error_free(*err);
	*err = NULL;
	if (nt->n < SF_EXPORT_MAX)
		nt->m[nt->n++] = note;
	else
		free(note);
	r->fallback = true;
}

/* nats: the agent's --nats-subject (default sfagent.%h.%w); nats:SUBJECT:
 * <that subject>.<container id>.SUBJECT (SUBJECT a template too).  One per
 * stream. */
static int open_nats(struct daemon *d, struct workload *wl,
		     struct daemon_reg *r, const struct sf_export *e,
		     struct sf_error **err)
{
	const char *tmpl = d->o->nats_subject ? d->o->nats_subject
					      : SINK_NATS_DEFAULT;
	cleanup_free char *subject = NULL, *lit = NULL, *own = NULL;

	if (r->nats)
		return 0;
	if (!d->o->nats_url)
		return sf_usage(
			err, ANN_EXPORT
			" asks for nats but the agent has no NATS servers: start it with --nats URL, or export to a file");
	/* a container's own subject stays below its stream's subject, as
	 * mqtt:TOPIC stays below ROOT/%w/%c: it can add tokens, never publish
	 * to another node's, another stream's or an unrelated subject */
	if (e->arg)
		own = xasprintf("%s.%%c.%s", tmpl, e->arg);
	/* expanded here: %w is the stream's name (r->name), not wl->name */
	subject = sink_topic_expand_nats(own ? own : tmpl, d->a->exporter,
					 r->name, wl->container_id, err);
	if (!subject)
		return sf_error_wrap(err, ANN_EXPORT);
	lit = topic_literal(subject);
	if (sink_open_spec(d->a, wl, "nats", lit, err) < 0)
		return -1;
	r->nats = true;
	return 0;
}

static int open_network(struct daemon *d, struct workload *wl,
			struct daemon_reg *r, const struct sf_export *e,
			const struct sf_msg *req, struct sf_error **err)
{
	/* an Avro container file is one document: no messages of it
	 * (docs/formats.md); the stream falls back to its file */
	if (wl->enc->ops->new_file)
		return sf_usage(
			err,
			ANN_FORMAT
			" `%s` writes files only: export it to a file (" ANN_EXPORT
			"=file)",
			wl->enc->name);
	if (e->kind == SF_EXPORT_MQTT)
		return open_mqtt(d, wl, r, e, req, err);
	if (e->kind == SF_EXPORT_NATS)
		return open_nats(d, wl, r, e, err);
	if (e->kind != SF_EXPORT_HTTP || r->http)
		return 0;
	if (e->arg)
		/* the agent's headers may hold credentials */
		return sf_usage(
			err, ANN_EXPORT
			" `http:URL`: a container cannot choose the collector: write `http` (the agent's --http URL)");
	if (!d->o->http_url)
		return sf_usage(
			err, ANN_EXPORT
			" asks for http but the agent has no collector: start it with --http URL, or export to a file");
	if (sink_open_spec(d->a, wl, "http", NULL, err) < 0)
		return -1;
	r->http = true;
	return 0;
}

/* file (arg NULL: the default name) or file:NAME */
static int open_file_export(struct daemon *d, struct workload *wl,
			    struct daemon_reg *r, const char *arg,
			    const struct sf_msg *req, bool created[],
			    struct sf_error **err)
{
	cleanup_free char *name = NULL;
	struct sink *s;

	/* a pod-asserted name always carries the container id (r->name) */
	name = arg ? xstrdup(arg)
		   : default_file_name(req->workload,
				       wl->enc->file_prefix || r->pod_named
					       ? req->container_id
					       : NULL,
				       wl->enc, false);
	if (!arg && file_in_use(d, name)) {
		free(name);
		name = default_file_name(req->workload, req->container_id,
					 wl->enc, false);
	}
	if (!arg && wl->enc->file_prefix &&
	    faccessat(d->out_dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		free(name);
		name = default_file_name(req->workload, req->container_id,
					 wl->enc, true);
	}
	for (int k = 0; k < r->nfiles; k++)
		if (!strcmp(r->files[k], name))
			return 0; /* listed twice */
	if (file_in_use(d, name))
		return sf_fail(
			err, 0,
			"output file `%s` is in use by another running container's stream: choose another " ANN_EXPORT
			"=file:NAME",
			name);
	s = open_file_sink(d, wl, name, r->name, arg != NULL,
			   &created[r->nfiles], err);
	if (!s)
		return -1;
	wl->sinks[wl->nsinks++] = s;
	r->files[r->nfiles++] = steal_pointer(&name);
	return 0;
}

static int open_sinks(struct daemon *d, struct workload *wl,
		      struct daemon_reg *r, const struct sf_msg *req,
		      bool created[], struct export_notes *nt,
		      struct sf_error **err)
{
	struct sf_export_list l;
	bool has_default = false;
	int ret = -1;

	if (sf_export_parse(req->export_spec, &l, err) < 0)
		return -1;
	/* network sinks first: one that fails leaves no file behind */
	for (int i = 0; i < l.n; i++)
		if (l.e[i].kind != SF_EXPORT_FILE &&
		    open_network(d, wl, r, &l.e[i], req, err) < 0)
			export_fallback(r, nt, req, &l.e[i], err);
	for (int i = 0; i < l.n; i++) {
		const struct sf_export *e = &l.e[i];

		if (e->kind != SF_EXPORT_FILE)
			continue;
		has_default |= !e->arg;
		if (open_file_export(d, wl, r, e->arg, req, created, err) < 0) {
			if (!e->arg)
				goto out; /* nothing left to fall back to */
			export_fallback(r, nt, req, e, err);
		}
	}
	if (r->fallback && !has_default &&
	    open_file_export(d, wl, r, NULL, req, created, err) < 0)
		goto out;
	ret = 0;
out:
	sf_export_list_free(&l);
	return ret;
}

/* "/a/b" is level 2: the root is level 0, as for
 * bpf_get_current_ancestor_cgroup_id() */
static int cg_level(const char *path)
{
	int n = 0;

	for (; *path; path++)
		n += *path == '/' && path[1];
	return n;
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
	/* the BPF filter looks at ancestor levels 0..SF_MAX_CGROUP_DEPTH-1:
	 * an ACK for a deeper cgroup would be a stream that never gets an
	 * event */
	if (cg_level(req->cgroup_path) >= SF_MAX_CGROUP_DEPTH)
		return sf_fail(
			err, 0,
			"cgroup `%.200s` is %d levels deep: the agent tracks cgroups up to level %d (run the container in a shallower cgroup)",
			req->cgroup_path, cg_level(req->cgroup_path),
			SF_MAX_CGROUP_DEPTH - 1);
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
	wl->enc->ops->stream_missed(&wl->out, wl, ++wl->seq, sf_now_ns(), 0,
				    "agent_restart");
	stream_flush(d->a, wl);
}

int daemon_register(struct daemon *d, const struct sf_msg *req, bool resumed,
		    struct sf_error **err)
{
	struct workload *wl = find_container(d, req->container_id);
	struct daemon_reg *r;
	bool created[SF_EXPORT_MAX + 1] = {0};
	struct export_notes notes = {0};
	cleanup_free char *meta = NULL;
	struct filter *own = NULL;
	int admit;

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
	/* --select and io.sfagent.filter, before anything is made */
	meta = daemon_meta(req, NULL);
	admit = filter_wl_admit(d->select, req->workload, req->container_id,
				meta, &own, err);
	if (admit <= 0)
		return admit;
	wl = agent_workload_new(d->a, req->workload, err);
	if (!wl) {
		filter_free(own);
		return -1;
	}
	wl->filter_own = own;
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
		if (encoder_load(wl->enc, err) < 0) {
			wl_table_remove(&d->a->wl, wl);
			return -1;
		}
	}
	r = xzalloc(sizeof(*r));
	r->name = stream_name(req, &r->pod_named);
	wl->container_id = xstrdup(req->container_id);
	wl->cgid = req->cgroup_id;
	wl->cgroup_path = xstrdup(req->cgroup_path);
	if (open_sinks(d, wl, r, req, created, &notes, err) == 0)
		wl->meta_json = daemon_meta(req, &notes);
	wl->tap = d->watch ? watch_hub_tap(d->watch) : NULL;
	export_notes_free(&notes);
	if (wl->meta_json) {
		/* before the cgroup is tracked: its first events count too */
		r->budget = budget_new(d->o, &d->budget_dir, wl);
		wl->budget = r->budget;
	}
	if (wl->meta_json)
		wl->seccomp = seccomp_record_from_meta(
			req->meta_json, d->out_dirfd,
			r->nfiles ? r->files[0] : NULL, wl->name,
			req->container_id, resumed);
	if (d->test_track_delay_ms)
		nanosleep(
			&(struct timespec){
				.tv_sec = d->test_track_delay_ms / 1000,
				.tv_nsec = (d->test_track_delay_ms % 1000) *
					   1000000L},
			NULL);
	if (!wl->meta_json || stream_begin(d->a, wl, resumed, err) < 0) {
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

void daemon_register_late(struct daemon *d, const char *container_id)
{
	struct workload *wl = find_container(d, container_id);
	cleanup_free char *dir = NULL;
	struct stat st;

	d->late++;
	if (!wl)
		return;
	dir = xasprintf("%s%s", d->cg_mnt, wl->cgroup_path);
	if (stat(dir, &st) < 0 || st.st_ino != wl->cgid) {
		log_warn(
			"container `%s`: its hook gave up and its cgroup is gone: ending its stream",
			container_id);
		daemon_close(d, wl, CLOSE_GRACE_NS);
		return;
	}
	wl->enc->ops->stream_missed(&wl->out, wl, ++wl->seq, sf_now_ns(), 0,
				    "hook_gave_up");
	stream_flush(d->a, wl);
}

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
