// SPDX-License-Identifier: GPL-2.0
#include "access.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#define ACCESS_FILE_MAX	 (256u << 10)
#define ACCESS_RULES_MAX 4096

enum sel_key { SEL_WORKLOAD, SEL_CONTAINER, SEL_IMAGE, SEL_K8S_NS };
enum who_kind { WHO_ALL, WHO_UID, WHO_GID };

struct rule {
	bool deny;
	enum sel_key key;
	char *glob;
	enum who_kind who;
	unsigned long id;
};

struct access {
	struct rule *r;
	unsigned n;
};

static const char *const sel_names[] = {"workload", "container", "image",
					"k8s.namespace"};

void access_free(struct access *a)
{
	if (!a)
		return;
	for (unsigned i = 0; i < a->n; i++)
		free(a->r[i].glob);
	free(a->r);
	free(a);
}

unsigned access_rules(const struct access *a)
{
	return a ? a->n : 0;
}

static int parse_selector(struct rule *r, const char *s, const char *where,
			  struct sf_error **err)
{
	const char *eq = strchr(s, '=');

	r->key = SEL_WORKLOAD;
	if (eq) {
		size_t k = (size_t)(eq - s);
		unsigned i;

		for (i = 0; i < 4; i++)
			if (strlen(sel_names[i]) == k &&
			    !strncmp(s, sel_names[i], k))
				break;
		if (i == 4)
			return sf_usage(
				err,
				"%s: unknown selector `%.*s` (use a workload glob, or workload=, container=, image=, k8s.namespace=)",
				where, (int)k, s);
		r->key = (enum sel_key)i;
		s = eq + 1;
	}
	if (!*s)
		return sf_usage(err, "%s: empty selector", where);
	r->glob = xstrdup(s);
	return 0;
}

static int parse_who(struct rule *r, const char *s, const char *where,
		     struct sf_error **err)
{
	char *end;

	if (!strcmp(s, "all")) {
		r->who = WHO_ALL;
	} else if (!strncmp(s, "user=", 5)) {
		struct passwd *pw = getpwnam(s + 5);

		if (!pw)
			return sf_usage(err, "%s: no user `%s`", where, s + 5);
		r->who = WHO_UID;
		r->id = pw->pw_uid;
	} else if (!strncmp(s, "group=", 6)) {
		struct group *gr = getgrnam(s + 6);

		if (!gr)
			return sf_usage(err, "%s: no group `%s`", where, s + 6);
		r->who = WHO_GID;
		r->id = gr->gr_gid;
	} else if (!strncmp(s, "uid=", 4) || !strncmp(s, "gid=", 4)) {
		r->who = s[0] == 'u' ? WHO_UID : WHO_GID;
		errno = 0;
		r->id = strtoul(s + 4, &end, 10);
		if (errno || end == s + 4 || *end)
			return sf_usage(err, "%s: bad id in `%s`", where, s);
	} else {
		return sf_usage(
			err,
			"%s: who is `%s`? (use user=NAME, group=NAME, uid=N, gid=N or all)",
			where, s);
	}
	return 0;
}

static int parse_line(struct access *a, char *line, const char *path,
		      unsigned lineno, struct sf_error **err)
{
	char *save = NULL, *w[4];
	cleanup_free char *where = xasprintf("%s:%u", path, lineno);
	struct rule r = {0};
	int n = 0;

	for (char *t = strtok_r(line, " \t\r", &save); t;
	     t = strtok_r(NULL, " \t\r", &save)) {
		if (n == 3)
			return sf_usage(
				err,
				"%s: too many words (want: watch|deny SELECTOR WHO)",
				where);
		w[n++] = t;
	}
	if (n == 0)
		return 0;
	if (n != 3)
		return sf_usage(err,
				"%s: want three words: watch|deny SELECTOR WHO",
				where);
	if (!strcmp(w[0], "deny"))
		r.deny = true;
	else if (strcmp(w[0], "watch"))
		return sf_usage(err,
				"%s: unknown rule `%s` (use watch or deny)",
				where, w[0]);
	if (parse_selector(&r, w[1], where, err) < 0)
		return -1;
	if (parse_who(&r, w[2], where, err) < 0) {
		free(r.glob);
		return -1;
	}
	if (a->n >= ACCESS_RULES_MAX) {
		free(r.glob);
		return sf_usage(err, "%s: more than %u rules", where,
				ACCESS_RULES_MAX);
	}
	a->r = xrealloc(a->r, (a->n + 1) * sizeof(*a->r));
	a->r[a->n++] = r;
	return 0;
}

static int check_file(int fd, const char *path, struct sf_error **err)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return sf_fail(err, 0, "access file %s: not a regular file",
			       path);
	if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return sf_fail(
			err, 0,
			"access file %s: must be owned by root and not writable by group or others (fix: chown root %s && chmod go-w %s)",
			path, path, path);
	if ((size_t)st.st_size > ACCESS_FILE_MAX)
		return sf_fail(err, 0, "access file %s: over %u bytes", path,
			       ACCESS_FILE_MAX);
	return 0;
}

struct access *access_load(const char *path, struct sf_error **err)
{
	struct access *a = xzalloc(sizeof(*a));
	cleanup_close int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	cleanup_free char *buf = NULL;
	char *save = NULL, *line;
	unsigned lineno = 0;
	size_t len = 0;

	if (fd < 0 && errno == ENOENT)
		return a; /* no file: root only */
	if (fd < 0) {
		sf_fail(err, errno, "access file %s: %s", path,
			strerror(errno));
		goto fail;
	}
	if (check_file(fd, path, err) < 0)
		goto fail;
	buf = xmalloc(ACCESS_FILE_MAX + 1);
	for (ssize_t k; (k = read(fd, buf + len, ACCESS_FILE_MAX - len)) > 0;)
		len += (size_t)k;
	buf[len] = 0;
	/* strtok_r would join lines over empty ones: count them by hand */
	for (line = buf; line; line = save) {
		char *hash;

		save = strchr(line, '\n');
		if (save)
			*save++ = 0;
		lineno++;
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		if (parse_line(a, line, path, lineno, err) < 0)
			goto fail;
	}
	return a;
fail:
	access_free(a);
	return NULL;
}

static bool who_matches(const struct rule *r, const struct access_peer *p)
{
	if (r->who == WHO_ALL)
		return true;
	if (r->who == WHO_UID)
		return p->uid == r->id;
	if (p->gid == r->id)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == r->id)
			return true;
	return false;
}

static bool sel_matches(const struct rule *r, const struct access_stream *s)
{
	const char *v = r->key == SEL_WORKLOAD	  ? s->workload
			: r->key == SEL_CONTAINER ? s->container
			: r->key == SEL_IMAGE	  ? s->image
						  : s->k8s_namespace;

	return v && fnmatch(r->glob, v, 0) == 0;
}

bool access_allows(const struct access *a, const struct access_peer *p,
		   const struct access_stream *s)
{
	bool granted = p->uid == 0;

	for (unsigned i = 0; a && i < a->n; i++) {
		const struct rule *r = &a->r[i];

		if (!who_matches(r, p) || !sel_matches(r, s))
			continue;
		if (r->deny)
			return false;
		granted = true;
	}
	return granted;
}

int access_peer_of(int fd, struct access_peer *p, struct sf_error **err)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	socklen_t glen = sizeof(p->groups);

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return sf_fail(err, errno, "SO_PEERCRED");
	p->uid = cr.uid;
	p->gid = cr.gid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &glen) == 0)
		p->ngroups = (int)(glen / sizeof(gid_t));
	return 0;
}
