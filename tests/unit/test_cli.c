// SPDX-License-Identifier: GPL-2.0
/* Command-line parsing: modes, values, and the usage errors. */
#include "options.h"
#include "tap.h"

static int parse(struct sf_options *o, struct sf_error **err, ...)
{
	char *argv[32];
	int argc = 0;
	va_list ap;

	argv[argc++] = "sfagent";
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	sf_error_free(*err);
	*err = NULL;
	return sf_parse_args(argc, argv, o, err);
}

#define usage_err(o, err, needle, ...)                                      \
	do {                                                                \
		int r_ = parse(o, err, __VA_ARGS__, NULL);                  \
		ok(r_ < 0 && *(err) && (*(err))->status == SF_EXIT_USAGE && \
			   strstr((*(err))->msg, needle),                   \
		   "usage error: %s", needle);                              \
		if (*(err))                                                 \
			printf("#   message: %s\n", (*(err))->msg);         \
	} while (0)

int main(void)
{
	struct sf_error *err = NULL;
	struct sf_options o;

	ok(parse(&o, &err, "-X", "-w", "n", "-o", "f", "--", "ls", "-l",
		 NULL) == 0 &&
		   o.mode == SF_MODE_EXECUTE && o.argc == 2 &&
		   strcmp(o.argv[1], "-l") == 0 && strcmp(o.workload, "n") == 0,
	   "-X with program and its own options");
	ok(parse(&o, &err, "-X", "-o", "f", "ls", "-l", NULL) == 0 &&
		   o.argc == 2,
	   "options stop at the program without --");
	ok(parse(&o, &err, "-w", "bundle", "-o", "f", NULL) == 0 &&
		   o.mode == SF_MODE_CONTAINER,
	   "-w alone is container mode");
	ok(parse(&o, &err, "-R", "-o", "-", "-f", NULL) == 0 && o.follow,
	   "-R -f");
	ok(parse(&o, &err, "-R", "-o", "x", "--duration", "30", NULL) == 0 &&
		   o.duration == 30,
	   "--duration");
	ok(parse(&o, &err, "-R", "-o", "x", "--ringbuf-size", "64K", NULL) ==
			   0 &&
		   o.ringbuf_bytes == 65536,
	   "--ringbuf-size with suffix");
	ok(parse(&o, &err, "-S", NULL) == 0 && o.mode == SF_MODE_SHOW,
	   "-S needs no output");
	ok(parse(&o, &err, "-R", "-b", "localhost", "-p", "8883", "-t", "t",
		 NULL) == 0 &&
		   o.port == 8883 && strcmp(o.broker, "localhost") == 0,
	   "MQTT flags parse");
	ok(parse(&o, &err, "--help", NULL) == 0 && o.help, "--help");
	ok(parse(&o, &err, "--version", NULL) == 0 && o.version, "--version");

	usage_err(&o, &err, "no mode given", "-o", "x");
	usage_err(&o, &err, "options -X and -R cannot be combined", "-X", "-R",
		  "-o", "x", "ls");
	usage_err(&o, &err, "-X needs a program", "-X", "-o", "x");
	usage_err(&o, &err, "no output given", "-R");
	usage_err(&o, &err, "unknown option `--nope`", "-R", "--nope");
	usage_err(&o, &err, "unknown option -Z", "-R", "-Z");
	usage_err(&o, &err, "-o needs an argument", "-R", "-o");
	usage_err(&o, &err, "bad port `70000`", "-R", "-b", "h", "-p", "70000");
	usage_err(&o, &err, "bad port `x`", "-R", "-b", "h", "-p", "x");
	usage_err(&o, &err, "bad --duration `-1`", "-R", "-o", "x",
		  "--duration", "-1");
	usage_err(&o, &err, "power of two", "-R", "-o", "x", "--ringbuf-size",
		  "3000");
	usage_err(&o, &err, "power of two", "-R", "-o", "x", "--ringbuf-size",
		  "2048M");
	usage_err(&o, &err, "-f only applies", "-X", "-f", "-o", "x", "ls");
	usage_err(&o, &err, "unexpected argument `ls`", "-R", "-o", "x", "ls");
	usage_err(&o, &err, "non-empty workload", "-X", "-w", "", "-o", "x",
		  "ls");

	sf_error_free(err);
	return tap_done();
}
