// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"
#include "view.h"
#include "seccomp_self.h"

static const struct sf_mode_desc modes[] = {
	{SF_MODE_EXECUTE, run_execute,
	 "must run as root (it loads BPF programs and creates cgroups); try `sudo sfagent ...`"},
	{SF_MODE_PROCESS, run_execute,
	 "must run as root (it loads BPF programs and creates cgroups); try `sudo sfagent ...`"},
	{SF_MODE_ROOT, run_root,
	 "must run as root (it loads BPF programs); try `sudo sfagent ...`"},
	{SF_MODE_CONTAINER, run_container,
	 "must run as root (it loads BPF programs and runs runc); try `sudo sfagent ...`"},
	{SF_MODE_SHOW, run_show, NULL},
	{SF_MODE_DAEMON, run_daemon,
	 "must run as root (it loads BPF programs); try `sudo sfagent -D`"},
	{SF_MODE_INJECT, run_inject_hook, NULL},
};

static int run_mode(const struct sf_options *o, struct sf_error **err)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (modes[i].mode != o->mode)
			continue;
		if (modes[i].needs_root && geteuid() != 0)
			return sf_fail(err, 0, "%s", modes[i].needs_root);
		return modes[i].run(o, err);
	}
	return sf_usage(err, "%s mode is not available in this build yet",
			sf_mode_name(o->mode));
}

/* --help, --version, --doc NAME: 1 if one was printed */
static int print_doc(const struct sf_options *o)
{
	if (o->help)
		cli_doc_help(stdout);
	else if (o->doc)
		cli_doc_find(o->doc)(stdout);
	else if (o->version)
		printf("sfagent %s\n", SF_VERSION);
	else if (o->sandbox_list)
		seccomp_self_list(stdout);
	else
		return 0;
	return 1;
}

int main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_fclose FILE *debug = NULL;
	struct sf_options o;
	int ret;

	sf_log_init("sfagent", SF_LOG_WARN, NULL);
	/* commands that read streams rather than make them */
	if (argc > 1 && !strcmp(argv[1], "show"))
		return view_show_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "watch"))
		return view_watch_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "status"))
		return view_status_main(argc - 1, argv + 1);
	/* a reader that goes away is a sink error to count, not a reason to die */
	signal(SIGPIPE, SIG_IGN);
	if (sf_parse_args(argc, argv, &o, &err) < 0)
		return sf_error_report("sfagent", err);
	if (print_doc(&o))
		return 0;
	if (o.debug_file) {
		debug = fopen(o.debug_file, "ae");
		if (!debug) {
			fprintf(stderr,
				"sfagent: cannot open debug file `%s`: %s: give -d a file this user can write\n",
				o.debug_file, strerror(errno));
			return SF_EXIT_ENV;
		}
	}
	sf_log_init("sfagent",
		    SF_LOG_WARN + o.verbose > SF_LOG_DEBUG
			    ? SF_LOG_DEBUG
			    : SF_LOG_WARN + o.verbose,
		    debug);
	ret = run_mode(&o, &err);
	if (ret < 0)
		return sf_error_report("sfagent", err);
	return ret;
}
