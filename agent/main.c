// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "options.h"
#include "run.h"

int main(int argc, char **argv)
{
	cleanup_error struct sf_error *err = NULL;
	cleanup_fclose FILE *debug = NULL;
	struct sf_options o;
	int ret;

	sf_log_init("sfagent", SF_LOG_WARN, NULL);
	/* a reader that goes away is a sink error to count, not a reason to die */
	signal(SIGPIPE, SIG_IGN);
	if (sf_parse_args(argc, argv, &o, &err) < 0)
		return sf_error_report("sfagent", err);
	if (o.help) {
		sf_usage_print(stdout);
		return 0;
	}
	if (o.version) {
		printf("sfagent %s\n", SF_VERSION);
		return 0;
	}
	if (o.debug_file) {
		debug = fopen(o.debug_file, "ae");
		if (!debug) {
			fprintf(stderr,
				"sfagent: cannot open debug file `%s`: %s\n",
				o.debug_file, strerror(errno));
			return SF_EXIT_ENV;
		}
	}
	sf_log_init("sfagent",
		    SF_LOG_WARN + o.verbose > SF_LOG_DEBUG
			    ? SF_LOG_DEBUG
			    : SF_LOG_WARN + o.verbose,
		    debug);

	switch (o.mode) {
	case SF_MODE_EXECUTE:
	case SF_MODE_PROCESS:
		ret = run_execute(&o, &err);
		break;
	case SF_MODE_ROOT:
		ret = run_root(&o, &err);
		break;
	case SF_MODE_CONTAINER:
		ret = run_container(&o, &err);
		break;
	case SF_MODE_SHOW:
		ret = run_show(&o, &err);
		break;
	case SF_MODE_DAEMON:
		ret = run_daemon(&o, &err);
		break;
	case SF_MODE_INJECT:
		ret = run_inject_hook(&o, &err);
		break;
	default:
		sf_usage(&err, "%s mode is not available in this build yet",
			 sf_mode_name(o.mode));
		ret = -1;
		break;
	}
	if (ret < 0)
		return sf_error_report("sfagent", err);
	return ret;
}
