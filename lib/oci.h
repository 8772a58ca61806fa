/* SPDX-License-Identifier: GPL-2.0 */
/*
 * OCI runtime state (what a hook reads on stdin) and bundle config.json, and
 * the io.sfagent.* annotations.  Everything here is untrusted input: sizes are
 * capped, strings checked, and the process environment is never read (it holds
 * secrets).
 */
#ifndef SF_OCI_H
#define SF_OCI_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

#define OCI_STATE_MAX	   (256u << 10) /* stdin cap */
#define OCI_CONFIG_MAX	   (4u << 20) /* config.json cap */
#define OCI_ID_MAX	   1024 /* container id */
#define SF_WORKLOAD_MAX	   128 /* io.sfagent.workload */
#define SF_EXPORT_NAME_MAX 200 /* file:NAME */
#define SF_EXPORT_MAX	   4 /* entries in io.sfagent.export (SF_MAX_SINKS) */

#define ANN_EXPORT   "io.sfagent.export"
#define ANN_WORKLOAD "io.sfagent.workload"
#define ANN_FAIL     "io.sfagent.fail"
#define ANN_FORMAT   "io.sfagent.format"
#define ANN_FILTER   "io.sfagent.filter" /* agent/filter, docs/filters.md */

struct oci_kv {
	char *key, *value;
};

struct oci_state {
	char *id;
	char *status;
	char *bundle;
	pid_t pid; /* 0 when absent (poststop) */
	struct oci_kv *ann;
	size_t nann;
};

struct oci_config {
	char *hostname;
	char **args;
	size_t nargs;
	char *cwd;
	char *root_path;
	struct oci_kv *ann;
	size_t nann;
};

/* Reads fd to EOF within timeout_ms, at most max bytes (more is an error),
 * NUL-terminated. */
int oci_read_input(int fd, size_t max, int timeout_ms, char **out, size_t *len,
		   struct sf_error **err);
/* need_pid: a missing or non-positive pid is an error. */
int oci_state_parse(const char *buf, bool need_pid, struct oci_state *st,
		    struct sf_error **err);
void oci_state_free(struct oci_state *st);
/* bundle/config.json */
int oci_config_load(const char *bundle, struct oci_config *c,
		    struct sf_error **err);
/* config.json text (NUL-terminated); path names it in messages */
int oci_config_parse(const char *buf, const char *path, struct oci_config *c,
		     struct sf_error **err);
void oci_config_free(struct oci_config *c);

const char *oci_kv_get(const struct oci_kv *kv, size_t n, const char *key);

/* A string fit for names and ids: non-empty, at most max bytes, printable
 * ASCII (no control characters, no quotes games in logs). */
bool sf_name_printable(const char *s, size_t max);
/* A plain file name: no '/', not "." or "..", no leading '.', bounded. */
bool sf_plain_file_name(const char *s, size_t max);

#define SF_TOPIC_MAX 256 /* mqtt:TOPIC */
/* mqtt:TOPIC: printable ASCII, bounded, no wildcard, not a $SYS-like topic,
 * '%' only in the template's %h %w %c %%. */
bool sf_mqtt_topic_valid(const char *t);
/* nats:SUBJECT: printable, no wildcards (* >), spaces or empty tokens, %
 * only in %h %w %c %%. */
bool sf_nats_subject_valid(const char *t);

/* io.sfagent.export: a comma-separated list of typed entries. */
enum sf_export_kind {
	SF_EXPORT_FILE,
	SF_EXPORT_MQTT,
	SF_EXPORT_HTTP,
	SF_EXPORT_NATS
};
struct sf_export {
	enum sf_export_kind kind;
	char *arg; /* file: NAME or NULL (default); mqtt: TOPIC; http: never */
};
struct sf_export_list {
	struct sf_export e[SF_EXPORT_MAX];
	int n;
};
const char *sf_export_kind_name(enum sf_export_kind k);
/* "file", "file:NAME", "mqtt[:TOPIC]", "http", comma separated. */
int sf_export_parse(const char *spec, struct sf_export_list *l,
		    struct sf_error **err);
void sf_export_list_free(struct sf_export_list *l);

/* io.sfagent.format: a format of lib/formats.h the hook may ask for; NULL
 * (absent) is fine: the agent's -F. */
int sf_format_check(const char *v, struct sf_error **err);

/* io.sfagent.fail: true for "closed" */
int sf_fail_policy_parse(const char *v, bool *closed, struct sf_error **err);
/*
 * Kubernetes identity, trusted only from the keys the runtime sets itself.
 * The runtime is told by keys only it writes: CRI-O's io.kubernetes.cri-o.*
 * (CRI-O passes every pod annotation through, so there io.kubernetes.cri.*
 * could be the pod's own), containerd's io.kubernetes.cri.container-type or
 * sandbox-id (containerd passes only the pod annotations its runtime handler
 * lists: io.sfagent.*).  Neither: no Kubernetes identity at all.
 */
enum sf_k8s_runtime { SF_K8S_NONE, SF_K8S_CONTAINERD, SF_K8S_CRIO };
enum sf_k8s_runtime sf_k8s_runtime_of(const struct oci_kv *kv, size_t n);
const char *sf_k8s_runtime_name(enum sf_k8s_runtime rt);
/* field: pod_name, pod_namespace, pod_uid, container_name, image */
const char *sf_k8s_field(const struct oci_kv *kv, size_t n,
			 enum sf_k8s_runtime rt, const char *field);
/* The i-th field name, NULL past the last. */
const char *sf_k8s_field_name(size_t i);

/* The workload name for a container: io.sfagent.workload, the Kubernetes
 * container name (from a trusted key), or the container id.  Checked. */
int sf_workload_from_annotations(const struct oci_kv *kv, size_t n,
				 const char *id, char **out,
				 struct sf_error **err);

#endif
