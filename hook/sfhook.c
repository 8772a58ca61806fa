// SPDX-License-Identifier: GPL-2.0
/*
 * sfhook: the OCI hook.  At prestart/createRuntime it tags the container's
 * cgroup v2 directory and registers the container with the per-host agent,
 * waiting for the agent's ACK (the cgroup is tracked by then) before the
 * runtime may start the container's process.  At poststop it unregisters.
 *
 * Exit status: 0 done (or, with io.sfagent.fail=open, the agent could not be
 * reached: one warning line); 1 environment (agent refused or unreachable with
 * fail=closed, container process gone, bundle unreadable); 2 bad input (state,
 * annotations, options).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "cgroup.h"
#include "json.h"
#include "oci.h"
#include "proto.h"
#include "xattr_names.h"

#define PROG		   "sfhook"
#define TIMEOUT_DEFAULT_MS 2000
#define TIMEOUT_MAX_MS	   60000

enum stage { STAGE_NONE, STAGE_REGISTER, STAGE_UNREGISTER };

struct hook {
	const char *socket;
	int timeout_ms;
	const char *stage_arg;
	struct oci_state st;
	bool fail_closed;
};

static void usage(FILE *f)
{
	fputs("Usage: sfhook [--socket PATH] [--timeout MS] [STAGE] < STATE\n"
	      "OCI hook for sfagent: reads the container state on stdin.\n"
	      "STAGE: prestart | createRuntime (register) | poststop (unregister);\n"
	      "       default: from the state's status.\n"
	      "  --socket PATH  agent socket (default " SF_SOCKET_DEFAULT ")\n"
	      "  --timeout MS   how long to wait for the agent (default 2000, at most 60000)\n"
	      "Annotations: io.sfagent.export=file|file:NAME|mqtt|mqtt:TOPIC|http[,...],\n"
	      "             io.sfagent.format=json|quixote|cadets, io.sfagent.workload=NAME,\n"
	      "             io.sfagent.fail=open|closed\n",
	      f);
}

static int parse_args(int argc, char **argv, struct hook *h,
		      struct sf_error **err)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	char *end;
	long v;
	int c;

	h->socket = SF_SOCKET_DEFAULT;
	h->timeout_ms = TIMEOUT_DEFAULT_MS;
	opterr = 0;
	/* GNU order: options may follow the stage (prestart --socket PATH, as
	 * runc users write it in config.json); "+" and taking the stage here
	 * make that hold even with POSIXLY_CORRECT set */
	while (optind < argc) {
		c = getopt_long(argc, argv, "+", opts, NULL);
		if (c == -1) {
			/* after "--" nothing is an option */
			bool dashdash = !strcmp(argv[optind - 1], "--");

			if (optind >= argc)
				break;
			if (!h->stage_arg)
				h->stage_arg = argv[optind++];
			else
				dashdash = true;
			if (dashdash && optind < argc)
				return sf_usage(
					err,
					"unexpected argument `%s` (see --help)",
					argv[optind]);
			continue;
		}
		switch (c) {
		case 's':
			if (!*optarg)
				return sf_usage(err, "--socket needs a path");
			h->socket = optarg;
			break;
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 ||
			    v > TIMEOUT_MAX_MS)
				return sf_usage(
					err, "bad --timeout `%s`: want 1-%d ms",
					optarg, TIMEOUT_MAX_MS);
			h->timeout_ms = v;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("sfhook %s\n", SF_VERSION);
			exit(0);
		default:
			return sf_usage(err, "unknown option `%s` (see --help)",
					argv[optind - 1]);
		}
	}
	return 0;
}

static int stage_of(const struct hook *h, enum stage *s, struct sf_error **err)
{
	const char *a = h->stage_arg;

	if (a) {
		if (!strcmp(a, "prestart") || !strcmp(a, "createRuntime"))
			*s = STAGE_REGISTER;
		else if (!strcmp(a, "poststop"))
			*s = STAGE_UNREGISTER;
		else
			return sf_usage(
				err,
				"stage `%.64s` is not handled: configure sfhook for prestart (or createRuntime) and poststop",
				a);
		return 0;
	}
	a = h->st.status;
	if (a && (!strcmp(a, "creating") || !strcmp(a, "created")))
		*s = STAGE_REGISTER;
	else if (a && !strcmp(a, "stopped"))
		*s = STAGE_UNREGISTER;
	else
		return sf_usage(
			err,
			"no stage given and the state's status `%.64s` does not tell one: pass prestart or poststop as an argument",
			a ? a : "(none)");
	return 0;
}

/* The metadata the agent puts in stream.start.  Never the environment. */
static char *meta_build(const struct oci_config *c, const struct oci_kv *ann,
			size_t nann, bool with_ann)
{
	cleanup_yajl_gen yajl_gen g = json_gen_new();

	yajl_gen_map_open(g);
	if (c->hostname) {
		json_gen_str(g, "hostname");
		json_gen_str(g, c->hostname);
	}
	json_gen_str(g, "args");
	yajl_gen_array_open(g);
	for (size_t i = 0; i < c->nargs; i++)
		json_gen_str(g, c->args[i]);
	yajl_gen_array_close(g);
	if (c->cwd) {
		json_gen_str(g, "cwd");
		json_gen_str(g, c->cwd);
	}
	if (c->root_path) {
		json_gen_str(g, "root");
		json_gen_str(g, c->root_path);
	}
	json_gen_str(g, "annotations");
	yajl_gen_map_open(g);
	for (size_t i = 0; with_ann && i < nann; i++) {
		json_gen_str(g, ann[i].key);
		json_gen_str(g, ann[i].value);
	}
	yajl_gen_map_close(g);
	if (!with_ann) {
		json_gen_str(g, "annotations_dropped");
		yajl_gen_bool(g, 1);
	}
	yajl_gen_map_close(g);
	return json_gen_take(g, NULL);
}

static void untag(const char *dir)
{
	removexattr(dir, SF_XATTR_CONTAINER);
	removexattr(dir, SF_XATTR_WORKLOAD);
	removexattr(dir, SF_XATTR_REG);
}

/* Tags for restart recovery: the agent finds its containers by these. */
static int tag(const char *dir, const struct sf_msg *m, const char *enc,
	       size_t enclen, struct sf_error **err)
{
	if (setxattr(dir, SF_XATTR_REG, enc, enclen, 0) < 0 ||
	    setxattr(dir, SF_XATTR_WORKLOAD, m->workload, strlen(m->workload),
		     0) < 0 ||
	    setxattr(dir, SF_XATTR_CONTAINER, m->container_id,
		     strlen(m->container_id), 0) < 0) {
		int e = errno;

		untag(dir);
		return sf_fail(err, e, "tag cgroup `%s` with xattrs", dir);
	}
	return 0;
}

/* Outcome of talking to the agent: the policy decides what it means. */
static int agent_failed(const struct hook *h, const char *what,
			struct sf_error *e)
{
	if (h->fail_closed) {
		fprintf(stderr,
			PROG ": container `%s`: %s (" ANN_FAIL "=closed): %s\n",
			h->st.id, what, e->msg);
		return SF_EXIT_ENV;
	}
	fprintf(stderr,
		PROG ": warning: container `%s` is not tracked: %s (" ANN_FAIL
		     "=open): %s\n",
		h->st.id, what, e->msg);
	syslog(LOG_WARNING, "container `%s` is not tracked: %s: %s", h->st.id,
	       what, e->msg);
	return 0;
}

static int call_agent(struct hook *h, const struct sf_msg *req,
		      const char *tagged_dir, struct sf_error **err)
{
	cleanup_error struct sf_error *e = NULL;
	struct sf_msg reply;
	int ret;

	if (sf_proto_call(h->socket, req, h->timeout_ms, &reply, &e) < 0)
		return agent_failed(h,
				    req->op == SF_MSG_REGISTER
					    ? "not registered"
					    : "not unregistered",
				    e);
	if (reply.op == SF_MSG_ACK) {
		sf_msg_free(&reply);
		return 0;
	}
	/* The agent said no: it will not pick the tags up after a restart. */
	if (tagged_dir)
		untag(tagged_dir);
	sf_fail(&e, 0, "the agent refused: %s",
		reply.error ? reply.error : "(no reason)");
	sf_msg_free(&reply);
	ret = agent_failed(h,
			   req->op == SF_MSG_REGISTER ? "not registered"
						      : "not unregistered",
			   e);
	return ret;
}

static int do_register(struct hook *h, struct sf_error **err)
{
	cleanup_free char *mnt = NULL, *cgpath = NULL, *own = NULL, *dir = NULL;
	cleanup_free char *workload = NULL, *enc = NULL;
	struct oci_config cfg;
	struct sf_export_list exports;
	struct sf_msg req = {.op = SF_MSG_REGISTER};
	const struct oci_kv *ann;
	size_t nann, enclen;
	uint64_t cgid;
	int ret = -1;

	if (!h->st.bundle)
		return sf_usage(err,
				"the OCI state on stdin has no \"bundle\"");
	if (oci_config_load(h->st.bundle, &cfg, err) < 0)
		return -1;
	/* runtimes copy config annotations into the state; older ones may not */
	ann = h->st.nann ? h->st.ann : cfg.ann;
	nann = h->st.nann ? h->st.nann : cfg.nann;
	if (sf_fail_policy_parse(oci_kv_get(ann, nann, ANN_FAIL),
				 &h->fail_closed, err) < 0 ||
	    sf_export_parse(oci_kv_get(ann, nann, ANN_EXPORT), &exports, err) <
		    0)
		goto out;
	sf_export_list_free(&exports);
	if (sf_format_check(oci_kv_get(ann, nann, ANN_FORMAT), err) < 0)
		goto out;
	if (sf_workload_from_annotations(ann, nann, h->st.id, &workload, err) <
	    0)
		goto out;

	if (kill(h->st.pid, 0) < 0 && errno == ESRCH) {
		sf_fail(err, 0, "container process %d no longer exists",
			(int)h->st.pid);
		goto out;
	}
	if (cg2_mount_point(&mnt, err) < 0 ||
	    cg2_path_of_pid(h->st.pid, &cgpath, err) < 0 ||
	    cg2_path_of_pid(getpid(), &own, err) < 0)
		goto out;
	/* Tagging a shared cgroup would stream the runtime or the host. */
	if (!strcmp(cgpath, "/") || !strcmp(cgpath, own)) {
		sf_fail(err, 0,
			"container process %d has no cgroup v2 directory of its own (it is in `%s`, like the runtime): cannot track it apart from the host",
			(int)h->st.pid, cgpath);
		goto out;
	}
	dir = xasprintf("%s%s", mnt, cgpath);
	if (cg2_id(dir, &cgid, err) < 0)
		goto out;

	req.container_id = h->st.id;
	req.pid = h->st.pid;
	req.cgroup_id = cgid;
	req.cgroup_path = cgpath;
	req.bundle = h->st.bundle;
	req.workload = workload;
	req.export_spec = (char *)oci_kv_get(ann, nann, ANN_EXPORT);
	req.format = (char *)oci_kv_get(ann, nann, ANN_FORMAT);
	req.meta_json = meta_build(&cfg, ann, nann, true);
	enc = sf_msg_encode(&req, &enclen, NULL);
	if (!enc) {
		/* huge annotations: register without them rather than not at all */
		free(req.meta_json);
		req.meta_json = meta_build(&cfg, ann, nann, false);
		enc = sf_msg_encode(&req, &enclen, err);
		if (!enc)
			goto out;
	}
	if (tag(dir, &req, enc, enclen, err) < 0)
		goto out;
	ret = call_agent(h, &req, dir, err);
out:
	free(req.meta_json);
	oci_config_free(&cfg);
	return ret;
}

static int do_unregister(struct hook *h, struct sf_error **err)
{
	struct sf_msg req = {.op = SF_MSG_UNREGISTER, .container_id = h->st.id};

	if (sf_fail_policy_parse(oci_kv_get(h->st.ann, h->st.nann, ANN_FAIL),
				 &h->fail_closed, err) < 0)
		return -1;
	return call_agent(h, &req, NULL, err);
}

int main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_free char *input = NULL;
	struct hook h = {0};
	enum stage stage = STAGE_NONE;
	size_t len;
	int ret;

	sf_log_init(PROG, SF_LOG_WARN, NULL);
	openlog(PROG, LOG_PID, LOG_DAEMON);
	if (parse_args(argc, argv, &h, &err) < 0)
		return sf_error_report(PROG, err);
	/* a stage given is checked before waiting for the state */
	if (h.stage_arg && stage_of(&h, &stage, &err) < 0)
		return sf_error_report(PROG, err);
	/* a runtime writes the state at once: stdin gets the hook's timeout too */
	if (oci_read_input(STDIN_FILENO, OCI_STATE_MAX, h.timeout_ms, &input,
			   &len, &err) < 0)
		return sf_error_report(PROG, err);
	/* the pid is checked once the stage is known */
	if (oci_state_parse(input, false, &h.st, &err) < 0)
		return sf_error_report(PROG, err);
	if (stage_of(&h, &stage, &err) < 0) {
		oci_state_free(&h.st);
		return sf_error_report(PROG, err);
	}
	if (stage == STAGE_REGISTER && !h.st.pid) {
		sf_usage(
			&err,
			"the OCI state on stdin has no \"pid\" (a prestart or createRuntime state has one)");
		ret = -1;
	} else {
		ret = stage == STAGE_REGISTER ? do_register(&h, &err)
					      : do_unregister(&h, &err);
	}
	if (ret < 0) {
		sf_error_wrap(&err, "container `%s`", h.st.id);
		ret = sf_error_report(PROG, err);
	}
	oci_state_free(&h.st);
	return ret;
}
