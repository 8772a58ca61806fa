// SPDX-License-Identifier: GPL-2.0
/*
 * The verifier's time per program of the agent's object: each program loaded
 * on its own (the others not autoloaded, so one that cannot load here costs
 * the rest nothing), with the verifier's statistics asked for (log level 4),
 * its .rodata set as the agent sets it where that changes what is verified
 * (task_btf_id: the kernel's id of struct task_struct; host_mnt_ns), its
 * kfunc calls made as the agent makes them (agent/kernel_ids.h).
 *
 *   vtime OBJECT [CORE_BTF] [ROUNDS]
 *
 * CORE_BTF: the BTF for CO-RE (the agent's BTF cache copy; default the
 * kernel's).  Prints, per round and program, one line
 *   vtime PROGRAM usec=N insns=N states=N
 * (usec=-1: did not load here, e.g. a tracepoint this kernel lacks; usec is
 * the verifier's own clock, wall time: a busy machine's preemptions count)
 * and per round "vtime total usec=N", their sum.  VTIME_ONLY=PROGRAM: that
 * one only (for perf record).
 */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kernel_ids.h"

#define LOG_SIZE (8u << 20)

/* the kfunc's id; the attach targets are libbpf's to find */
static struct kernel_ids ids = {.stand_in_fd = -1};

static int prepare(struct bpf_program *prog, struct bpf_prog_load_opts *opts,
		   long cookie)
{
	(void)cookie;
	return kernel_ids_prepare(prog, opts, &ids);
}

/* the agent's section handlers' load side (agent/probe.c sec_register) */
static int handlers(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, ho, .prog_prepare_load_fn = prepare);

	if (libbpf_register_prog_handler("tp_btf+", BPF_PROG_TYPE_TRACING,
					 BPF_TRACE_RAW_TP, &ho) < 0 ||
	    libbpf_register_prog_handler("tracepoint+",
					 BPF_PROG_TYPE_TRACEPOINT, 0, &ho) < 0)
		return -1;
	return 0;
}

static int quiet(enum libbpf_print_level l, const char *f, va_list ap)
{
	(void)l, (void)f, (void)ap;
	return 0;
}

/* Sets the .rodata variable name to val (of its own size, up to 8 bytes). */
static void set_rodata(struct bpf_object *obj, const char *name,
		       unsigned long long val)
{
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *m;
	size_t size;
	char *data;
	int sec;

	bpf_object__for_each_map(m, obj) {
		const char *n = bpf_map__name(m);

		if (strlen(n) >= 7 && !strcmp(n + strlen(n) - 7, ".rodata"))
			break;
	}
	sec = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC)
		  : -1;
	if (!m || sec < 0)
		return;
	/* writable until the load (what a skeleton's rodata points to) */
	data = (char *)bpf_map__initial_value(m, &size);
	const struct btf_type *t = btf__type_by_id(btf, sec);
	const struct btf_var_secinfo *v = btf_var_secinfos(t);

	for (unsigned i = 0; data && i < btf_vlen(t); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (strcmp(btf__name_by_offset(btf, var->name_off), name) ||
		    v->offset + v->size > size || v->size > 8)
			continue;
		memcpy(data + v->offset, &val, v->size); /* little-endian */
	}
}

static long field(const char *log, const char *key)
{
	const char *p = log ? strstr(log, key) : NULL;

	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

/* The object, opened and set up as the agent sets it up; NULL: failed. */
static struct bpf_object *open_obj(const char *path,
				   const struct bpf_object_open_opts *oo,
				   int task_id, unsigned long long mnt_ns)
{
	struct bpf_object *obj = bpf_object__open_file(path, oo);
	struct bpf_map *m;

	if (!obj) {
		fprintf(stderr, "vtime: cannot open %s\n", path);
		return NULL;
	}
	bpf_object__for_each_map(m, obj) {
		if (bpf_map__type(m) == BPF_MAP_TYPE_RINGBUF)
			bpf_map__set_max_entries(m, 1 << 20);
	}
	set_rodata(obj, "task_btf_id", task_id);
	set_rodata(obj, "host_mnt_ns", mnt_ns);
	return obj;
}

int main(int argc, char **argv)
{
	const char *obj_path = argc > 1 ? argv[1] : NULL;
	const char *core_btf = argc > 2 && *argv[2] ? argv[2] : NULL;
	int rounds = argc > 3 ? atoi(argv[3]) : 1;
	unsigned long long mnt_ns = 0;
	char *log = malloc(LOG_SIZE);
	struct btf *vmlinux;
	struct stat st;
	int task_id;

	if (!obj_path || rounds < 1 || !log) {
		fprintf(stderr, "usage: vtime OBJECT [CORE_BTF] [ROUNDS]\n");
		return 2;
	}
	libbpf_set_print(quiet);
	vmlinux = btf__load_vmlinux_btf();
	task_id = vmlinux ? btf__find_by_name_kind(vmlinux, "task_struct",
						   BTF_KIND_STRUCT)
			  : -1;
	if (task_id > 0) {
		int f = btf__find_by_name_kind(vmlinux, "bpf_rdonly_cast",
					       BTF_KIND_FUNC);

		if (f > 0)
			kernel_ids_add(&ids, "bpf_rdonly_cast", f);
	}
	btf__free(vmlinux);
	if (task_id <= 0) {
		fprintf(stderr, "vtime: no task_struct in the kernel's BTF\n");
		return 1;
	}
	if (handlers() < 0) {
		fprintf(stderr, "vtime: cannot register libbpf section handlers\n");
		return 1;
	}
	if (stat("/proc/self/ns/mnt", &st) == 0)
		mnt_ns = st.st_ino;
	for (int r = 0; r < rounds; r++) {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .btf_custom_path = core_btf);
		/* creates the maps, loads no program: the others share them
		 * (as the agent's split load), so a load is the program's */
		struct bpf_object *maps = open_obj(obj_path, &oo, task_id, mnt_ns);
		struct bpf_program *p;
		long total = 0;

		if (!maps)
			return 1;
		bpf_object__for_each_program(p, maps)
			bpf_program__set_autoload(p, false);
		if (bpf_object__load(maps)) {
			fprintf(stderr, "vtime: cannot create the maps of %s\n",
				obj_path);
			return 1;
		}
		bpf_object__for_each_program(p, maps) {
			const char *name = bpf_program__name(p);
			const char *only = getenv("VTIME_ONLY");
			long us = -1, insns = -1, states = -1;
			struct bpf_map *m, *mm;
			struct bpf_object *obj;
			struct bpf_program *q;

			if (only && strcmp(only, name))
				continue;
			obj = open_obj(obj_path, &oo, task_id, mnt_ns);
			if (!obj)
				return 1;
			/* one ELF: the same maps in the same order */
			mm = bpf_object__next_map(maps, NULL);
			bpf_object__for_each_map(m, obj) {
				if (!mm || bpf_map__reuse_fd(m, bpf_map__fd(mm)))
					return 1;
				mm = bpf_object__next_map(maps, mm);
			}
			bpf_object__for_each_program(q, obj) {
				bool me = !strcmp(bpf_program__name(q), name);

				bpf_program__set_autoload(q, me);
				if (me) {
					log[0] = 0;
					bpf_program__set_log_buf(q, log,
								 LOG_SIZE);
					bpf_program__set_log_level(q, 4);
				}
			}
			if (kernel_ids_preset(obj, NULL) == 0 &&
			    bpf_object__load(obj) == 0) {
				us = field(log, "verification time ");
				insns = field(log, "processed ");
				states = field(log, "total_states ");
				total += us > 0 ? us : 0;
			}
			printf("vtime %s usec=%ld insns=%ld states=%ld\n", name, us,
			       insns, states);
			bpf_object__close(obj);
		}
		printf("vtime total usec=%ld\n", total);
		fflush(stdout);
		bpf_object__close(maps);
	}
	free(log);
	return 0;
}
