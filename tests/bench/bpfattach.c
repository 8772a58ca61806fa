// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark helper: load a BPF object, attach every program, say "ready" on
 * stdout and hold the links until SIGINT/SIGTERM.  Used to measure what an
 * attached-but-filtering program costs processes it does not track.
 *   bpfattach OBJECT.bpf.o [CGROUP_ID_TO_TRACK]
 *   BPFATTACH_ONLY=NAME[,NAME...]: load and attach those programs only
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	return l == LIBBPF_WARN ? vfprintf(stderr, f, ap) : 0;
}

/* NAME is one of LIST's comma-separated names */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = list; p; p = strchr(p, ','), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, n) && (p[n] == ',' || !p[n]))
			return true;
	return false;
}

/* the names in LIST (its commas and one) */
static int names_in(const char *list)
{
	int n = 1;

	for (const char *p = list; (p = strchr(p, ',')); p++)
		n++;
	return n;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *tracked;
	sigset_t set;
	int sig, n = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bpfattach OBJECT.bpf.o [CGROUP_ID]\n");
		return 2;
	}
	libbpf_set_print(quiet);
	obj = bpf_object__open_file(argv[1], NULL);
	/* BPFATTACH_ONLY=NAME[,NAME...]: those programs only (an object of
	 * variants) */
	if (obj && getenv("BPFATTACH_ONLY"))
		bpf_object__for_each_program(prog, obj)
			bpf_program__set_autoload(
				prog, listed(getenv("BPFATTACH_ONLY"),
					     bpf_program__name(prog)));
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "bpfattach: cannot load %s\n", argv[1]);
		return 1;
	}
	tracked = bpf_object__find_map_by_name(obj, "tracked");
	if (argc > 2 && tracked) {
		unsigned long long cg = strtoull(argv[2], NULL, 10);
		unsigned slot = 1;

		bpf_map__update_elem(tracked, &cg, sizeof(cg), &slot, sizeof(slot), 0);
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__autoload(prog))
			continue;
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "bpfattach: cannot attach %s\n",
				bpf_program__name(prog));
			return 1;
		}
		n++;
	}
	/* a misspelt name would measure no program as if it were one */
	if (getenv("BPFATTACH_ONLY") && n != names_in(getenv("BPFATTACH_ONLY"))) {
		fprintf(stderr, "bpfattach: BPFATTACH_ONLY=%s names %d programs, %s has %d of them\n",
			getenv("BPFATTACH_ONLY"), names_in(getenv("BPFATTACH_ONLY")), argv[1], n);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	printf("ready %d programs\n", n);
	fflush(stdout);
	sigwait(&set, &sig);
	bpf_object__close(obj);
	return 0;
}
