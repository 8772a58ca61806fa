// SPDX-License-Identifier: GPL-2.0
/*
 * sfhook: the OCI hook.  At prestart/createRuntime it tags the container's
 * cgroup v2 directory and registers the container with the per-host agent,
 * waiting for the agent's ACK (the cgroup is tracked by then) before the
 * runtime may start the container's process.  At poststop it unregisters.
 *
 * The fail policy is the operator's (--fail, in the hooks.d or base-spec
 * file): a pod's io.sfagent.fail can make it stricter (closed), never looser.
 *
 * Exit status: 0 done (or, failing open, the agent could not be reached or
 * refused: one warning line); 1 environment (agent refused or unreachable
 * failing closed, container process gone, bundle unreadable); 2 bad input
 * (state, annotations, options).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/xattr.h>
#include <syslog.h>

#include "cgroup.h"
#include "formats.h"
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
	bool operator_closed; /* --fail closed */
	bool fail_closed; /* the policy in force: operator's or stricter */
	bool pod_closed; /* io.sfagent.fail=closed made it stricter */
};

static void usage(FILE *f)
{
	fputs("Usage: sfhook [--socket PATH] [--timeout MS] [--fail open|closed] [STAGE] < STATE\n"
	      "OCI hook for sfagent: reads the container state on stdin.\n"
	      "STAGE: prestart | createRuntime (register) | poststop (unregister);\n"
	      "       default: from the state's status.\n"
	      "  --socket PATH  agent socket (default " SF_SOCKET_DEFAULT ")\n"
	      "  --timeout MS   how long to wait for the agent (default 2000, at most 60000)\n"
	      "  --fail POLICY  open (default): start a container the agent cannot\n"
	      "                 track, with a warning; closed: refuse to start it.\n"
	      "                 A pod's io.sfagent.fail=closed makes it stricter only.\n"
	      "Annotations: io.sfagent.export=file|file:NAME|mqtt|mqtt:TOPIC|http[,...],\n"
	      "             io.sfagent.format=" SF_FORMAT_CHOICES
	      ", io.sfagent.workload=NAME,\n"
	      "             io.sfagent.fail=open|closed, io.sfagent.filter=EXPR\n",
	      f);
}

static int parse_args(int argc, char **argv, struct hook *h,
		      struct sf_error **err)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"fail", required_argument, NULL, 'f'},
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
		case 'f':
			if (!strcmp(optarg, "closed"))
				h->operator_closed = true;
			else if (strcmp(optarg, "open"))
				return sf_usage(
					err,
					"bad --fail `%s`: want open or closed",
					optarg);
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

/* The operator's --fail, made stricter (never looser) by io.sfagent.fail. */
static int fail_policy(struct hook *h, const struct oci_kv *ann, size_t nann,
		       struct sf_error **err)
{
	bool closed;

	if (sf_fail_policy_parse(oci_kv_get(ann, nann, ANN_FAIL), &closed,
				 err) < 0)
		return -1;
	h->pod_closed = closed && !h->operator_closed;
	h->fail_closed = h->operator_closed || closed;
	return 0;
}

/* What stream.start may hold of process.args and of each path: the rest of
 * the message (annotations) must fit in SF_PROTO_MAX too. */
#define META_ARGS_MAX (16u << 10)
#define META_STR_MAX  4096u

/* At most max bytes of s, cut on a UTF-8 character boundary. */
static yajl_gen_status gen_capped(yajl_gen g, const char *s, size_t max,
				  bool *cut)
{
	size_t n = strlen(s);

	if (n > max) {
		n = max;
		while (n && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		*cut = true;
	}
	return yajl_gen_string(g, (const unsigned char *)s, n);
}

/* The metadata the agent puts in stream.start.  Never the environment.
 * Oversized args and paths are cut, with "args_truncated" set: a container
 * is never refused for its command line. */
static char *meta_build(const struct oci_config *c, const struct oci_kv *ann,
			size_t nann, bool with_ann, struct sf_error **err)
{
	cleanup_yajl_gen yajl_gen g = json_gen_new();
	size_t left = META_ARGS_MAX;
	bool cut = false, args_cut = false;
	yajl_gen_status st;

	st = yajl_gen_map_open(g);
	if (c->hostname) {
		st |= json_gen_str(g, "hostname");
		st |= gen_capped(g, c->hostname, 255, &cut);
	}
	st |= json_gen_str(g, "args");
	st |= yajl_gen_array_open(g);
	for (size_t i = 0; i < c->nargs && !args_cut; i++) {
		size_t n = strlen(c->args[i]);

		st |= gen_capped(g, c->args[i], left, &args_cut);
		left -= n < left ? n : left;
		args_cut |= !left && i + 1 < c->nargs;
	}
	st |= yajl_gen_array_close(g);
	if (args_cut) {
		st |= json_gen_str(g, "args_truncated");
		st |= yajl_gen_bool(g, 1);
	}
	if (c->cwd) {
		st |= json_gen_str(g, "cwd");
		st |= gen_capped(g, c->cwd, META_STR_MAX, &cut);
	}
	if (c->root_path) {
		st |= json_gen_str(g, "root");
		st |= gen_capped(g, c->root_path, META_STR_MAX, &cut);
	}
	st |= json_gen_str(g, "annotations");
	st |= yajl_gen_map_open(g);
	for (size_t i = 0; with_ann && i < nann; i++) {
		st |= json_gen_str(g, ann[i].key);
		st |= json_gen_str(g, ann[i].value);
	}
	st |= yajl_gen_map_close(g);
	if (!with_ann) {
		st |= json_gen_str(g, "annotations_dropped");
		st |= yajl_gen_bool(g, 1);
	}
	if (cut) {
		st |= json_gen_str(g, "fields_truncated");
		st |= yajl_gen_bool(g, 1);
	}
	st |= yajl_gen_map_close(g);
	if (st != yajl_gen_status_ok) {
		sf_usage(err, "cannot write the container's metadata (%s)",
			 json_gen_status_str(st));
		return NULL;
	}
	return json_gen_take(g, NULL);
}

static const char *const tag_names[] = {SF_XATTR_REG, SF_XATTR_WORKLOAD,
					SF_XATTR_CONTAINER, SF_XATTR_AGENT};
#define NTAGS (sizeof(tag_names) / sizeof(tag_names[0]))

/* The cgroup's tags before this hook wrote its own: a refused registration
 * puts them back, so a live container registered there keeps its tags. */
struct saved_tags {
	char *val[NTAGS];
	ssize_t len[NTAGS]; /* -1: absent */
};

static void tags_save(const char *dir, struct saved_tags *t)
{
	for (size_t i = 0; i < NTAGS; i++) {
		ssize_t n = getxattr(dir, tag_names[i], NULL, 0);

		t->val[i] = NULL;
		t->len[i] = -1;
		if (n < 0 || n > (ssize_t)SF_PROTO_MAX)
			continue;
		t->val[i] = xmalloc(n + 1);
		t->len[i] = getxattr(dir, tag_names[i], t->val[i], n);
	}
}

static void tags_restore(const char *dir, const struct saved_tags *t)
{
	for (size_t i = 0; i < NTAGS; i++) {
		if (t->len[i] < 0)
			removexattr(dir, tag_names[i]);
		else
			setxattr(dir, tag_names[i], t->val[i], t->len[i], 0);
	}
}

static void tags_free(struct saved_tags *t)
{
	for (size_t i = 0; i < NTAGS; i++)
		free(t->val[i]);
}

/* Tags for restart recovery: the agent finds its containers by these. */
static int tag(const char *dir, const struct sf_msg *m, const char *enc,
	       size_t enclen, const char *socket,
	       const struct saved_tags *saved, struct sf_error **err)
{
	/* which agent: another agent on another socket leaves it alone */
	if (setxattr(dir, SF_XATTR_AGENT, socket, strlen(socket), 0) < 0 ||
	    setxattr(dir, SF_XATTR_REG, enc, enclen, 0) < 0 ||
	    setxattr(dir, SF_XATTR_WORKLOAD, m->workload, strlen(m->workload),
		     0) < 0 ||
	    setxattr(dir, SF_XATTR_CONTAINER, m->container_id,
		     strlen(m->container_id), 0) < 0) {
		int e = errno;

		tags_restore(dir, saved);
		return sf_fail(err, e, "tag cgroup `%s` with xattrs", dir);
	}
	return 0;
}

/* Outcome of talking to the agent: the policy decides what it means. */
static int agent_failed(const struct hook *h, const char *what,
			struct sf_error *e)
{
	if (h->fail_closed) {
		fprintf(stderr, PROG ": container `%s`: %s (%s): %s\n",
			h->st.id, what,
			h->pod_closed ? ANN_FAIL "=closed" : "--fail closed",
			e->msg);
		return SF_EXIT_ENV;
	}
	fprintf(stderr,
		PROG
		": warning: container `%s` is not tracked: %s (--fail open): %s\n",
		h->st.id, what, e->msg);
	syslog(LOG_WARNING, "container `%s` is not tracked: %s: %s", h->st.id,
	       what, e->msg);
	return 0;
}

static int call_agent(struct hook *h, const struct sf_msg *req,
		      const char *tagged_dir, const struct saved_tags *saved,
		      struct sf_error **err)
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
	/* The agent said no: it would not pick these tags up after a restart;
	 * what was there before (a live container's own tags) stays. */
	if (tagged_dir)
		tags_restore(tagged_dir, saved);
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
	struct saved_tags saved = {0};
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
	if (fail_policy(h, ann, nann, err) < 0 ||
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
	req.meta_json = meta_build(&cfg, ann, nann, true, err);
	if (!req.meta_json)
		goto out;
	enc = sf_msg_encode(&req, &enclen, NULL);
	if (!enc) {
		/* huge annotations: register without them rather than not at all */
		free(req.meta_json);
		req.meta_json = meta_build(&cfg, ann, nann, false, err);
		if (!req.meta_json)
			goto out;
		enc = sf_msg_encode(&req, &enclen, err);
		if (!enc)
			goto out;
	}
	tags_save(dir, &saved);
	if (tag(dir, &req, enc, enclen, h->socket, &saved, err) < 0)
		goto out;
	ret = call_agent(h, &req, dir, &saved, err);
out:
	tags_free(&saved);
	free(req.meta_json);
	oci_config_free(&cfg);
	return ret;
}

static int do_unregister(struct hook *h, struct sf_error **err)
{
	struct sf_msg req = {.op = SF_MSG_UNREGISTER, .container_id = h->st.id};

	if (fail_policy(h, h->st.ann, h->st.nann, err) < 0)
		return -1;
	return call_agent(h, &req, NULL, NULL, err);
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
