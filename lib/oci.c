// SPDX-License-Identifier: GPL-2.0
#include "oci.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "formats.h"
#include "json.h"

int oci_read_input(int fd, size_t max, int timeout_ms, char **out, size_t *len,
		   struct sf_error **err)
{
	cleanup_free char *buf = xmalloc(max + 2);
	size_t used = 0;
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (timeout_ms % 1000) * 1000000L;
	/* read one byte past the cap to tell "exactly max" from "more" */
	while (used <= max) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000 +
		       (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return sf_usage(
				err,
				"the OCI state on stdin did not end within %d ms: the runtime writes it and closes stdin",
				timeout_ms);
		n = read(fd, buf + used, max + 1 - used);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return sf_fail(err, errno,
				       "read the OCI state from stdin");
		}
		if (n == 0)
			break;
		used += n;
	}
	if (used > max)
		return sf_usage(
			err,
			"the OCI state on stdin is larger than %zu KiB: refusing it (a runtime's state is a few KiB)",
			max >> 10);
	buf[used] = 0;
	if (memchr(buf, 0, used))
		return sf_usage(err,
				"the OCI state on stdin contains a NUL byte");
	*out = steal_pointer(&buf);
	*len = used;
	return 0;
}

bool sf_name_printable(const char *s, size_t max)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if (n >= max || (unsigned char)*s < 0x20 ||
		    (unsigned char)*s > 0x7e)
			return false;
	return true;
}

bool sf_plain_file_name(const char *s, size_t max)
{
	return sf_name_printable(s, max) && !strchr(s, '/') && s[0] != '.' &&
	       !strchr(s, '\\');
}

const char *oci_kv_get(const struct oci_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return kv[i].value;
	return NULL;
}

static void kv_free(struct oci_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

/* "annotations": string -> string; anything else is an error. */
static int parse_annotations(yajl_val obj, const char *what,
			     struct oci_kv **out, size_t *nout,
			     struct sf_error **err)
{
	struct oci_kv *kv;
	size_t n;

	*out = NULL;
	*nout = 0;
	if (!obj || YAJL_IS_NULL(obj))
		return 0;
	if (!YAJL_IS_OBJECT(obj))
		return sf_usage(err, "%s: \"annotations\" is not an object",
				what);
	n = obj->u.object.len;
	kv = xzalloc(sizeof(*kv) * (n ? n : 1));
	for (size_t i = 0; i < n; i++) {
		yajl_val v = obj->u.object.values[i];

		if (!YAJL_IS_STRING(v)) {
			kv_free(kv, i);
			return sf_usage(
				err, "%s: annotation `%.100s` is not a string",
				what, obj->u.object.keys[i]);
		}
		kv[i].key = xstrdup(obj->u.object.keys[i]);
		kv[i].value = xstrdup(YAJL_GET_STRING(v));
	}
	*out = kv;
	*nout = n;
	return 0;
}

int oci_state_parse(const char *buf, bool need_pid, struct oci_state *st,
		    struct sf_error **err)
{
	cleanup_yajl_val yajl_val root = NULL;
	const char *id, *status, *bundle;
	yajl_val pid;

	memset(st, 0, sizeof(*st));
	if (!buf[strspn(buf, " \t\r\n")])
		return sf_usage(
			err,
			"no OCI state on stdin (empty input): sfhook is an OCI hook and reads the container state the runtime writes to its stdin");
	root = json_parse(buf, "the OCI state on stdin", err);
	if (!root)
		return -1;
	if (!YAJL_IS_OBJECT(root))
		return sf_usage(err,
				"the OCI state on stdin is not a JSON object");
	id = json_get_str(root, "id");
	if (!id)
		return sf_usage(err,
				"the OCI state on stdin has no string \"id\"");
	if (!sf_name_printable(id, OCI_ID_MAX) || strchr(id, '/'))
		return sf_usage(
			err,
			"the OCI state has an invalid container id (want 1-%d printable characters, no '/')",
			OCI_ID_MAX);
	status = json_get_str(root, "status");
	bundle = json_get_str(root, "bundle");
	if (json_get(root, "bundle") && !bundle)
		return sf_usage(err,
				"the OCI state's \"bundle\" is not a string");
	if (bundle && (bundle[0] != '/' || strlen(bundle) >= PATH_MAX))
		return sf_usage(
			err,
			"the OCI state's \"bundle\" `%.200s` is not an absolute path",
			bundle);
	pid = json_get(root, "pid");
	if (pid) {
		if (!YAJL_IS_INTEGER(pid))
			return sf_usage(
				err, "the OCI state's \"pid\" is not a number");
		if (YAJL_GET_INTEGER(pid) <= 0 ||
		    YAJL_GET_INTEGER(pid) > INT_MAX)
			return sf_usage(
				err,
				"the OCI state's \"pid\" %lld is out of range",
				YAJL_GET_INTEGER(pid));
		st->pid = YAJL_GET_INTEGER(pid);
	} else if (need_pid) {
		return sf_usage(
			err,
			"the OCI state on stdin has no \"pid\" (a prestart or createRuntime state has one)");
	}
	if (parse_annotations(json_get(root, "annotations"), "the OCI state",
			      &st->ann, &st->nann, err) < 0)
		return -1;
	st->id = xstrdup(id);
	st->status = status ? xstrdup(status) : NULL;
	st->bundle = bundle ? xstrdup(bundle) : NULL;
	return 0;
}

void oci_state_free(struct oci_state *st)
{
	free(st->id);
	free(st->status);
	free(st->bundle);
	kv_free(st->ann, st->nann);
	memset(st, 0, sizeof(*st));
}

bool sf_mqtt_topic_valid(const char *t)
{
	if (!sf_name_printable(t, SF_TOPIC_MAX) || strpbrk(t, "+#") ||
	    t[0] == '$')
		return false;
	for (; *t; t++) {
		if (*t != '%')
			continue;
		t++;
		if (*t != 'h' && *t != 'w' && *t != 'c' && *t != '%')
			return false;
	}
	return true;
}

bool sf_nats_subject_valid(const char *t)
{
	size_t n = strlen(t);

	if (!sf_name_printable(t, SF_TOPIC_MAX) || strpbrk(t, "*> ") ||
	    t[0] == '.' || t[n - 1] == '.' || strstr(t, ".."))
		return false;
	for (; *t; t++)
		if (*t == '%' && !strchr("hwc%", *++t))
			return false;
	return true;
}

const char *sf_export_kind_name(enum sf_export_kind k)
{
	static const char *const names[] = {"file", "mqtt", "http", "nats"};

	return names[k];
}

static int export_entry(const char *ent, struct sf_export *e,
			struct sf_error **err)
{
	const char *colon = strchr(ent, ':');
	size_t klen = colon ? (size_t)(colon - ent) : strlen(ent);
	const char *arg = colon ? colon + 1 : NULL;

	if (klen == 4 && strncmp(ent, "file", 4) == 0) {
		e->kind = SF_EXPORT_FILE;
		if (arg && !sf_plain_file_name(arg, SF_EXPORT_NAME_MAX))
			return sf_usage(
				err,
				ANN_EXPORT
				" `file:%.100s`: the file name must be a plain name inside the agent's output directory (no '/', no leading '.', printable, at most %d bytes)",
				arg, SF_EXPORT_NAME_MAX);
	} else if (klen == 4 && strncmp(ent, "mqtt", 4) == 0) {
		e->kind = SF_EXPORT_MQTT;
		if (arg && !sf_mqtt_topic_valid(arg))
			return sf_usage(
				err,
				ANN_EXPORT
				" `mqtt:%.100s`: the topic must be printable ASCII, at most %d bytes, without wildcards (+ #), not start with `$`, and use %% only in %%h, %%w, %%c or %%%%",
				arg, SF_TOPIC_MAX);
	} else if (klen == 4 && strncmp(ent, "nats", 4) == 0) {
		e->kind = SF_EXPORT_NATS;
		if (arg && !sf_nats_subject_valid(arg))
			return sf_usage(
				err,
				ANN_EXPORT
				" `nats:%.100s`: the subject must be printable ASCII, at most %d bytes, without wildcards (* >), spaces or empty tokens, and use %% only in %%h, %%w, %%c or %%%%",
				arg, SF_TOPIC_MAX);
	} else if (klen == 4 && strncmp(ent, "http", 4) == 0) {
		e->kind = SF_EXPORT_HTTP;
		/* the agent's --http-header may carry credentials: the
		 * collector is the agent's choice, never a container's */
		if (arg)
			return sf_usage(
				err,
				ANN_EXPORT
				" `http:%.100s`: a container cannot choose the collector: write `http` (the agent's --http URL)",
				arg);
	} else {
		return sf_usage(
			err,
			ANN_EXPORT
			": unknown export kind `%.*s`: use file, file:NAME, mqtt[:TOPIC], http or nats[:SUBJECT]",
			(int)(klen > 64 ? 64 : klen), ent);
	}
	if (arg && !*arg)
		return sf_usage(err,
				ANN_EXPORT " `%.100s`: empty value after ':'",
				ent);
	e->arg = arg ? xstrdup(arg) : NULL;
	return 0;
}

int sf_export_parse(const char *spec, struct sf_export_list *l,
		    struct sf_error **err)
{
	cleanup_free char *copy = NULL;
	char *p, *ent;

	memset(l, 0, sizeof(*l));
	if (!spec)
		spec = "file";
	if (strlen(spec) > 4096)
		return sf_usage(err, ANN_EXPORT " is longer than 4096 bytes");
	copy = xstrdup(spec);
	for (p = copy; p;) {
		ent = p;
		p = strchr(p, ',');
		if (p)
			*p++ = 0;
		ent += strspn(ent, " ");
		for (char *t = ent + strlen(ent); t > ent && t[-1] == ' ';)
			*--t = 0;
		if (!*ent) {
			sf_export_list_free(l);
			return sf_usage(err,
					ANN_EXPORT
					" `%.100s`: empty entry in the list",
					spec);
		}
		if (l->n == SF_EXPORT_MAX) {
			sf_export_list_free(l);
			return sf_usage(err,
					ANN_EXPORT ": more than %d entries",
					SF_EXPORT_MAX);
		}
		if (export_entry(ent, &l->e[l->n], err) < 0) {
			sf_export_list_free(l);
			return -1;
		}
		l->n++;
	}
	return 0;
}

void sf_export_list_free(struct sf_export_list *l)
{
	for (int i = 0; i < l->n; i++)
		free(l->e[i].arg);
	l->n = 0;
}

int sf_format_check(const char *v, struct sf_error **err)
{
	const struct sf_format *f = formats_find(v);

	if (!v || (f && f->hook))
		return 0;
	return sf_usage(err, ANN_FORMAT " `%.64s` is invalid: use one of %s", v,
			SF_FORMAT_LIST);
}

int sf_fail_policy_parse(const char *v, bool *closed, struct sf_error **err)
{
	if (!v || strcmp(v, "open") == 0) {
		*closed = false;
		return 0;
	}
	if (strcmp(v, "closed") == 0) {
		*closed = true;
		return 0;
	}
	return sf_usage(
		err,
		ANN_FAIL
		" `%.64s` is invalid: use `open` (start the container when the agent is unreachable) or `closed` (refuse to start it)",
		v);
}

int sf_workload_from_annotations(const struct oci_kv *kv, size_t n,
				 const char *id, char **out,
				 struct sf_error **err)
{
	const char *w = oci_kv_get(kv, n, ANN_WORKLOAD);

	if (w) {
		if (!sf_name_printable(w, SF_WORKLOAD_MAX))
			return sf_usage(
				err,
				ANN_WORKLOAD
				" is invalid: want 1-%d printable ASCII characters",
				SF_WORKLOAD_MAX);
		*out = xstrdup(w);
		return 0;
	}
	w = sf_k8s_field(kv, n, sf_k8s_runtime_of(kv, n), "container_name");
	if (w && sf_name_printable(w, SF_WORKLOAD_MAX)) {
		*out = xstrdup(w);
		return 0;
	}
	*out = xstrndup(id, SF_WORKLOAD_MAX);
	return 0;
}

/* The keys each runtime sets itself, field by field (k8s_fields order). */
static const char *const k8s_field_names[] = {
	"pod_name", "pod_namespace", "pod_uid", "container_name", "image"};
static const char *const k8s_keys[][5] = {
	[SF_K8S_CONTAINERD] = {"io.kubernetes.cri.sandbox-name",
			       "io.kubernetes.cri.sandbox-namespace",
			       "io.kubernetes.cri.sandbox-uid",
			       "io.kubernetes.cri.container-name",
			       "io.kubernetes.cri.image-name"},
	[SF_K8S_CRIO] = {"io.kubernetes.pod.name",
			 "io.kubernetes.pod.namespace", "io.kubernetes.pod.uid",
			 "io.kubernetes.container.name",
			 "io.kubernetes.cri-o.ImageName"},
};

enum sf_k8s_runtime sf_k8s_runtime_of(const struct oci_kv *kv, size_t n)
{
	bool cri = false;

	for (size_t i = 0; i < n; i++) {
		if (!strncmp(kv[i].key, "io.kubernetes.cri-o.", 20))
			return SF_K8S_CRIO;
		cri |= !strcmp(kv[i].key, "io.kubernetes.cri.container-type") ||
		       !strcmp(kv[i].key, "io.kubernetes.cri.sandbox-id");
	}
	return cri ? SF_K8S_CONTAINERD : SF_K8S_NONE;
}

const char *sf_k8s_runtime_name(enum sf_k8s_runtime rt)
{
	return rt == SF_K8S_CONTAINERD ? "containerd"
	       : rt == SF_K8S_CRIO     ? "cri-o"
				       : NULL;
}

const char *sf_k8s_field(const struct oci_kv *kv, size_t n,
			 enum sf_k8s_runtime rt, const char *field)
{
	if (rt == SF_K8S_NONE)
		return NULL;
	for (size_t f = 0;
	     f < sizeof(k8s_field_names) / sizeof(k8s_field_names[0]); f++)
		if (!strcmp(field, k8s_field_names[f]))
			return oci_kv_get(kv, n, k8s_keys[rt][f]);
	return NULL;
}

const char *sf_k8s_field_name(size_t i)
{
	return i < sizeof(k8s_field_names) / sizeof(k8s_field_names[0])
		       ? k8s_field_names[i]
		       : NULL;
}
