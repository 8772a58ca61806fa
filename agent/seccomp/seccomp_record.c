// SPDX-License-Identifier: GPL-2.0
#include "seccomp_record.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "json.h"
#include "seccomp_profile.h"
#include "sfagent.h"

#define SECCOMP_SUFFIX ".seccomp.json"

static const char *meta_annotation(yajl_val meta, const char *key)
{
	return json_get_str(json_get(meta, "annotations"), key);
}

/* web.jsonl -> web.seccomp.json; no file: <workload>.<id12>.seccomp.json */
static char *profile_name(const char *stream_file, const char *workload,
			  const char *id)
{
	if (stream_file) {
		const char *dot = strrchr(stream_file, '.');
		size_t n = dot && dot != stream_file
				   ? (size_t)(dot - stream_file)
				   : strlen(stream_file);

		return xasprintf("%.*s" SECCOMP_SUFFIX, (int)n, stream_file);
	}
	return xasprintf("%s.%.12s" SECCOMP_SUFFIX, workload, id ? id : "");
}

struct wl_seccomp *seccomp_record_from_meta(const char *meta_json, int dirfd,
					    const char *stream_file,
					    const char *workload,
					    const char *container_id,
					    bool resumed)
{
	cleanup_yajl_val yajl_val meta = NULL;
	cleanup_error struct sf_error *err = NULL;
	struct wl_seccomp *s;
	const char *mode;

	if (!meta_json)
		return NULL;
	meta = json_parse(meta_json, "meta", NULL);
	mode = meta_annotation(meta, ANN_SECCOMP);
	if (!mode)
		return NULL;
	s = xzalloc(sizeof(*s));
	s->dirfd = dirfd;
	s->partial = resumed;
	s->name = profile_name(stream_file, workload, container_id);
	if (seccomp_profile_parse_mode(mode, &s->base, &err) < 0) {
		s->error = xstrdup(err->msg);
		log_warn(
			"container `%s`: %s: no seccomp profile is recorded (the stream goes on)",
			container_id, err->msg);
	}
	return s;
}

int seccomp_record_from_options(const struct sf_options *o,
				struct wl_seccomp **out, struct sf_error **err)
{
	const char *path = o->seccomp_profile;
	cleanup_free char *dir = NULL;
	struct wl_seccomp *s;
	struct stat st;
	char *slash;

	*out = NULL;
	if (!path)
		return 0;
	if (!path[0] || path[strlen(path) - 1] == '/')
		return sf_usage(
			err,
			"--seccomp-profile `%s` names a directory: give a file name",
			path);
	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	if (stat(slash ? (dir[0] ? dir : "/") : ".", &st) < 0 ||
	    !S_ISDIR(st.st_mode))
		return sf_fail(
			err, errno,
			"--seccomp-profile `%s`: its directory does not exist (create it first)",
			path);
	s = xzalloc(sizeof(*s));
	s->dirfd = -1;
	s->path = xstrdup(path);
	*out = s;
	return 0;
}

void seccomp_record_begin(struct probe *p, struct wl_seccomp *s, uint32_t slot,
			  const char *workload)
{
	cleanup_error struct sf_error *err = NULL;

	if (s->error)
		return;
	if (probe_seccomp_start(p, slot, &err) < 0) {
		s->error = xstrdup(err->msg);
		log_warn("workload `%s`: %s: no seccomp profile", workload,
			 err->msg);
		return;
	}
	s->recording = true;
}

static int write_profile(struct wl_seccomp *s, const char *buf, size_t len,
			 struct sf_error **err)
{
	if (s->path) {
		if (seccomp_profile_write_path(s->path, buf, len, err) < 0)
			return -1;
		s->written = xstrdup(s->path);
		return 0;
	}
	if (seccomp_profile_write_at(s->dirfd, s->name, buf, len, err) < 0)
		return -1;
	s->written = xstrdup(s->name);
	return 0;
}

static int build_and_write(struct wl_seccomp *s,
			   const struct sf_seccomp_bits *bits,
			   const char *seccomp_dir, struct sf_error **err)
{
	cleanup_free char *base = NULL, *out = NULL;
	struct seccomp_profile_result res;
	size_t len;

	if (s->base &&
	    seccomp_profile_read_base(seccomp_dir, s->base, &base, err) < 0)
		return -1;
	if (seccomp_profile_build(bits, base, &out, &len, &res, err) < 0 ||
	    write_profile(s, out, len, err) < 0)
		return -1;
	s->allowed = res.allowed;
	s->blocked = res.blocked;
	return 0;
}

void seccomp_record_end(struct probe *p, struct wl_seccomp *s, uint32_t slot,
			const char *seccomp_dir, const char *workload,
			struct stream_totals *t)
{
	cleanup_error struct sf_error *err = NULL;
	struct sf_seccomp_bits bits;

	if (s->recording) {
		probe_seccomp_stop(p, slot, &bits);
		s->recording = false;
		if (build_and_write(s, &bits, seccomp_dir, &err) < 0) {
			s->error = xstrdup(err->msg);
			log_error(
				"workload `%s`: seccomp profile not written: %s",
				workload, err->msg);
		} else {
			log_info(
				"workload `%s`: seccomp profile `%s`: %u syscalls allowed",
				workload, s->written, s->allowed);
		}
	}
	t->seccomp_profile = s->written;
	t->seccomp_syscalls = s->allowed;
	t->seccomp_blocked = s->blocked;
	t->seccomp_partial = s->partial;
	t->seccomp_error = s->error;
}
