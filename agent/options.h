/* SPDX-License-Identifier: GPL-2.0 */
/* Every option of sfagent, in one struct passed to whoever needs it. */
#ifndef SF_OPTIONS_H
#define SF_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum sf_mode {
	SF_MODE_NONE,
	SF_MODE_CONTAINER, /* -w NAME: run bundle NAME with runc */
	SF_MODE_PROCESS, /* -P: an interactive shell */
	SF_MODE_EXECUTE, /* -X: PROGRAM ARGS... */
	SF_MODE_ROOT, /* -R: host-wide */
	SF_MODE_SHOW, /* -S: list bundles */
	SF_MODE_DAEMON, /* -D: per-host agent for the hook */
	SF_MODE_INJECT, /* --inject-hook BUNDLE: add sfhook to config.json */
	SF_MODE_COUNT /* not a mode: how many there are */
};

struct sf_options {
	enum sf_mode mode;
	const char *workload; /* -w */
	const char *output; /* -o, "-" for stdout */
	const char *broker; /* -b */
	int port; /* -p */
	const char *topic; /* -t */
	const char *topic_root; /* --topic-root (-D: container-chosen topics) */
	unsigned queue_size; /* -q */
	const char *exporter; /* -e, default: hostname */
	const char *format; /* -F */
	const char *debug_file; /* -d */
	int verbose; /* -v, repeatable */
	bool follow; /* -f (root mode) */
	unsigned duration; /* --duration, seconds (root mode) */
	uint32_t ringbuf_bytes; /* --ringbuf-size */
	const char *bundle_dir; /* -B, SFAGENT_BUNDLES */
	const char *btf_path; /* --btf (tests, unusual kernels) */
	const char *btf_cache; /* --btf-cache DIR, "none"; NULL: default */

	/* sinks (issue 4): MQTT, HTTP, file rotation */
	int mqtt_qos; /* --mqtt-qos 0|1 */
	const char *mqtt_user; /* --mqtt-user */
	const char *mqtt_password_file; /* --mqtt-password-file */
	const char *mqtt_cafile; /* --mqtt-cafile: TLS */
	const char *mqtt_cert; /* --mqtt-cert */
	const char *mqtt_key; /* --mqtt-key */
	const char *mqtt_client_id; /* --mqtt-client-id */
	unsigned mqtt_batch; /* --mqtt-batch: records per message */
	unsigned drain_timeout; /* --drain-timeout SECS at exit */
	const char *spool_dir; /* --spool-dir; NULL: $SFAGENT_SPOOL_DIR or
				  /var/lib/sfagent/spool */
	uint64_t spool_max; /* --spool-max BYTES; 0: no spool */
	uint64_t spool_total; /* --spool-total BYTES: all sinks; 0: no bound */
	/* Not an option: the spool a replay's sink is to use, KEY or KEY-N
	 * (sink_leftover.c, on a copy of the options); NULL: its own. */
	const char *spool_key;
	const char *http_url; /* --http */
	unsigned http_batch; /* --http-batch */
	unsigned http_interval_ms; /* --http-interval */
	const char *http_headers[16]; /* --http-header, repeatable */
	int http_nheaders;
	const char *http_cafile; /* --http-cafile */
	const char *nats_url; /* --nats URL[,URL...] */
	const char *nats_subject; /* --nats-subject TEMPLATE */
	const char *nats_creds; /* --nats-creds FILE */
	const char *nats_user; /* --nats-user */
	const char *nats_password_file; /* --nats-password-file */
	const char *nats_cafile, *nats_cert, *nats_key; /* TLS */
	const char *nats_stream; /* --nats-stream NAME */
	bool nats_create_stream; /* --nats-create-stream */
	unsigned nats_replicas; /* --nats-replicas N */
	unsigned nats_batch; /* --nats-batch N: records per message */
	unsigned rotate_secs; /* -G */
	unsigned flow_interval; /* --flow-interval SECS (-F sysflow) */
	uint64_t max_size; /* --max-size MB, in bytes */
	unsigned max_files; /* --max-files */

	/* daemon and hook (issue 3) */
	const char *socket_path; /* --socket (daemon, --inject-hook) */
	const char *output_dir; /* --output-dir (daemon) */
	const char *inject_bundle; /* --inject-hook BUNDLE_DIR */
	const char *hook_path; /* --hook-path (--inject-hook) */
	/* filters (docs/filters.md): the expression, or @FILE */
	const char *filter; /* --filter: the stream's */
	const char *file_filter; /* --file-filter, ANDed with --filter */
	const char *mqtt_filter; /* --mqtt-filter */
	const char *http_filter; /* --http-filter */
	const char *select; /* --select (daemon): containers tracked */

	/* daemon budgets per stream (issue 10), 0: no limit */
	uint64_t stream_rate; /* --stream-rate: events/s */
	uint64_t stream_burst; /* --stream-burst: events */
	uint64_t stream_max_bytes; /* --stream-max-bytes */
	uint64_t output_max_bytes; /* --output-max-bytes SIZE */
	unsigned output_max_pct; /* --output-max-bytes N%: of the file system */
	/* seccomp (agent/seccomp/) */
	const char *seccomp_profile; /* -X/-w --seccomp-profile FILE */
	const char *seccomp_dir; /* --seccomp-dir: base profiles (-D) */
	int hash_mode; /* --hash: enum exehash_mode, default exec */
	bool no_sandbox; /* --no-sandbox: -D without its own seccomp filter */
	bool sandbox_selftest; /* --sandbox-selftest (tests only) */
	bool sandbox_list; /* --sandbox-list */
	/* watchers, status, metrics (agent/daemon/watch.c, metrics.c) */
	const char *watch_socket; /* --watch-socket */
	const char *access_file; /* --access */
	const char *metrics; /* --metrics [ADDR:]PORT */
	unsigned watch_queue_kb; /* --watch-queue */
	bool help, version;
	const char *doc; /* --doc NAME: print a document made from the options */
	int argc; /* PROGRAM ARGS... */
	char **argv;
};

/* Parses argv into o (the option table in cli.c, described in cli.h).  Usage
 * errors come back with status SF_EXIT_USAGE. */
int sf_parse_args(int argc, char **argv, struct sf_options *o,
		  struct sf_error **err);
const char *sf_mode_name(enum sf_mode m);

#endif
